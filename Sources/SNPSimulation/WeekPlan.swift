import Foundation
import SNPCore

/// Everything that will happen in a simulated week, decided in advance from the seed:
/// who volunteers, which slots they publish and withdraw and when, which requests arrive,
/// which proposals regulators decline, which requests they cancel, who does not come.
///
/// The plan knows nothing of matching: the same plan is replayed against each strategy of
/// the engine, and handed whole to the offline oracle.
public struct WeekPlan: Sendable {
    public struct Pro: Sendable {
        public var rpps: RPPS
        public var profession: Profession
        public var town: String
        public var location: GeoPoint
        public var homeRadiusKm: Double?
        public var weeklyCap: Int?
    }

    public struct PlannedSlot: Sendable {
        public var pro: Int
        public var start: Int64
        public var end: Int64
        public var mode: SlotMode
        public var capacity: Int
        public var publishedAt: Int64
        /// When the professional withdraws it, if they do.
        public var withdrawnAt: Int64?
        /// A regular slot, or a window of extra capacity (`ExtraCapacity`).
        public var kind: SlotKind = .regular
    }

    public struct PlannedRequest: Sendable {
        public var createdAt: Int64
        public var profession: Profession
        public var priority: Int
        public var modes: ModeSet
        public var location: GeoPoint
        public var withinSeconds: Int
        public var radiusKm: Double?
        /// When the regulator cancels it (the patient found care elsewhere), if they do.
        public var cancelAt: Int64?
        public var noShow: Bool
    }

    public var scenario: Scenario
    public var arrival: ArrivalKind
    public var seed: UInt64
    /// Monday 00:00, Europe/Paris, of the simulated ISO week.
    public var weekStart: Int64
    /// When the simulation starts: slots for Monday are published from then on.
    public var simulationStart: Int64
    /// When it ends: every slot has started and every request has met its deadline.
    public var simulationEnd: Int64
    public var pros: [Pro]
    /// By publication time.
    public var slots: [PlannedSlot]
    /// By creation time, from the Friday before the week to its Sunday.
    public var requests: [PlannedRequest]
    /// The share of (request, slot) pairs a regulator declines when proposed.
    public var declineRate: Double

    /// Whether the regulator of request `r` declines slot `s` when it is proposed (the time
    /// does not suit the patient, or the patient will not see that professional). A property
    /// of the pair, not of when it is proposed, so that every strategy meets the same refusals
    /// and the oracle can leave those pairs out.
    public func declines(request r: Int, slot s: Int) -> Bool {
        SeededRandom.unit(hashing: seed, 0xDEC1_1E, UInt64(r), UInt64(s)) < declineRate
    }

    /// The ISO week of the simulated week (`year * 100 + week`).
    public var isoWeek: Int { ParisTime.isoWeek(at: weekStart) }
}
