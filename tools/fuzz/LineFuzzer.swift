import Foundation
import SNPCore
import SNPProtocol

/// A coverage-guided fuzz target (libFuzzer) over the line protocol's pure half: the
/// parser, the command table, the argument readers and the reply writers.
///
/// Not a SwiftPM target: `swift build` never sees it. `scripts/fuzz` compiles it with
/// `swiftc -sanitize=fuzzer,address` together with `Sources/SNPCore` and
/// `Sources/SNPProtocol`, and runs it on `tools/fuzz/corpus` with `tools/fuzz/snp.dict`.
///
/// An input is cut at `\n` into lines, as the server's frame decoder cuts a stream, and each
/// line goes through what a session does before a handler runs: `LineParser.parse`,
/// `CommandTable.resolve`, then every argument reader that the command's handler calls
/// (`CommandHandlers`, mirrored below), each in isolation so that one bad value does not
/// hide the others; the values read are then written in a reply and read back.
///
/// A broken property is a `fatalError` naming it and the line: libFuzzer sees a crash and
/// saves the input. Properties:
/// - Parsing is total: a line gives words, nothing (blank) or an `SNPError`; only
///   `BAD_REQUEST` or `TOO_LONG` (and `TOO_LONG` exactly when the line is over the limit).
/// - A line accepted is valid UTF-8, within the limit, without control characters.
/// - Its words, written back with `ReplyFormat.quoteIfNeeded`, parse to the same words
///   (a positional that looks like `key=value` excepted, as `ReplyFormat`'s tests say).
/// - Its `key=value` words as reply `Fields` (`OK …`, and a list) parse back to themselves.
/// - The table answers a command or `UNKNOWN_COMMAND`/`BAD_REQUEST`; a command it gives
///   has the line's verb, only its own keys, all its required keys, a legal positional count.
/// - Every error has a message, and `ReplyFormat.error` writes it on one line with no
///   control character.
/// - Every value a reader accepts obeys the reader's contract and round-trips through the
///   form the server writes: times (`RFC3339.format` then `parse`), durations
///   (`DurationText.format`), ids, RPPS, mode lists, choices; numbers are written as printf's
///   `%.Nf` would; integers and times written typed in `Fields` read as their text.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    for line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).prefix(16) {
        LineFuzzer.check(Array(line))
    }
    // The whole input as one line as well: with a `\n` inside, it must be refused.
    if bytes.contains(UInt8(ascii: "\n")) { LineFuzzer.check(bytes) }
    return 0
}

enum LineFuzzer {
    static let policy = MatchingPolicy()

    /// Stops the run: libFuzzer reports a crash and keeps the input that caused it.
    static func violated(_ what: String, _ line: [UInt8]) -> Never {
        let shown = String(decoding: line.prefix(300), as: UTF8.self).debugDescription
        fatalError("fuzz property broken: \(what); line \(shown)")
    }

    static func check(_ line: [UInt8]) {
        var body = line[...]
        if body.last == UInt8(ascii: "\r") { body = body.dropLast() }
        let parsed: ParsedLine?
        do {
            parsed = try LineParser.parse(line)
        } catch {
            checkError(error, allowed: ["BAD_REQUEST", "TOO_LONG"], line)
            if (error.code == "TOO_LONG") != (body.count > LineParser.maxLineBytes) {
                violated("TOO_LONG given iff the line is over \(LineParser.maxLineBytes) bytes", line)
            }
            return
        }
        guard body.count <= LineParser.maxLineBytes else { violated("a line over the limit was accepted", line) }
        guard String(validating: body, as: UTF8.self) != nil else { violated("invalid UTF-8 accepted", line) }
        if body.contains(where: { $0 < 0x20 && $0 != 0x09 || $0 == 0x7F }) {
            violated("a control character was accepted", line)
        }
        guard let parsed else {
            if !body.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { violated("a non-blank line parsed to nothing", line) }
            return
        }
        if parsed.words.isEmpty { violated("a parsed line without words", line) }
        checkWordsReadBack(parsed, line)
        checkFieldsReadBack(parsed, line)

        let spec: CommandSpec
        let args: Arguments
        do {
            (spec, args) = try CommandTable.resolve(parsed)
        } catch {
            checkError(error, allowed: ["UNKNOWN_COMMAND", "BAD_REQUEST"], line)
            return
        }
        checkResolved(spec, args, parsed, line)
        readArguments(spec, args, line)
    }

    // MARK: The parser

