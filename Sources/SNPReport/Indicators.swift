import Foundation
import SNPCore

/// One request as the report sees it (§5): no location, no reference, nothing personal.
public struct RequestFact: Sendable, Equatable {
    public var territory: String
    public var profession: String
    public var state: RequestState
    public var createdAt: Date
    /// First time it reached `booked`.
    public var bookedAt: Date?
    /// Start of its (last) appointment.
    public var slotStart: Date?
    public var slotMode: SlotMode?
    public var distanceKm: Double?

    public init(
        territory: String, profession: String, state: RequestState, createdAt: Date, bookedAt: Date? = nil,
        slotStart: Date? = nil, slotMode: SlotMode? = nil, distanceKm: Double? = nil
    ) {
        self.territory = territory
        self.profession = profession
        self.state = state
        self.createdAt = createdAt
        self.bookedAt = bookedAt
        self.slotStart = slotStart
        self.slotMode = slotMode
        self.distanceKm = distanceKm
    }
}

/// One published slot as the report sees it.
public struct SlotFact: Sendable, Equatable {
    public var territory: String
    public var profession: String
    public var pro: String
    public var start: Date
    public var end: Date
    public var capacity: Int
    /// Places booked (booked, honoured, no-show).
    public var booked: Int

    public init(territory: String, profession: String, pro: String, start: Date, end: Date, capacity: Int, booked: Int) {
        self.territory = territory
        self.profession = profession
        self.pro = pro
        self.start = start
        self.end = end
        self.capacity = capacity
        self.booked = booked
    }
}

/// The ACI indicators of §5 for one scope. Field names are the JSON and CSV names.
public struct Indicators: Codable, Sendable, Equatable {
    public var requests = 0
    public var cancelled_by_regulator = 0
    public var booked = 0
    public var match_rate = 0.0
    public var within_48h = 0
    /// The headline ACI figure.
    public var rate_48h = 0.0
    public var expired = 0
    public var delay_h_median = 0.0
    public var delay_h_p90 = 0.0
    public var time_to_match_s_median = 0.0
    public var distance_km_median = 0.0
    public var slots_published = 0
    public var slot_hours = 0.0
    public var slot_utilisation = 0.0
    public var active_pros = 0
    public var honored = 0
    public var noshow = 0
    public var noshow_rate = 0.0

    public init() {}

    /// The order of columns in CSV and tables.
    public static let names = [
        "requests", "cancelled_by_regulator", "booked", "match_rate", "within_48h", "rate_48h", "expired",
        "delay_h_median", "delay_h_p90", "time_to_match_s_median", "distance_km_median", "slots_published",
        "slot_hours", "slot_utilisation", "active_pros", "honored", "noshow", "noshow_rate",
    ]

    /// Values in `names` order; integers stay integers.
    public var values: [Double] {
        [
            Double(requests), Double(cancelled_by_regulator), Double(booked), match_rate, Double(within_48h), rate_48h,
            Double(expired), delay_h_median, delay_h_p90, time_to_match_s_median, distance_km_median,
            Double(slots_published), slot_hours, slot_utilisation, Double(active_pros), Double(honored), Double(noshow),
            noshow_rate,
        ]
    }

    public static let integerNames: Set<String> = [
        "requests", "cancelled_by_regulator", "booked", "within_48h", "expired", "slots_published", "active_pros",
        "honored", "noshow",
    ]

    /// Computes every indicator from the requests created and the slots starting in the period.
    ///
    /// Rates whose denominator is zero are 0; medians of nothing are 0. Medians average the
    /// two middle values of an even count; the 90th percentile is the nearest rank.
    public static func compute(requests: [RequestFact], slots: [SlotFact]) -> Indicators {
        var i = Indicators()
        i.requests = requests.count
        i.cancelled_by_regulator = requests.filter { $0.state == .cancelled && $0.bookedAt == nil }.count
        let booked = requests.filter { $0.bookedAt != nil }
        i.booked = booked.count
        let denominator = Double(i.requests - i.cancelled_by_regulator)
        let delays = booked.compactMap { r in r.slotStart.map { $0.timeIntervalSince(r.createdAt) / 3600 } }
        i.within_48h = delays.filter { $0 <= 48 }.count
        i.match_rate = denominator > 0 ? Double(i.booked) / denominator : 0
        i.rate_48h = denominator > 0 ? Double(i.within_48h) / denominator : 0
        i.expired = requests.filter { $0.state == .expired }.count
        i.delay_h_median = median(delays)
        i.delay_h_p90 = percentile(delays, 0.9)
        i.time_to_match_s_median = median(booked.map { $0.bookedAt!.timeIntervalSince($0.createdAt) })
        i.distance_km_median = median(
            booked.filter { $0.slotMode == .office || $0.slotMode == .home }.compactMap(\.distanceKm))
        i.slots_published = slots.count
        i.slot_hours = slots.reduce(0) { $0 + $1.end.timeIntervalSince($1.start) / 3600 }
        let capacity = slots.reduce(0) { $0 + $1.capacity }
        i.slot_utilisation = capacity > 0 ? Double(slots.reduce(0) { $0 + $1.booked }) / Double(capacity) : 0
        i.active_pros = Set(slots.map(\.pro)).count
        i.honored = requests.filter { $0.state == .honored }.count
        i.noshow = requests.filter { $0.state == .noshow }.count
        i.noshow_rate = i.honored + i.noshow > 0 ? Double(i.noshow) / Double(i.honored + i.noshow) : 0
        return i
    }

    static func median(_ xs: [Double]) -> Double { Statistics.median(xs) }

    static func percentile(_ xs: [Double], _ p: Double) -> Double { Statistics.percentile(xs, p) }
}
