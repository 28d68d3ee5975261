import Foundation
import NIOCore
@testable import SNPServer
import SNPTesting
import Testing

@Suite("Line transport: limits, framing and hostile bytes")
struct TransportTests {
    @Test func tooLongLineIsRefusedAndTheConnectionStaysUsable() async throws {
        try await withDaemon { d in
            let c = try await d.admin()
            try await c.write("PING " + String(repeating: "x", count: 9_000) + "\n")
            #expect(try await c.readReply().code == "TOO_LONG")
            #expect(try await c.send("PING").lines == ["OK pong"])
            // Longer than any buffer, sent in pieces.
            for _ in 0..<8 { try await c.write(String(repeating: "y", count: 10_000)) }
            try await c.write("\nPING\n")
            #expect(try await c.readReply().code == "TOO_LONG")
            #expect(try await c.readReply().lines == ["OK pong"])
        }
    }

    @Test func invalidUTF8AndNULBytesAreBadRequests() async throws {
        try await withDaemon { d in
            let c = try await d.admin()
            try await c.writeBytes(Array("PRO GET ".utf8) + [0xC3, 0x28] + [0x0A])
            #expect(try await c.readReply().code == "BAD_REQUEST")
            try await c.writeBytes(Array("PING".utf8) + [0x00] + Array(" x\n".utf8))
            #expect(try await c.readReply().code == "BAD_REQUEST")
            #expect(try await c.send("PING").isOK)
        }
    }

    @Test func emptyLinesAreIgnoredAndCRLFWorks() async throws {
        try await withDaemon { d in
            let c = try await LineClient.connect(port: d.port)
            try await c.write("\n\r\n   \nPING\r\n")
            #expect(try await c.readReply().lines == ["OK pong"])
        }
    }

    @Test func aClientThatShutsDownItsSideStillGetsEveryReply() async throws {
        try await withDaemon { d in
            let c = try await LineClient.connect(port: d.port)
            try await c.write("AUTH \(TestDaemon.adminSecret)\nPING\nPRO PUT id=\(rpps(7)) prof=gp name=X lat=47.6 lon=-2.7\nPING")
            try await c.channel.close(mode: .output)  // like `nc -N` or shutdown(SHUT_WR)
            #expect(try await c.readReply().isOK)
            #expect(try await c.readReply().lines == ["OK pong"])
            #expect(try await c.readReply().isOK, "the change was made and answered")
            #expect(try await c.readReply().lines == ["OK pong"], "the last line, without its newline, too")
            #expect(try await c.readLine() == nil, "then the server closes")
            #expect(try await d.admin().send("PRO GET \(rpps(7))").isOK)
        }
    }

    @Test func pipelinedCommandsAreAnsweredInOrder() async throws {
        try await withDaemon { d in
            let c = try await d.admin()
            try await d.pipelineSlots(on: c, count: 50, refPrefix: "p", each: "PING\n")
            var ids: [Int] = []
            for _ in 0..<50 {
                let slot = try await c.readReply()
                #expect(slot.isOK)
                ids.append(Int(slot["slot"]!.dropFirst())!)
                #expect(try await c.readReply().lines == ["OK pong"])
            }
            #expect(ids == ids.sorted() && Set(ids).count == 50)
        }
    }

    @Test func unknownVerbsAndKeysAreErrors() async throws {
        try await withDaemon { d in
            let c = try await d.admin()
            #expect(try await c.send("FROB").code == "UNKNOWN_COMMAND")
            #expect(try await c.send("SLOT FROB").code == "UNKNOWN_COMMAND")
            #expect(try await c.send("STATS colour=blue").code == "BAD_REQUEST")
            #expect(try await c.send("PRO LIST prof=gp prof=gp").code == "BAD_REQUEST")
            #expect(try await c.send("PRO GET \"unterminated").code == "BAD_REQUEST")
        }
    }

