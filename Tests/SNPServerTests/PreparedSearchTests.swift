import Foundation
import SNPCore
import SNPServer
import SNPStore
import SNPTesting
import Testing

/// `REQ ADD` searches in its connection's task, under the engine's read lock, and the actor
/// applies the choice (issue 18 target 3, docs/ARCHITECTURE.md). The interleavings (a place
/// taken between the search and the apply) are tested on the engine, where they can be
/// injected one by one (`PreparedMatchTests`); here, that the daemon takes that path, counts
/// it, and answers as it does without it (`SNPD_PREPARE_SEARCHES=0`).
@Suite("REQ ADD searched outside the actor")
struct PreparedSearchTests {
    /// `live`: the default strategy as a daemon just started has it, its live bid price
    /// counting; then no search is made outside the actor (every change would undo it).
    @Test(arguments: [(prepare: true, live: false), (false, false), (true, true)])
    func aRequestSearchedBeforeTheActorIsBookedTheSame(setup: (prepare: Bool, live: Bool)) async throws {
        let prepare = setup.prepare
        let db = try await TestPostgres.freshDatabase()
        let d = try await TestDaemon.start(database: db) {
            $0.http.listen = ("127.0.0.1", 0)
            $0.prepareSearches = prepare
            if !setup.live { $0.policy.scarcity.liveBidPriceWeight = 0 }
        }
        let port = try await d.waitForHTTPPort()
        let c = try await d.admin()
        let reg = try await d.client(role: .regulator, name: "samu56")
        try await c.putPro(rpps(1))
        try await c.putPro(rpps(2), at: Place.ploeren)
        _ = try await c.expectOK(d.slotLine(pro: rpps(2), hours: 3))
        let near = try await c.expectOK(d.slotLine(pro: rpps(1), hours: 3))["slot"]!
        let line = "REQ ADD prof=gp lat=\(Place.vannes.lat) lon=\(Place.vannes.lon) prio=1"
        let first = try await reg.send(line + " ref=SAS-1")
        #expect(first["state"] == "booked")
        #expect(first["slot"] == near)
        #expect(abs(Double(first["cost"]!)! - 6.0) < 0.01)
        // The only place near is taken: the next one goes to Ploeren.
        let second = try await reg.send(line + " ref=SAS-2")
        #expect(second["state"] == "booked")
        #expect(second["pro"] == rpps(2))
        // Nothing left: queued, searched outside too.
        #expect(try await reg.send(line + " ref=SAS-3")["state"] == "queued")
        // A known ref makes no search.
        #expect(try await reg.send(line + " ref=SAS-1")["req"] == first["req"])
        let metrics = try await RawHTTPClient.get(port: port, "/metrics").body
        if prepare && !setup.live {
            // The test clock stands still and nothing else changes between a search and its apply.
            #expect(metrics.contains(#"snpd_prepared_searches_total{outcome="applied"} 3"#), "\(metrics.prefix(3000))")
            #expect(!metrics.contains(#"outcome="searched_again""#))
        } else {
            #expect(!metrics.contains("snpd_prepared_searches_total"))
        }
        await d.stop()
    }

    @Test func theSettingsTurnItOffAndTakeTheLivePriceWeight() throws {
        let s = try DaemonSettings.resolve(
            overrides: ["SNPD_STRATEGY": "scarcity:live=0", "SNPD_PREPARE_SEARCHES": "0"], environment: [:],
            configFile: nil)
        #expect(s.policy.strategy == .scarcity)
        #expect(s.policy.scarcity.liveBidPriceWeight == 0)
        #expect(!s.prepareSearches)
        let plain = try DaemonSettings.resolve(overrides: ["SNPD_STRATEGY": "spec42"], environment: [:], configFile: nil)
        #expect(plain.policy.strategy == .spec42)
        #expect(plain.prepareSearches)
        for bad in ["spec42:live=0", "scarcity:live=-1", "scarcity:live=x", "scarcity:warmth=2", "fast"] {
            #expect(throws: SettingsError.self, "\(bad)") {
                try DaemonSettings.resolve(overrides: ["SNPD_STRATEGY": bad], environment: [:], configFile: nil)
            }
        }
    }
}
