import Foundation
import SNPCore
import Testing

@testable import SNPFHIR

/// The feed's messages from the engine's changes (SPEC §8), without I/O.
@Suite struct AppointmentFeedTests {
    let feed = AppointmentFeed(system: "urn:oid:1.2.250.1.999.7.1")
    let op = try! OperatorIdentity(validating: "IDNPS:8\(F.rpps(90).value)")

    func request(_ state: RequestState, slot: Int64 = 4, pro: Int = 1, at: String = "2026-03-29T01:30:00+01:00") -> CareRequest {
        let created = F.date("2026-03-28T20:00:00+01:00")
        var r = CareRequest(
            id: .request(12), spec: RequestSpec(ref: "X", profession: .gp, location: GeoPoint(lat: 47.6, lon: -2.7)),
            owner: "samu56", createdAt: created, deadline: created.addingTimeInterval(48 * 3600))
        r.state = state
        if state.occupiesSlot {
            let start = F.date(at)
            r.assignment = Assignment(
                slot: .slot(slot), pro: F.rpps(pro), start: start, end: start.addingTimeInterval(1200), mode: .office,
                distanceKm: 1, cost: 1, at: created.addingTimeInterval(60))
        }
        if state != .held && state != .queued && state != .pending { r.bookedAt = created.addingTimeInterval(60) }
        return r
    }

    func messages(_ changes: [Change], op: OperatorIdentity?) -> ([FeedMessage], Int) {
        feed.messages(for: changes) { _ in op }
    }

    @Test func aBookingIsAPostItsLaterChangesArePuts() throws {
        let queued = request(.queued)
        let held = request(.held)
        let booked = request(.booked)
        var honored = booked
        honored.state = .honored
        var cancelled = booked
        cancelled.leaveSlot()
        cancelled.state = .cancelled
        let (m, skipped) = messages(
            [
                .request(old: nil, new: queued), .request(old: queued, new: held), .request(old: held, new: booked),
                .request(old: booked, new: honored),
            ], op: op)
        #expect(skipped == 0)
        #expect(m.map(\.method) == [.post, .put])
        #expect(m.map(\.appointment) == ["r12-s4", "r12-s4"])
        #expect(try status(m[0]) == "booked" && status(m[1]) == "fulfilled")
        let (c, _) = messages([.request(old: booked, new: cancelled)], op: op)
        #expect(c.map(\.method) == [.put])
        #expect(try status(c[0]) == "cancelled")
    }

    /// A pending request (decide=) is no appointment; its batch decision to `booked` is a POST.
    @Test func aPendingRequestDecidedByABatchIsAPost() throws {
        let pending = request(.pending)
        let booked = request(.booked)
        let (none, _) = messages([.request(old: nil, new: pending)], op: op)
        #expect(none.isEmpty)
        let (m, skipped) = messages([.request(old: pending, new: booked)], op: op)
        #expect(skipped == 0)
        #expect(m.map(\.method) == [.post])
        #expect(try status(m[0]) == "booked")
    }

    @Test func aMoveCancelsTheOldAppointmentAndBooksANewOne() throws {
        let old = request(.booked, slot: 4)
        let moved = request(.booked, slot: 9, pro: 2)
        let (m, _) = messages([.request(old: old, new: moved)], op: op)
        #expect(m.map(\.method) == [.put, .post])
        #expect(m.map(\.appointment) == ["r12-s4", "r12-s9"])
        #expect(try status(m[0]) == "cancelled" && status(m[1]) == "booked")
        // Moved to a hold: only the cancellation until it is confirmed.
        let (h, _) = messages([.request(old: old, new: request(.held, slot: 9))], op: op)
        #expect(h.map(\.method) == [.put])
    }

    @Test func withoutAnOperatorNothingIsSentAndTheBookingIsCounted() {
        let (m, skipped) = messages([.request(old: request(.queued), new: request(.booked))], op: nil)
        #expect(m.isEmpty && skipped == 1)
        let (n, later) = messages([.request(old: request(.booked), new: request(.noshow))], op: nil)
        #expect(n.isEmpty && later == 0, "a later change is not another skipped booking")
    }