    /// Every word written back as the server writes values parses to the same word.
    static func checkWordsReadBack(_ parsed: ParsedLine, _ line: [UInt8]) {
        var out: [UInt8] = []
        for word in parsed.words {
            if !out.isEmpty { out.append(UInt8(ascii: " ")) }
            switch word {
            case .value(let v):
                let written = ReplyFormat.quoteIfNeeded(v)
                // A positional `a=b` written bare reads back as a key: not a promise (it never
                // happens in a reply, whose values all follow a key).
                if v.contains("=") && !written.hasPrefix("\"") { return }
                out += written.utf8
            case .keyValue(let k, let v):
                if k.isEmpty || k.first!.isNumber
                    || !k.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 })
                {
                    violated("key \"\(k)\" is not lowercase ASCII letters, digits and _", line)
                }
                out += "\(k)=".utf8
                ReplyFormat.appendQuotedIfNeeded(v, to: &out)
            }
        }
        guard out.count <= LineParser.maxLineBytes else { return }
        let again: ParsedLine?
        do { again = try LineParser.parse(out) } catch { violated("written back, the line is refused: \(error)", line) }
        if again != parsed { violated("written back, the line reads \(String(describing: again))", line) }
    }

    /// The `key=value` words of the line, as the fields of a reply, read back the same.
    static func checkFieldsReadBack(_ parsed: ParsedLine, _ line: [UInt8]) {
        let pairs = parsed.words.compactMap { word -> (String, String)? in
            if case .keyValue(let k, let v) = word { return (k, v) }
            return nil
        }
        let fields = Fields(pairs)
        let ok = ReplyFormat.ok(fields)
        if ok.utf8.filter({ $0 == UInt8(ascii: "\n") }).count != 1 || !ok.hasSuffix("\n") {
            violated("an OK reply is not one line", line)
        }
        let list = ReplyFormat.list(kind: "item", [fields, Fields(), fields])
        let lines = list.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if lines.count != 5 || !lines[4].isEmpty || !list.hasPrefix("OK count=3\n") {
            violated("a list of 3 items is not 4 lines", line)
        }
        let body = Array(ok.utf8.dropLast())
        guard body.count <= LineParser.maxLineBytes else { return }
        let back: ParsedLine?
        do { back = try LineParser.parse(body) } catch { violated("an OK reply does not parse: \(error)", line) }
        let expected = [Word.value("OK")] + pairs.map { Word.keyValue(key: $0.0, value: $0.1) }
        if back?.words != expected { violated("an OK reply reads back as \(String(describing: back))", line) }
        if Fields(pairs) != fields || fields.encoded.utf8.count != body.count - 2 {
            violated("Fields.encoded disagrees with the reply", line)
        }
    }

    // MARK: The command table

    static func checkResolved(_ spec: CommandSpec, _ args: Arguments, _ parsed: ParsedLine, _ line: [UInt8]) {
        let leading = parsed.words.prefix(spec.subverb == nil ? 1 : 2).map { word -> String in
            if case .value(let v) = word { return v.uppercased() }
            return "="
        }
        if leading.joined(separator: " ") != spec.words { violated("resolved to \(spec.words)", line) }
        let allowed = Set(spec.requiredKeys + spec.optionalKeys)
        if !args.named.keys.allSatisfy(allowed.contains) { violated("a key \(spec.words) does not take", line) }
        if !spec.requiredKeys.allSatisfy({ args.named[$0] != nil }) { violated("a required key is missing", line) }
        if args.positional.count < spec.requiredPositionals || args.positional.count > spec.positionals.count {
            violated("\(args.positional.count) positionals for \(spec.words)", line)
        }
        if args.positional.count + args.named.count + leading.count != parsed.words.count {
            violated("words lost or added by the table", line)
        }
        if !spec.usage.hasPrefix(spec.words) { violated("usage of \(spec.words)", line) }
    }

    // MARK: The argument readers

    /// What a reader gives, written typed into a reply's fields.
    enum Read {
        case text(String)
        case number(Double)
        case integer(Int)
        case time(Date)
    }

    /// The readers each handler calls (`SNPServer/CommandHandlers.swift`), key by key.
    static func readArguments(_ spec: CommandSpec, _ a: Arguments, _ line: [UInt8]) {
        var reply = Fields()
        var expected: [(String, String)] = []
        func keep(_ key: String, _ value: Read?) {
            switch value {
            case nil: return
            case .text(let s): reply.add(key, s); expected.append((key, s))
            case .number(let x): reply.add(key, number: x, decimals: 6); expected.append((key, printf(x, 6)))
            case .integer(let n): reply.add(key, integer: n); expected.append((key, String(n)))
            case .time(let d): reply.add(key, time: d); expected.append((key, RFC3339.format(d)))
            }
        }
        let maxRadius = policy.maxRadiusKm
        switch spec.name {
        case .hello, .auth, .ping, .help, .quit, .watch, .stats:
            break
        case .proPut:
            if case .text(let v)? = text(a, "id", 200, line, required: true) { keep("id", rpps(a, "id", v, line)) }
            keep("prof", choice(a, "prof", Profession.self, line))
            keep("name", text(a, "name", 200, line, required: true))
            keep("lat", location(a, line)?.lat)
            keep("home_radius_km", double(a, "home_radius_km", 0.1...200, line))
            keep("weekly_cap", int(a, "weekly_cap", 0...10_000, line))
            keep("territory", text(a, "territory", 64, line))
        case .proGet, .proOff:
            keep("pro", rpps(a, "rpps", a.positional[0], line))
        case .proList:
            keep("prof", choice(a, "prof", Profession.self, line))
            keep("territory", text(a, "territory", 64, line))
        case .slotAdd:
            keep("pro", rpps(a, "pro", line))
            keep("start", time(a, "start", line, required: true))
            keep("end", time(a, "end", line, required: true))
            keep("mode", choice(a, "mode", SlotMode.self, line))
            keep("capacity", int(a, "capacity", 1...100, line))
            keep("ref", text(a, "ref", 100, line))
            keep("kind", choice(a, "kind", SlotKind.self, line))
        case .planAdd:
            keep("pro", rpps(a, "pro", line))
            keep("days", text(a, "days", 100, line, required: true))
            keep("from", text(a, "from", 5, line, required: true))
            keep("to", text(a, "to", 5, line, required: true))
            keep("length", seconds(a, "length", line))
            keep("mode", choice(a, "mode", SlotMode.self, line))
            keep("capacity", int(a, "capacity", 1...100, line))
            keep("kind", choice(a, "kind", SlotKind.self, line))
            keep("until", text(a, "until", 10, line))
        case .planList:
            keep("pro", rpps(a, "pro", line))
        case .planDel:
            keep("plan", id(a, nil, "p", line))
            keep("withdraw", int(a, "withdraw", 0...1, line))
        case .slotDel:
            keep("slot", id(a, nil, "s", line))
        case .slotList:
            keep("pro", rpps(a, "pro", line))
            keep("from", time(a, "from", line))
            keep("to", time(a, "to", line))
            keep("state", choice(a, "state", SlotListState.self, line))
            keep("limit", int(a, "limit", 1...100_000, line))
        case .slotFind:
            keep("within", seconds(a, "within", line))
            keep("prof", choice(a, "prof", Profession.self, line))
            keep("mode", modes(a, "mode", line))
            keep("lon", location(a, line)?.lon)
            keep("radius_km", double(a, "radius_km", 0.1...maxRadius, line))
            keep("prio", int(a, "prio", 1...3, line))
            keep("limit", int(a, "limit", 1...100, line))
        case .reqAdd:
            keep("hold", seconds(a, "hold", line))
            keep("ref", text(a, "ref", 100, line, required: true))
            keep("prof", choice(a, "prof", Profession.self, line))
            keep("prio", int(a, "prio", 1...3, line))
            keep("mode", modes(a, "mode", line))
            keep("lat", location(a, line)?.lat)
            keep("within", seconds(a, "within", line))
            keep("radius_km", double(a, "radius_km", 0.1...maxRadius, line))
            keep("slot", id(a, "slot", "s", line))
        case .reqConfirm, .reqDecline:
            keep("req", id(a, nil, "r", line))
        case .reqCancel:
            keep("req", id(a, nil, "r", line))
            keep("reason", text(a, "reason", 200, line))
        case .reqOutcome:
            keep("result", choice(a, "result", VisitOutcome.self, line))
            keep("req", id(a, nil, "r", line))
        case .reqGet:
            keep("ref", text(a, "ref", 100, line))
            if !a.positional.isEmpty { keep("req", id(a, nil, "r", line)) }
        case .reqList:
            keep("state", choice(a, "state", RequestState.self, line))
            keep("since", time(a, "since", line))
            keep("limit", int(a, "limit", 1...100_000, line))
        }
        // Beyond what the handlers ask: every reader on every value, so that each reader
        // meets every kind of text the fuzzer makes, not only the values under its own key.
        for key in a.named.keys {
            _ = text(a, key, 40, line)
            _ = double(a, key, -1e9...1e9, line)
            _ = int(a, key, Int.min...Int.max, line)
            _ = time(a, key, line)
            _ = seconds(a, key, line)
            _ = modes(a, key, line)
            _ = id(a, key, "s", line)
            _ = choice(a, key, RequestState.self, line)
            _ = rpps(a, key, line)
        }
        if !a.positional.isEmpty { _ = id(a, nil, "r", line) }

        // The values read, written in a reply as a handler writes them, and read back.
        let ok = ReplyFormat.ok(reply)
        let body = Array(ok.utf8.dropLast())
        guard body.count <= LineParser.maxLineBytes else { return }
        let back: ParsedLine?
        do { back = try LineParser.parse(body) } catch { violated("a reply of values read does not parse: \(error)", line) }
        let words = [Word.value("OK")] + expected.map { Word.keyValue(key: $0.0, value: $0.1) }
        if back?.words != words { violated("a reply of values read reads back as \(String(describing: back))", line) }
    }

    /// Runs a reader; an error it throws must be a well-formed `BAD_REQUEST`.
    static func reading<T>(_ line: [UInt8], _ body: () throws(SNPError) -> T?) -> T? {
        do {
            return try body()
        } catch {
            checkError(error, allowed: ["BAD_REQUEST"], line)
            return nil
        }
    }

    static func text(_ a: Arguments, _ key: String, _ max: Int, _ line: [UInt8], required: Bool = false) -> Read? {
        guard
            let v = reading(line, { () throws(SNPError) in
                required ? try a.requiredText(key, maxLength: max) : try a.text(key, maxLength: max)
            })
        else {
            // Lengths in code points, as the reader and PostgreSQL's length() count them.
            if let raw = a[key], !raw.isEmpty, raw.unicodeScalars.count <= max { violated("text \(key) refused", line) }
            return nil
        }
        if v != a[key] || v.isEmpty || v.unicodeScalars.count > max { violated("text \(key) read as \(v)", line) }
        return .text(v)
    }

    static func double(_ a: Arguments, _ key: String, _ range: ClosedRange<Double>, _ line: [UInt8]) -> Read? {
        guard let x = reading(line, { () throws(SNPError) in try a.double(key, in: range) }) else { return nil }
        guard x.isFinite, range.contains(x) else { violated("\(key) read as \(x), outside \(range)", line) }
        checkNumberFormat(x, line)
        return .number(x)
    }

    /// `FixedDecimal` writes exactly what printf's `%.Nf` writes, minus the sign of a zero.
    static func checkNumberFormat(_ x: Double, _ line: [UInt8]) {
        for decimals in [0, 1, 2, 3, 6] {
            let fast = FixedDecimal.format(x, decimals: decimals)
            if fast != printf(x, decimals) { violated("\(x) with \(decimals) decimals written \(fast)", line) }
        }
    }

    static func printf(_ x: Double, _ decimals: Int) -> String {
        var s = String(format: "%.\(decimals)f", x)
        if s.hasPrefix("-"), s.dropFirst().allSatisfy({ $0 == "0" || $0 == "." }) { s.removeFirst() }
        return s
    }

    static func int(_ a: Arguments, _ key: String, _ range: ClosedRange<Int>, _ line: [UInt8]) -> Read? {
        guard let n = reading(line, { () throws(SNPError) in try a.int(key, in: range) }) else { return nil }
        if !range.contains(n) || Int(a[key]!) != n { violated("\(key) read as \(n)", line) }
        return .integer(n)
    }

    static func location(_ a: Arguments, _ line: [UInt8]) -> (lat: Read, lon: Read)? {
        guard let p = reading(line, { () throws(SNPError) in try a.location() }) else { return nil }
        guard (-90...90).contains(p.lat), (-180...180).contains(p.lon) else { violated("location \(p)", line) }
        checkNumberFormat(p.lat, line)
        checkNumberFormat(p.lon, line)
        return (.number(p.lat), .number(p.lon))
    }

    /// A time read is written as RFC 3339 in UTC, and that text reads back as the same instant.
    static func time(_ a: Arguments, _ key: String, _ line: [UInt8], required: Bool = false) -> Read? {
        guard let d = reading(line, { () throws(SNPError) in required ? try a.requiredTime(key) : try a.time(key) })
        else { return nil }
        let written = RFC3339.format(d)
        let again: Date
        do { again = try RFC3339.parse(written) } catch { violated("\(key) read, written \(written), refused: \(error)", line) }
        if again != d || d.epochSeconds != again.epochSeconds || Double(d.epochSeconds) != d.timeIntervalSince1970 {
            violated("\(key) read as \(d.epochSeconds), written \(written), read back as \(again.epochSeconds)", line)
        }
        return .time(d)
    }

    static func seconds(_ a: Arguments, _ key: String, _ line: [UInt8]) -> Read? {
        guard let n = reading(line, { () throws(SNPError) in try a.seconds(key) }) else { return nil }
        guard n >= 0 else { violated("\(key) read as \(n) seconds", line) }
        let written = DurationText.format(seconds: n)
        let again = reading(line, { () throws(SNPError) in try DurationText.parseSeconds(written) })
        if again != n { violated("\(n) s written \(written), read back as \(String(describing: again))", line) }
        return .text(written)
    }

    static func modes(_ a: Arguments, _ key: String, _ line: [UInt8]) -> Read? {
        guard let set = reading(line, { () throws(SNPError) in try a.modes(key) }) else { return nil }
        let written = set.description
        let again = reading(line, { () throws(SNPError) in try Arguments(named: [key: written]).modes(key) })
        if set.isEmpty || again != set { violated("modes \(set.rawValue) written \(written)", line) }
        return .text(written)
    }

    static func id(_ a: Arguments, _ key: String?, _ prefix: Character, _ line: [UInt8]) -> Read? {
        guard let id = reading(line, { () throws(SNPError) in try a.id(key, prefix: prefix, what: "fuzzed") }) else { return nil }
        if id.number <= 0 || id.prefix != prefix || RecordID(parsing: id.description, prefix: prefix) != id {
            violated("id read as \(id)", line)
        }
        return .text(id.description)
    }

    static func choice<T: RawRepresentable & CaseIterable>(_ a: Arguments, _ key: String, _ type: T.Type, _ line: [UInt8]) -> Read?
    where T.RawValue == String {
        guard let x = reading(line, { () throws(SNPError) in try a.choice(key, type) }) else { return nil }
        if x.rawValue != a[key]!.lowercased() { violated("\(key) read as \(x.rawValue)", line) }
        return .text(x.rawValue)
    }

    /// `Arguments.rpps(key)`, as `SLOT ADD` and `SLOT LIST` read `pro=`.
    static func rpps(_ a: Arguments, _ key: String, _ line: [UInt8]) -> Read? {
        guard let r = reading(line, { () throws(SNPError) in try a.rpps(key) }) else { return nil }
        if r.value != a[key] { violated("\(key) read as RPPS \(r.value)", line) }
        return rpps(a, key, r.value, line)
    }

    /// `RPPS(validating:)`, as `PRO PUT`, `PRO GET` and `PRO OFF` read theirs.
    static func rpps(_ a: Arguments, _ key: String, _ text: String, _ line: [UInt8]) -> Read? {
        guard let r = reading(line, { () throws(SNPError) in try RPPS(validating: text) }) else { return nil }
        let digits = Array(r.value.utf8)
        if r.value != text || digits.count != 11 || !RPPS.luhnValid(digits.map { Int($0) - 48 }) {
            violated("RPPS read as \(r.value)", line)
        }
        return .text(r.value)
    }

    // MARK: Errors

    /// An error has one of the codes expected here, a message, and is written on one line.
    static func checkError(_ e: SNPError, allowed: Set<String>, _ line: [UInt8]) {
        if !allowed.contains(e.code) { violated("error \(e.code) where only \(allowed.sorted()) may come", line) }
        if e.message.isEmpty { violated("an \(e.code) error without a message", line) }
        let written = Array(ReplyFormat.error(e).utf8)
        let prefix = Array("ERR \(e.code) ".utf8)
        guard written.starts(with: prefix), written.last == UInt8(ascii: "\n"), written.count > prefix.count + 1 else {
            violated("error written as \(String(decoding: written, as: UTF8.self).debugDescription)", line)
        }
        // A tab may come from a value quoted in the message; it does not end the line.
        if written.dropLast().contains(where: { $0 < 0x20 && $0 != 0x09 || $0 == 0x7F }) {
            violated("error written with a control character: \(String(decoding: written, as: UTF8.self).debugDescription)", line)
        }
    }
}
