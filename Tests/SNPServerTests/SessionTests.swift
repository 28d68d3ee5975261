import Foundation
import SNPCore
import SNPProtocol
import SNPServer
import SNPTesting
import Testing

@Suite("Session commands over a real socket")
struct SessionTests {
    @Test func helloPingHelpAndQuitNeedNoAuth() async throws {
        try await withDaemon { d in
            let c = try await LineClient.connect(port: d.port)
            let hello = try await c.send("HELLO")
            #expect(hello["server"] == "snpd")
            #expect(hello["proto"] == "1")
            #expect(hello["version"] == Daemon.version)
            #expect(try await c.send("ping").lines == ["OK pong"])
            let help = try await c.send("HELP")
            #expect(help.items.count == CommandTable.all.count)
            #expect(help.items.contains { $0["name"] == "SLOT ADD" && $0["usage"]?.contains("start=") == true })
            #expect(try await c.send("QUIT").lines == ["OK bye"])
            #expect(try await c.readLine() == nil, "the server closes after QUIT")
        }
    }

    @Test func commandsBeforeAuthAreRefused() async throws {
        try await withDaemon { d in
            let c = try await LineClient.connect(port: d.port)
            for line in ["STATS", "PRO LIST", "SLOT FIND prof=gp lat=47 lon=-2", "REQ GET r1", "WATCH"] {
                #expect(try await c.send(line).code == "NO_AUTH", "\(line)")
            }
            let bad = try await c.send("AUTH not-a-real-token")
            #expect(bad.code == "NO_AUTH")
            #expect(try await c.send("STATS").code == "NO_AUTH")
            let ok = try await c.send("AUTH \(TestDaemon.adminSecret)")
            #expect(ok["role"] == "admin")
            #expect(ok["name"] == "admin")
            #expect(try await c.send("STATS").isOK)
        }
    }

    @Test func revokedTokenFailsForNewSessionsAtOnce() async throws {
        try await withDaemon { d in
            let secret = try await d.daemon.store.addToken(.init(name: "osnp-1", role: .regulator))
            let first = try await LineClient.connect(port: d.port)
            #expect(try await first.send("AUTH \(secret)")["name"] == "osnp-1")
            #expect(try await d.daemon.store.revokeToken(name: "osnp-1"))
            let second = try await LineClient.connect(port: d.port)
            #expect(try await second.send("AUTH \(secret)").code == "NO_AUTH")
        }
    }

    @Test func tooManyFailedAuthsCloseTheConnection() async throws {
        try await withDaemon { d in
            let c = try await LineClient.connect(port: d.port)
            for _ in 0..<5 { #expect(try await c.send("AUTH wrong-token").code == "NO_AUTH") }
            #expect(try await c.readLine() == nil)
        }
    }

    @Test func statsCountsOpenSlotsQueueAndConnections() async throws {
        try await withDaemon { d in
            let c = try await d.admin()
            try await c.putPro(rpps(1))
            try await c.expectOK(d.slotLine(pro: rpps(1), hours: 3))
            try await c.expectOK(d.slotLine(pro: rpps(1), hours: 5))
            try await c.expectOK("REQ ADD ref=K1 prof=kine lat=47.6 lon=-2.7")
            let s = try await c.send("STATS")
            #expect(s["open_slots"] == "2")
            #expect(s["queued"] == "1")
            #expect(s["held"] == "0")
            #expect(s["connections"] == "1")
            #expect(s["uptime_s"] != nil)
        }
    }
}