    @Test func theResourceFollowsFrAppointmentSAS() throws {
        let a = feed.appointment(request(.booked, at: "2026-03-29T01:50:00+01:00"), status: "booked", operator: op)
        #expect(a.meta?.profile == ["http://sas.fr/fhir/StructureDefinition/FrAppointmentSAS"])
        #expect(a.identifier == [FHIRIdentifier(system: "urn:oid:1.2.250.1.999.7.1", value: "r12-s4")])
        #expect(a.start == "2026-03-29T01:50:00.000+01:00")
        #expect(a.end == "2026-03-29T03:10:00.000+02:00", "20 minutes later, across the spring change")
        #expect(a.created == "2026-03-28T20:01:00.000+01:00")
        let actor = try #require(a.participant.first?.actor.identifier)
        #expect(actor.value == "8" + F.rpps(1).value && actor.system == "urn:oid:1.2.250.1.71.4.2.1")
        #expect(actor.type?.coding?.first?.code == "IDNPS")
        #expect(a.participant.first?.status == "accepted")
        let ext = try #require(a.extension?.first)
        #expect(ext.url == "http://interopsante.org/fhir/StructureDefinition/FrAppointmentOperator")
        #expect(ext.valueReference?.identifier?.value == "8" + F.rpps(90).value)
        let intrn = feed.appointment(
            request(.booked), status: "booked",
            operator: try OperatorIdentity(validating: "INTRN:3F2504E0-4F89-11D3-9A0C-0305E82C3301"))
        #expect(intrn.extension?.first?.valueReference?.identifier?.system == "urn:oid:1.2.250.1.213.3.6")
        #expect(intrn.extension?.first?.valueReference?.identifier?.value == "3f2504e0-4f89-11d3-9a0c-0305e82c3301")
    }

    @Test func theHandWrittenJSONIsJSONEncodersBytes() throws {
        for (state, op) in [
            (RequestState.booked, op), (.honored, try OperatorIdentity(validating: "INTRN:3F2504E0-4F89-11D3-9A0C-0305E82C3301")),
        ] {
            var a = feed.appointment(request(state), status: AppointmentFeed.status(state), operator: op)
            #expect(AppointmentFeed.json(a) == String(decoding: FHIRJSON.encode(a), as: UTF8.self))
            a.identifier[0].system = "urn:x:\"quoted\"\\ and\ttab/é"
            a.created = nil
            #expect(AppointmentFeed.json(a) == String(decoding: FHIRJSON.encode(a), as: UTF8.self))
        }
        // What it saves on the service's actor, per booking (printed, not asserted).
        let a = feed.appointment(request(.booked), status: "booked", operator: op)
        let n = 2_000
        let clock = ContinuousClock()
        let encoder = clock.measure { for _ in 0..<n { _ = FHIRJSON.encode(a) } }
        let byHand = clock.measure { for _ in 0..<n { _ = AppointmentFeed.json(a) } }
        print("appointment JSON: JSONEncoder \(encoder / n), by hand \(byHand / n) per message")
    }

    @Test func operatorIdentitiesAreValidated() {
        #expect(throws: SNPError.self) { try OperatorIdentity(validating: "IDNPS:\(F.rpps(1).value)") }  // no 8
        #expect(throws: SNPError.self) { try OperatorIdentity(validating: "IDNPS:8\(F.badLuhn(1))") }
        #expect(throws: SNPError.self) { try OperatorIdentity(validating: "INTRN:not-a-uuid") }
        #expect(throws: SNPError.self) { try OperatorIdentity(validating: "RPPS:8\(F.rpps(1).value)") }
        #expect(throws: SNPError.self) { try OperatorIdentity(validating: "8\(F.rpps(1).value)") }
        #expect((try? OperatorIdentity(validating: "IDNPS:8\(F.rpps(1).value)"))?.description == "IDNPS:8\(F.rpps(1).value)")
    }

    func status(_ m: FeedMessage) throws -> String? {
        let json = try JSONSerialization.jsonObject(with: Data(m.body.utf8)) as? [String: Any]
        return json?["status"] as? String
    }
}