    @Test func unauthenticatedIdleConnectionsAreClosed() async throws {
        // Long enough for an AUTH (a database lookup) to finish in time on a loaded machine,
        // where the whole suite runs in parallel on two cores: 300 ms once was not.
        try await withDaemon(configure: { $0.listener.authTimeout = .seconds(3) }) { d in
            let idle = try await LineClient.connect(port: d.port)
            #expect(try await idle.readLine() == nil, "closed by the server")
            let authed = try await d.admin()
            try await Task.sleep(for: .milliseconds(3_500))
            #expect(try await authed.send("PING").isOK, "authenticated sessions are kept")
        }
    }

    @Test func connectionsBeyondTheLimitGetBusy() async throws {
        try await withDaemon(configure: { $0.listener.maxConnections = 2 }) { d in
            let a = try await d.admin()
            let b = try await d.admin()
            let third = try await LineClient.connect(port: d.port)
            #expect(try await third.readReply().code == "BUSY")
            #expect(try await third.readLine() == nil)
            #expect(try await a.send("PING").isOK)
            #expect(try await b.send("PING").isOK)
        }
    }
}

@Suite("PING and durable reads answered on the event loop")
struct FastPathTests {
    @Test func onlyTheBareWordIsTakenByTheFastPath() {
        let yes = ["PING", "ping", "PiNg", "PING\r"]
        let no = ["PING ", " PING", "PINGS", "PIN", "PING x", "PONG", "P\u{0}NG", "PING\r\r"]
        for s in yes { #expect(FastPath.isBarePing(ByteBuffer(string: s)), "\(s)") }
        for s in no { #expect(!FastPath.isBarePing(ByteBuffer(string: s)), "\(s)") }
    }

    @Test func pingsNeverOvertakeRepliesStillInFlight() async throws {
        try await withDaemon { d in
            let c = try await d.admin()
            // Commands that wait for a commit, each followed by PINGs, in one write.
            try await d.pipelineSlots(on: c, count: 40, refPrefix: "o", each: "ping\r\nPING\n", last: "PING x\n")
            for _ in 0..<40 {
                #expect(try await c.readReply()["slot"] != nil)
                #expect(try await c.readReply().lines == ["OK pong"])
                #expect(try await c.readReply().lines == ["OK pong"])
            }
            #expect(try await c.readReply().code == "BAD_REQUEST", "PING with an argument takes the normal path")
        }
    }

    /// A read pipelined behind a change waits its turn and sees the change; a read alone on
    /// its connection (the fast path) answers as the session would, refusals included.
    @Test func readsNeverOvertakeChangesAndAnswerAsTheSessionWould() async throws {
        try await withDaemon { d in
            let c = try await d.admin()
            try await d.pipelineSlots(on: c, count: 30, refPrefix: "r", each: "SLOT LIST pro=\(rpps(1))\n")
            for i in 0..<30 {
                #expect(try await c.readReply()["slot"] != nil)
                #expect(try await c.readReply()["count"] == "\(i + 1)", "the read sees the change sent before it")
            }
            // Nothing in flight now: these go through the fast path.
            #expect(try await c.send("SLOT LIST pro=\(rpps(1))")["count"] == "30")
            #expect(try await c.send("SLOT FIND prof=gp lat=47.6582 lon=-2.7608 limit=2").items.count == 2)
            #expect(try await c.send("SLOT FIND prof=gp lat=95 lon=0").code == "BAD_REQUEST")
            #expect(try await c.send("REQ GET ref=nobody").code == "NOT_FOUND")
            let regulator = try await d.client(role: .regulator, name: "samu")
            #expect(try await regulator.send("STATS").code == "FORBIDDEN", "a role that may not read it")
            let stranger = try await LineClient.connect(port: d.port)
            #expect(try await stranger.send("SLOT LIST").code == "NO_AUTH", "nobody reads before AUTH")
        }
    }
}
