import Foundation
import SNPCore
import SNPProtocol
import SNPSimulation
@testable import SNPServer
import SNPStore
import Testing

/// A seeded, property-based fuzzer over the line parser, the command table and the
/// command handlers (the dispatcher), run against a live engine as `MatchingService` runs
/// them: a failed command is undone from its journal, time moves on between commands.
///
/// Inputs are of three kinds: random bytes from an alphabet biased towards the protocol's
/// own (spaces, `=`, quotes, backslashes, control bytes, broken UTF-8); commands built from
/// the command table with keys and values drawn from a dictionary of edge cases (ids that
/// exist and do not, times valid and invalid, NaN, huge numbers, unknown professions…);
/// and byte-level mutations of valid commands.
///
/// Properties checked after every input: nothing crashes or throws anything but an
/// `SNPError`; every reply is well-formed (`OK …` on one line, or `OK count=N` and N item
/// lines, or `ERR CODE message`), without control characters; a command that fails leaves
/// the engine exactly as it was (nothing half-applied); no slot holds more requests than
/// its capacity. The test has a time limit (a hang fails it); it never measures time.
///
/// CI runs 30 000 inputs (seed 1). By hand, longer:
/// `SNPD_FUZZ_INPUTS=2000000 SNPD_FUZZ_SEED=7 scripts/test --filter FuzzTests`.
@Suite("Fuzzing the parser and the dispatcher")
struct FuzzTests {
    @Test(.timeLimit(.minutes(10)))
    func randomAndMutatedLinesNeverBreakTheServer() throws {
        let env = ProcessInfo.processInfo.environment
        let inputs = env["SNPD_FUZZ_INPUTS"].flatMap(Int.init) ?? 30_000
        let seed = env["SNPD_FUZZ_SEED"].flatMap(UInt64.init) ?? 1
        var fuzz = Fuzzer(seed: seed)
        try fuzz.seedState()
        let before = residentKiB()
        for _ in 0..<inputs {
            try fuzz.feed(fuzz.nextInput())
        }
        let after = residentKiB()
        let s = fuzz.stats
        let codes = s.errors.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        print(
            "fuzz: seed \(seed), \(s.inputs) inputs (\(s.randomBytes) random bytes, \(s.built) built, \(s.mutated) mutated); "
                + "\(s.handled) reached a handler, \(s.ok) OK; ERR: \(codes); "
                + "\(s.distinctOutcomes.count) distinct command/outcome pairs; violations 0; "
                + "test process RSS \(before / 1024) → \(after / 1024) MiB")
        #expect(s.handled > inputs / 4, "a good share of inputs get past the parser and the table")
        #expect(s.ok > inputs / 20, "and some succeed, so the handlers are really exercised")
    }
}

/// Resident memory of this process, KiB.
func residentKiB() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
    else { return 0 }
    return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
}

struct FuzzStats {
    var inputs = 0, randomBytes = 0, built = 0, mutated = 0
    var handled = 0, ok = 0
    var errors: [String: Int] = [:]
    var distinctOutcomes: Set<String> = []
}

struct FuzzFailure: Error, CustomStringConvertible {
    var description: String
}

struct Fuzzer {
    var rng: SeededRandom
    var engine = MatchingEngine()
    var now = try! RFC3339.parse("2026-11-23T07:00:00Z")
    var stats = FuzzStats()
    /// Valid lines seen (the seeds of mutations).
    var corpus: [String] = []

    static let pros = (1...8).map { n -> String in
        let prefix = Array("10" + String(format: "%08d", n)).map { Int(String($0))! }
        return prefix.map(String.init).joined() + String(RPPS.luhnCheckDigit(for: prefix))
    }
    let principals: [Principal] = [
        Principal(name: "admin", role: .admin), Principal(name: "samu56", role: .regulator),
        Principal(name: "samu29", role: .regulator), Principal(name: "cpts", role: .coordinator),
        Principal(name: "cnam", role: .reporter), Principal(name: "pro1", role: .pro, pro: RPPS(trusted: Fuzzer.pros[0])),
    ]

