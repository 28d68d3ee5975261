import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The editing state of the prompt line, fed one input byte at a time.
///
/// A small readline: the keys a regulator reaches for without thinking (arrows, Home/End,
/// Ctrl-A/Ctrl-E, Backspace, history). It is a pure value with no terminal of its own:
/// the interactive session feeds it the bytes read from the terminal and draws whatever it
/// holds, so that server events can be printed between two keystrokes and the line drawn
/// again. Input is decoded as UTF-8 so that accented names (`name="Dr Hélène Durand"`) are
/// edited as characters, not bytes.
struct LineEditor {
    /// What the session must do after a byte.
    enum Action: Equatable {
        /// Nothing visible changed (the middle of an escape sequence or of a UTF-8 character).
        case none
        /// The line or the cursor changed: draw again.
        case redraw
        /// Enter: the line is finished (and the editor already empty for the next one).
        case submit(String)
        /// Ctrl-C: the line was abandoned (its text is given back to be shown as abandoned).
        case interrupt(abandoned: String)
        /// Ctrl-D on an empty line: the user is leaving.
        case endOfInput
        /// Ctrl-L.
        case clearScreen
        /// A key that cannot apply here (Backspace at the start, Up at the oldest entry).
        case bell
    }

    private(set) var characters: [Unicode.Scalar] = []
    /// Insertion point, 0...characters.count.
    private(set) var cursor = 0
    var history: History

    /// While browsing history: the entry shown, and the line being typed before browsing
    /// started (Down past the newest entry brings it back).
    private var historyIndex: Int?
    private var draft: [Unicode.Scalar] = []

    private var escape = EscapeParser()
    private var utf8 = UTF8Assembler()

    init(history: History) {
        self.history = history
    }

    var text: String {
        var result = ""
        result.unicodeScalars.append(contentsOf: characters)
        return result
    }

    mutating func feed(_ byte: UInt8) -> Action {
        switch escape.feed(byte) {
        case .pending:
            return .none
        case .key(let key):
            return apply(key)
        case .notEscape:
            break
        }
        switch byte {
        case 0x01: return apply(.home)  // Ctrl-A
        case 0x02: return apply(.left)  // Ctrl-B
        case 0x03: return interrupt()  // Ctrl-C
        case 0x04:  // Ctrl-D
            return characters.isEmpty ? .endOfInput : apply(.delete)
        case 0x05: return apply(.end)  // Ctrl-E
        case 0x06: return apply(.right)  // Ctrl-F
        case 0x08, 0x7F: return backspace()  // Ctrl-H, Backspace
        case 0x0A, 0x0D: return submit()  // Enter
        case 0x0B:  // Ctrl-K: delete to end of line
            characters.removeSubrange(cursor...)
            return .redraw
        case 0x0C: return .clearScreen  // Ctrl-L
        case 0x0E: return apply(.down)  // Ctrl-N
        case 0x10: return apply(.up)  // Ctrl-P
        case 0x15:  // Ctrl-U: delete to start of line
            characters.removeSubrange(..<cursor)
            cursor = 0
            return .redraw
        case 0x17: return deleteWordBackwards()  // Ctrl-W
        case 0x09: return insert(" ")  // Tab: the protocol separates words with spaces
        case 0x00..<0x20: return .none  // other control keys have no meaning here
        default:
            guard let scalar = utf8.feed(byte) else { return .none }
            return insert(scalar)
        }
    }

    // MARK: - Editing

    private mutating func insert(_ scalar: Unicode.Scalar) -> Action {
        characters.insert(scalar, at: cursor)
        cursor += 1
        return .redraw
    }

    private mutating func backspace() -> Action {
        guard cursor > 0 else { return .bell }
        cursor -= 1
        characters.remove(at: cursor)
        return .redraw
    }

    private mutating func deleteWordBackwards() -> Action {
        guard cursor > 0 else { return .bell }
        var start = cursor
        while start > 0 && characters[start - 1] == " " { start -= 1 }
        while start > 0 && characters[start - 1] != " " { start -= 1 }
        characters.removeSubrange(start..<cursor)
        cursor = start
        return .redraw
    }

    private mutating func submit() -> Action {
        let line = text
        reset()
        return .submit(line)
    }

    private mutating func interrupt() -> Action {
        let line = text
        reset()
        return .interrupt(abandoned: line)
    }

    /// Empties the line and leaves history browsing.
    mutating func reset() {
        characters = []
        cursor = 0
        historyIndex = nil
        draft = []
    }

    private mutating func apply(_ key: EscapeParser.Key) -> Action {
        switch key {
        case .left:
            guard cursor > 0 else { return .bell }
            cursor -= 1
        case .right:
            guard cursor < characters.count else { return .bell }
            cursor += 1
        case .home:
            cursor = 0
        case .end:
            cursor = characters.count
        case .delete:
            guard cursor < characters.count else { return .bell }
            characters.remove(at: cursor)
        case .up:
            let entries = history.entries
            let index = (historyIndex ?? entries.count) - 1
            guard index >= 0 else { return .bell }
            if historyIndex == nil { draft = characters }
            historyIndex = index
            show(entries[index])
        case .down:
            guard let current = historyIndex else { return .bell }
            if current + 1 < history.entries.count {
                historyIndex = current + 1
                show(history.entries[current + 1])
            } else {
                historyIndex = nil
                characters = draft
                cursor = characters.count
            }
        case .other:
            return .none
        }
        return .redraw
    }

