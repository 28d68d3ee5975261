import Foundation
import SNPCore

/// Fixed instants and places, so that every test reads in hours and kilometres from one origin.
enum Fixture {
    /// Monday 23 November 2026, 09:00 in Paris (ISO week 2026-48): the "now" of most tests.
    static let now = time("2026-11-23T08:00:00Z")

    /// The patient's approximate point: 48.05 N, 2.05 E (Essonne), the middle of a 0.1° grid cell.
    static let patient = GeoPoint(lat: 48.05, lon: 2.05)

    /// Kilometres per degree along a meridian, on the engine's Earth radius.
    static let kmPerDegree = GeoPoint.earthRadiusKm * Double.pi / 180

    /// Parses a time literal of the tests; a typo in a test is a programming error.
    static func time(_ text: String) -> Date {
        do { return try RFC3339.parse(text) } catch { fatalError("bad fixture time \(text): \(error)") }
    }

    static func hours(_ h: Double, after base: Date = now) -> Date {
        Date(epochSeconds: base.epochSeconds + Int64((h * 3600).rounded()))
    }

    static func minutes(_ m: Int, after base: Date = now) -> Date {
        Date(epochSeconds: base.epochSeconds + Int64(m * 60))
    }

    static func seconds(_ s: Int, after base: Date = now) -> Date {
        Date(epochSeconds: base.epochSeconds + Int64(s))
    }

    /// `km` due north: along a meridian the great-circle distance is exactly `km`.
    static func north(_ km: Double, of p: GeoPoint = patient) -> GeoPoint {
        GeoPoint(lat: p.lat + km / kmPerDegree, lon: p.lon)
    }

    /// `km` due east along the parallel (the great-circle distance is a hair shorter).
    static func east(_ km: Double, of p: GeoPoint = patient) -> GeoPoint {
        GeoPoint(lat: p.lat, lon: p.lon + km / (kmPerDegree * cos(p.lat * Double.pi / 180)))
    }

    /// The `n`-th test professional's RPPS: `1000` + six digits of `n` + the Luhn key.
    static func rpps(_ n: Int) -> RPPS {
        let prefix = String(format: "1000%06d", n)
        let check = RPPS.luhnCheckDigit(for: prefix.map { Int(String($0))! })
        return RPPS(trusted: prefix + String(check))
    }

    static func need(
        _ profession: Profession = .gp, prio: Int = 2, modes: ModeSet = .inPerson, at location: GeoPoint = patient,
        radiusKm: Double? = nil, deadline: Date = hours(48), declined: [SlotID] = []
    ) -> MatchNeed {
        MatchNeed(
            profession: profession, modes: modes, location: location, radiusKm: radiusKm, priority: prio,
            deadline: deadline, declined: declined)
    }

    static func spec(
        _ ref: String, _ profession: Profession = .gp, prio: Int = 2, modes: ModeSet = .inPerson,
        at location: GeoPoint = patient, within: Int = 48 * 3600, radiusKm: Double? = nil, hold: Int? = nil,
        slot: SlotID? = nil
    ) -> RequestSpec {
        RequestSpec(
            ref: ref, profession: profession, priority: prio, modes: modes, location: location, withinSeconds: within,
            radiusKm: radiusKm, holdSeconds: hold, slot: slot)
    }

    static let owner = "sas91-regulator"
}

extension MatchingEngine {
    /// Registers test professional `n` and returns their RPPS.
    @discardableResult
    mutating func addPro(
        _ n: Int, _ profession: Profession = .gp, at location: GeoPoint = Fixture.patient, homeRadiusKm: Double? = nil,
        weeklyCap: Int? = nil, now: Date = Fixture.now
    ) throws(SNPError) -> RPPS {
        let rpps = Fixture.rpps(n)
        _ = try putProfessional(
            ProfessionalDraft(
                rpps: rpps, profession: profession, name: "Dr Test \(n)", location: location,
                homeRadiusKm: homeRadiusKm, weeklyCap: weeklyCap),
            now: now)
        return rpps
    }

    /// Publishes a slot of `minutes` from `start`; returns it (use `addSlot` to see bookings).
    @discardableResult
    mutating func publish(
        _ pro: RPPS, at start: Date, minutes: Int = 30, mode: SlotMode = .office, capacity: Int = 1,
        ref: String? = nil, now: Date = Fixture.now
    ) throws(SNPError) -> Slot {
        try addSlot(draft(pro, at: start, minutes: minutes, mode: mode, capacity: capacity, ref: ref), now: now).slot
    }

    func draft(
        _ pro: RPPS, at start: Date, minutes: Int = 30, mode: SlotMode = .office, capacity: Int = 1, ref: String? = nil
    ) -> SlotDraft {
        SlotDraft(
            pro: pro, start: start, end: Date(epochSeconds: start.epochSeconds + Int64(minutes * 60)), mode: mode,
            capacity: capacity, ref: ref)
    }

    /// Submits a request as `REQ ADD` would.
    @discardableResult
    mutating func submit(
        _ ref: String, _ profession: Profession = .gp, prio: Int = 2, modes: ModeSet = .inPerson,
        at location: GeoPoint = Fixture.patient, within: Int = 48 * 3600, radiusKm: Double? = nil, hold: Int? = nil,
        slot: SlotID? = nil, now: Date = Fixture.now
    ) throws(SNPError) -> RequestOutcome {
        try addRequest(
            Fixture.spec(
                ref, profession, prio: prio, modes: modes, at: location, within: within, radiusKm: radiusKm, hold: hold,
                slot: slot),
            owner: Fixture.owner, now: now)
    }

    /// The request `Fixture.owner` created with this ref.
    func request(ref: String) -> CareRequest? { request(ref: ref, owner: Fixture.owner) }

    /// The request as the engine holds it now.
    func current(_ outcome: RequestOutcome) -> CareRequest { request(outcome.request.id)! }

    /// The current queue rank of a request.
    func rank(_ outcome: RequestOutcome) -> Int? { rank(of: current(outcome)) }
}

extension Result where Success == Candidate, Failure == Ineligibility {
    var ineligibility: Ineligibility? {
        if case .failure(let why) = self { why } else { nil }
    }

    var candidate: Candidate? {
        if case .success(let c) = self { c } else { nil }
    }
}

/// Within floating-point noise.
func isClose(_ a: Double?, _ b: Double, tolerance: Double = 1e-9) -> Bool {
    guard let a else { return false }
    return abs(a - b) <= tolerance
}
