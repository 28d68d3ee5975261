import Foundation

/// How a week ended for each request, whoever decided it (the online engine or the oracle).
public enum Fate: Sendable, Equatable {
    /// Has an appointment on this planned slot at the end of the week.
    case appointment(slot: Int)
    /// Cancelled by its regulator while it held this slot: it counts as booked (§5), and the
    /// place went back to others.
    case cancelledHolding(slot: Int)
    /// Cancelled by its regulator before it got anything: out of the §5 denominators.
    case cancelledWaiting
    /// Expired, or lost its appointment and found none again.
    case unserved

    public var slot: Int? {
        switch self {
        case .appointment(let s), .cancelledHolding(let s): s
        case .cancelledWaiting, .unserved: nil
        }
    }
}

/// The end of a simulated week for every planned request, in plan order.
public struct Allocation: Sendable {
    public var fates: [Fate]
    /// When each request got the slot of its fate (the engine only: the oracle has no clock).
    public var matchedAt: [Int64?]
    /// Literal §5 facts from the engine's records: the first booking time and the start of
    /// the last slot held (a booking lost to a withdrawn slot still counts there).
    public var firstBookedAt: [Int64?]
    public var lastStart: [Int64?]

    public init(fates: [Fate], matchedAt: [Int64?]? = nil, firstBookedAt: [Int64?]? = nil, lastStart: [Int64?]? = nil) {
        self.fates = fates
        self.matchedAt = matchedAt ?? Array(repeating: nil, count: fates.count)
        self.firstBookedAt = firstBookedAt ?? Array(repeating: nil, count: fates.count)
        self.lastStart = lastStart ?? Array(repeating: nil, count: fates.count)
    }
}

extension Allocation {
    /// The allocation as JSON, for reading next to the oracle's result: per request, the
    /// slot (-1 for none), whether it was cancelled, and when it was matched (-1: never).
    public func write(to url: URL, optionsAtArrival: [Int] = []) throws {
        struct Document: Encodable {
            var slot: [Int]
            var cancelled: [Bool]
            var matched_at: [Int64]
            var options_at_arrival: [Int]
        }
        let doc = Document(
            slot: fates.map { $0.slot ?? -1 },
            cancelled: fates.map {
                switch $0 {
                case .cancelledHolding, .cancelledWaiting: true
                default: false
                }
            },
            matched_at: matchedAt.map { $0 ?? -1 }, options_at_arrival: optionsAtArrival)
        try JSONEncoder().encode(doc).write(to: url)
    }
}
