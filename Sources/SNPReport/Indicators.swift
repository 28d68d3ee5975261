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
    /// Its (last) appointment is on extra capacity (surnuméraire, §3.7).
    public var extra: Bool

    public init(
        territory: String, profession: String, state: RequestState, createdAt: Date, bookedAt: Date? = nil,
        slotStart: Date? = nil, slotMode: SlotMode? = nil, distanceKm: Double? = nil, extra: Bool = false
    ) {
        self.territory = territory
        self.profession = profession
        self.state = state
        self.createdAt = createdAt
        self.bookedAt = bookedAt
        self.slotStart = slotStart
        self.slotMode = slotMode
        self.distanceKm = distanceKm
        self.extra = extra
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
    /// Bookings on extra capacity, counted in `booked` too.
    public var booked_extra = 0

    public init() {}

    /// Reads a stored run; a figure missing from an older run (`booked_extra` before
    /// sql/013) is 0, so that the 30-day history still reads it.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func v<T: Decodable>(_ key: CodingKeys, _ absent: T) throws -> T { try c.decodeIfPresent(T.self, forKey: key) ?? absent }
        requests = try v(.requests, 0)
        cancelled_by_regulator = try v(.cancelled_by_regulator, 0)
        booked = try v(.booked, 0)
        match_rate = try v(.match_rate, 0.0)
        within_48h = try v(.within_48h, 0)
        rate_48h = try v(.rate_48h, 0.0)
        expired = try v(.expired, 0)
        delay_h_median = try v(.delay_h_median, 0.0)
        delay_h_p90 = try v(.delay_h_p90, 0.0)
        time_to_match_s_median = try v(.time_to_match_s_median, 0.0)
        distance_km_median = try v(.distance_km_median, 0.0)
        slots_published = try v(.slots_published, 0)
        slot_hours = try v(.slot_hours, 0.0)
        slot_utilisation = try v(.slot_utilisation, 0.0)
        active_pros = try v(.active_pros, 0)
        honored = try v(.honored, 0)
        noshow = try v(.noshow, 0)
        noshow_rate = try v(.noshow_rate, 0.0)
        booked_extra = try v(.booked_extra, 0)
    }

    /// The order of columns in CSV and tables.
    public static let names = [
        "requests", "cancelled_by_regulator", "booked", "match_rate", "within_48h", "rate_48h", "expired",
        "delay_h_median", "delay_h_p90", "time_to_match_s_median", "distance_km_median", "slots_published",
        "slot_hours", "slot_utilisation", "active_pros", "honored", "noshow", "noshow_rate", "booked_extra",
    ]

    /// Values in `names` order; integers stay integers.
    public var values: [Double] {
        [
            Double(requests), Double(cancelled_by_regulator), Double(booked), match_rate, Double(within_48h), rate_48h,
            Double(expired), delay_h_median, delay_h_p90, time_to_match_s_median, distance_km_median,
            Double(slots_published), slot_hours, slot_utilisation, Double(active_pros), Double(honored), Double(noshow),
            noshow_rate, Double(booked_extra),
        ]
    }

    public static let integerNames: Set<String> = [
        "requests", "cancelled_by_regulator", "booked", "within_48h", "expired", "slots_published", "active_pros",
        "honored", "noshow", "booked_extra",
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
        i.booked_extra = booked.filter(\.extra).count
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