    private mutating func show(_ entry: String) {
        characters = Array(entry.unicodeScalars)
        cursor = characters.count
    }
}

/// Recognises the escape sequences terminals send for editing keys.
///
/// Both families are accepted, `ESC [ …` (CSI) and `ESC O …` (SS3, sent by xterm-likes in
/// application cursor mode), and both spellings of Home/End (`ESC [ H`, `ESC [ 1 ~`, …),
/// because which one arrives depends on the terminal and its settings. Unknown sequences
/// are swallowed whole rather than typed into the line.
struct EscapeParser {
    enum Key {
        case up, down, left, right, home, end, delete, other
    }

    enum Outcome {
        /// The byte is part of a sequence that is not finished.
        case pending
        /// A sequence finished.
        case key(Key)
        /// Not part of a sequence: an ordinary key.
        case notEscape
    }

    private enum State {
        case idle, escape, csi, ss3
    }

    private var state = State.idle
    private var parameters: [UInt8] = []

    mutating func feed(_ byte: UInt8) -> Outcome {
        switch state {
        case .idle:
            guard byte == 0x1B else { return .notEscape }
            state = .escape
            return .pending
        case .escape:
            switch byte {
            case UInt8(ascii: "["):
                state = .csi
                parameters = []
                return .pending
            case UInt8(ascii: "O"):
                state = .ss3
                return .pending
            default:
                // Alt+key and the like: drop the escape, ignore the key.
                state = .idle
                return .key(.other)
            }
        case .ss3:
            state = .idle
            return .key(Self.key(final: byte, parameters: []))
        case .csi:
            if (0x40...0x7E).contains(byte) {
                state = .idle
                return .key(Self.key(final: byte, parameters: parameters))
            }
            if parameters.count < 16 { parameters.append(byte) }
            return .pending
        }
    }

    private static func key(final: UInt8, parameters: [UInt8]) -> Key {
        switch final {
        case UInt8(ascii: "A"): return .up
        case UInt8(ascii: "B"): return .down
        case UInt8(ascii: "C"): return .right
        case UInt8(ascii: "D"): return .left
        case UInt8(ascii: "H"): return .home
        case UInt8(ascii: "F"): return .end
        case UInt8(ascii: "~"):
            switch String(decoding: parameters, as: UTF8.self) {
            case "1", "7": return .home
            case "4", "8": return .end
            case "3": return .delete
            default: return .other
            }
        default: return .other
        }
    }
}

/// Gathers the bytes of one UTF-8 character typed at the terminal; invalid input is
/// dropped instead of reaching the line.
struct UTF8Assembler {
    private var pending: [UInt8] = []
    private var expected = 0

    mutating func feed(_ byte: UInt8) -> Unicode.Scalar? {
        if pending.isEmpty {
            switch byte {
            case 0x00..<0x80: return Unicode.Scalar(byte)
            case 0xC2..<0xE0: expected = 2
            case 0xE0..<0xF0: expected = 3
            case 0xF0..<0xF5: expected = 4
            default: return nil
            }
            pending = [byte]
            return nil
        }
        guard byte & 0xC0 == 0x80 else {
            // A new character began before this one ended: start over with it.
            pending = []
            return feed(byte)
        }
        pending.append(byte)
        guard pending.count == expected else { return nil }
        defer { pending = [] }
        var iterator = pending.makeIterator()
        var decoder = UTF8()
        if case .scalarValue(let scalar) = decoder.decode(&iterator) { return scalar }
        return nil
    }
}

/// The lines entered at the prompt, kept across sessions in `~/.snpctl_history`.
///
/// The file is rewritten after every entered line (to a temporary file, then renamed), so
/// that history survives a closed terminal window, and it is created readable by its owner
/// only. Lines beginning with `AUTH` are kept for the session but never written: they hold
/// a secret. Failing to read or write the file never disturbs the session.
struct History {
    static let limit = 1_000

    private(set) var entries: [String] = []
    let file: URL?

    init(file: URL?) {
        self.file = file
        guard let file, let data = try? Data(contentsOf: file) else { return }
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true)
        entries = lines.suffix(Self.limit).map(String.init)
    }

    /// `~/.snpctl_history`, or `nil` if there is no home directory to put it in.
    static var defaultFile: URL? {
        let home = ProcessInfo.processInfo.environment["HOME"].flatMap { $0.isEmpty ? nil : $0 }
        guard let home else { return nil }
        return URL(fileURLWithPath: home).appendingPathComponent(".snpctl_history")
    }

    /// Records an entered line (not a blank one, nor the same as the previous one).
    mutating func add(_ line: String) {
        guard !RequestLine.isBlank(Array(line.utf8)), line != entries.last else { return }
        entries.append(line)
        if entries.count > Self.limit { entries.removeFirst(entries.count - Self.limit) }
        save()
    }

    private func save() {
        guard let file else { return }
        let kept = entries.filter { RequestLine.verb(of: Array($0.utf8)) != "AUTH" }
        let contents = Array(kept.map { $0 + "\n" }.joined().utf8)
        let temporary = file.path + ".tmp\(getpid())"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard descriptor >= 0 else { return }
        let failure = writeFully(contents) { write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)
        if failure == nil {
            rename(temporary, file.path)
        } else {
            unlink(temporary)
        }
    }
}