    init(seed: UInt64) { rng = SeededRandom(seed: seed, stream: "fuzz") }

    mutating func pick<T>(_ xs: [T]) -> T { xs[Int.random(in: 0..<xs.count, using: &rng)] }
    mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &rng) < p }

    /// Professionals and slots to aim at, made through the handlers like any command.
    mutating func seedState() throws {
        let profs = ["gp", "kine", "nurse", "gp", "midwife", "gp", "dentist", "pediatrician"]
        for (i, rpps) in Fuzzer.pros.enumerated() {
            try feed(
                Array("PRO PUT id=\(rpps) prof=\(profs[i]) name=\"Dr \(i)\" lat=\(47.6 + Double(i) * 0.01) lon=-2.76 weekly_cap=3".utf8),
                as: principals[0], mustSucceed: true)
            for h in [2, 5, 9, 20, 30] {
                try feed(Array("SLOT ADD pro=\(rpps) start=\(time(hours: Double(h) + Double(i) / 10)) end=\(time(hours: Double(h) + Double(i) / 10 + 0.4)) capacity=\(1 + i % 3) mode=\(i % 2 == 0 ? "office" : "home")".utf8), as: principals[0], mustSucceed: true)
            }
        }
        stats = FuzzStats()
    }

    func time(hours: Double) -> String { RFC3339.format(now.addingTimeInterval(hours * 3600)) }

    // MARK: Inputs

    mutating func nextInput() -> [UInt8] {
        stats.inputs += 1
        switch Int.random(in: 0..<10, using: &rng) {
        case 0..<2:
            stats.randomBytes += 1
            return randomBytes()
        case 2..<4 where !corpus.isEmpty:
            stats.mutated += 1
            return mutate(Array(pick(corpus).utf8))
        default:
            stats.built += 1
            return Array(builtCommand().utf8)
        }
    }

    mutating func randomBytes() -> [UInt8] {
        let alphabet: [UInt8] = Array("AZaz09 =\"\\\t,.-:+_rsp".utf8) + [0x00, 0x01, 0x0D, 0x7F, 0x80, 0xC3, 0xA9, 0xFF, 0xE2, 0x82, 0xAC]
        let n = chance(0.02) ? Int.random(in: 8_000...8_300, using: &rng) : Int.random(in: 0...120, using: &rng)
        return (0..<n).map { _ in chance(0.5) ? pick(alphabet) : UInt8.random(in: 0...255, using: &rng) }
    }

    mutating func mutate(_ line: [UInt8]) -> [UInt8] {
        var b = line
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            let i = b.isEmpty ? 0 : Int.random(in: 0..<b.count, using: &rng)
            switch Int.random(in: 0..<5, using: &rng) {
            case 0 where !b.isEmpty: b[i] = UInt8.random(in: 0...255, using: &rng)
            case 1 where !b.isEmpty: b.remove(at: i)
            case 2: b.insert(pick(Array("= \"\\x9-".utf8)), at: i)
            case 3 where !b.isEmpty: b.insert(contentsOf: b[i...].prefix(8), at: i)  // repeat a piece
            default: b.insert(contentsOf: Array(value().utf8), at: i)
            }
        }
        return b
    }

    mutating func builtCommand() -> String {
        let spec = pick(CommandTable.all.filter { $0.name != .quit && $0.name != .auth && $0.name != .watch })
        var words = [chance(0.05) ? spec.words.lowercased() : spec.words]
        for _ in 0..<spec.positionals.count where chance(0.9) { words.append(identifier()) }
        if chance(0.05) { words.append(identifier()) }  // one positional too many
        for key in spec.requiredKeys where chance(0.93) { words.append("\(key)=\(value(for: key))") }
        for key in spec.optionalKeys where chance(0.3) { words.append("\(key)=\(value(for: key))") }
        if chance(0.05) { words.append("\(pick(["colour", "id", "lat", "PROF", "x y"]))=\(value())") }  // unknown or repeated
        if chance(0.1) { words.shuffle(using: &rng) }
        return words.joined(separator: chance(0.05) ? "\t" : " ")
    }

    mutating func identifier() -> String {
        pick([
            "s\(Int.random(in: 1...60, using: &rng))", "r\(Int.random(in: 1...60, using: &rng))", pick(Fuzzer.pros),
            "s0", "r-1", "s99999999999999999999", "x1", "", "\"s1\"", "10000000000", pick(Fuzzer.pros) + "0",
        ])
    }

    mutating func value(for key: String) -> String {
        switch key {
        case "id", "pro": return chance(0.8) ? pick(Fuzzer.pros) : identifier()
        case "prof": return pick(["gp", "kine", "nurse", "midwife", "dentist", "pediatrician", "GP", "vet", ""])
        case "lat": return pick(["47.65", "47.7", "48.1", "-90", "90", "91", "nan", "1e3", "47,65"])
        case "lon": return pick(["-2.76", "-2.7", "-3.37", "180", "-181", "inf", "0"])
        case "start", "end", "from", "to":
            return chance(0.8) ? time(hours: Double(Int.random(in: -6...220, using: &rng)) / 2) : pick(badTimes)
        case "mode": return pick(["office", "home", "tele", "office,home", "home,tele,office", "car", ""])
        case "capacity", "weekly_cap", "limit":
            return pick(["0", "1", "2", "3", "10", "-1", "1000000", "1.5", "99999999999999999999"])
        case "prio": return pick(["1", "2", "3", "0", "4", "-1", "one"])
        case "within", "hold": return pick(["30m", "2h", "48h", "49h", "0", "-5m", "1d", "3600", "1h30m", "forever"])
        case "radius_km", "home_radius_km": return pick(["5", "20", "0", "-3", "1e9", "nan", "0.5"])
        case "ref": return chance(0.7) ? "SAS-\(Int.random(in: 1...40, using: &rng))" : pick(["", "\"a b\"", "x\\"])
        case "slot": return identifier()
        case "state": return pick(["open", "full", "all", "past", "queued", "booked", "held", "expired", "nope"])
        case "outcome": return pick(["honored", "noshow", "no-show", "cancelled"])
        case "reason": return pick(["\"patient better\"", "x", "\"é ü 中\"", "\"\\\"q\\\"\""])
        default: return value()
        }
    }

    var badTimes: [String] {
        [
            "2026-02-30T10:00:00Z", "2026-11-23T25:00:00Z", "tomorrow", "", "9999-12-31T23:59:59Z",
            "0000-01-01T00:00:00Z", "2026-11-23T10:00:00", "2026-11-23T10:00:00+25:00", "2026-11-23 10:00:00Z",
            "2026-11-23T10:00:60Z", "2026-11-23T10:00:00.123456789Z",
        ]
    }

    mutating func value() -> String {
        pick([
            "0", "-1", "1e308", "NaN", "-0", "\"\"", "\"a\\\"b\"", "\"unterminated", "é", "中文", "a=b", "==", "\\",
            String(repeating: "x", count: 300), "\"  spaced  \"", "\u{202E}", "+1", "0x10",
        ])
    }

    // MARK: Running one input

    mutating func feed(_ bytes: [UInt8]) throws {
        if chance(0.1) { now = now.addingTimeInterval(Double(Int.random(in: 0...10_800, using: &rng))) }
        // Mostly a role the command allows (else most inputs stop at FORBIDDEN), sometimes any.
        let allowed = (try? LineParser.parse(bytes)).flatMap { $0 }.flatMap { try? CommandTable.resolve($0) }?.0.roles
        let candidates = principals.filter { allowed?.contains($0.role) ?? true }
        let principal = chance(0.85) && !candidates.isEmpty ? pick(candidates) : pick(principals)
        try feed(bytes, as: principal, mustSucceed: false)
    }

    /// One line through parse → table → role → handler, as the server runs it.
    mutating func feed(_ bytes: [UInt8], as principal: Principal, mustSucceed: Bool) throws {
        engine.tick(now: now)
        _ = engine.takeJournal()
        let line = String(decoding: bytes, as: UTF8.self)
        let reply: String
        var name = "?"
        do {
            guard let parsed = try LineParser.parse(bytes) else { return }
            let (spec, args) = try CommandTable.resolve(parsed)
            name = spec.words
            guard let roles = spec.roles else { return }  // session commands: Session's, not the engine's
            guard roles.contains(principal.role) else { throw SNPError.forbidden("role") }
            guard let handler = CommandHandlers.table[spec.name] else {
                throw FuzzFailure(description: "no handler for \(spec.words)")
            }
            stats.handled += 1
            let fingerprint = fingerprintOfEngine()
            let context = CommandContext(principal: principal, args: args, now: now, connections: 1, uptimeSeconds: 1)
            do {
                reply = try handler(&engine, context)
                _ = engine.takeJournal()
                stats.ok += 1
                if bytes.count < 400 && corpus.count < 2_000 { corpus.append(line) }
            } catch {
                engine.undo(engine.takeJournal())
                guard fingerprintOfEngine() == fingerprint else {
                    throw FuzzFailure(description: "a failed command changed the engine: \(line)")
                }
                reply = ReplyFormat.error(error)
            }
        } catch let e as SNPError {
            reply = ReplyFormat.error(e)
        }
        try checkWellFormed(reply, for: line)
        let outcome = reply.hasPrefix("ERR ") ? String(reply.dropFirst(4).prefix { $0 != " " }) : "OK"
        if outcome != "OK" { stats.errors[outcome, default: 0] += 1 }
        stats.distinctOutcomes.insert("\(name) \(outcome)")
        if mustSucceed && outcome != "OK" { throw FuzzFailure(description: "setup failed: \(line) → \(reply)") }
        if stats.inputs % 500 == 0 { try checkCapacity() }
    }

    /// Enough of the engine's state to see a change: counts, and every slot's occupancy.
    func fingerprintOfEngine() -> String {
        let s = engine.stats(now: now)
        var text = "\(s.openSlots) \(s.queued) \(s.held) \(s.bookedToday) \(engine.openSlotCount) \(engine.queuedCount)"
        for n in 1...80 {
            guard let slot = engine.slot(.slot(Int64(n))) else { break }
            text += " \(n):\(engine.taken(Int64(n)))/\(slot.capacity)\(slot.withdrawnAt == nil ? "" : "w")"
        }
        for n in 1...80 {
            guard let r = engine.request(.request(Int64(n))) else { break }
            text += " r\(n):\(r.state)"
        }
        return text
    }

    func checkCapacity() throws {
        var n: Int64 = 1
        while let slot = engine.slot(.slot(n)) {
            if engine.taken(n) > slot.capacity {
                throw FuzzFailure(description: "slot s\(n) holds \(engine.taken(n)) for a capacity of \(slot.capacity)")
            }
            n += 1
        }
    }

    func checkWellFormed(_ reply: String, for line: String) throws {
        guard reply.hasSuffix("\n") else { throw FuzzFailure(description: "reply without its newline: \(line) → \(reply)") }
        let lines = reply.dropLast().split(separator: "\n", omittingEmptySubsequences: false)
        if let bad = lines.first(where: { $0.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F } }) {
            throw FuzzFailure(description: "control character in a reply line: \(bad)")
        }
        let first = lines[0]
        if first.hasPrefix("ERR ") {
            let code = first.dropFirst(4).prefix { $0 != " " }
            guard lines.count == 1, !code.isEmpty, code.allSatisfy({ $0.isUppercase || $0 == "_" }) else {
                throw FuzzFailure(description: "malformed error: \(line) → \(reply)")
            }
            return
        }
        guard first == "OK" || first.hasPrefix("OK ") else { throw FuzzFailure(description: "neither OK nor ERR: \(line) → \(reply)") }
        if first.hasPrefix("OK count="), let n = Int(first.dropFirst(9).prefix { $0 != " " }) {
            guard lines.count == n + 1 else { throw FuzzFailure(description: "list of \(n) with \(lines.count - 1) lines: \(line)") }
        } else if lines.count != 1 {
            throw FuzzFailure(description: "a one-line reply on several lines: \(line) → \(reply)")
        }
    }
}
