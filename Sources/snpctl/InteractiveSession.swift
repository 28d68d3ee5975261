#if canImport(Glibc)
    import Glibc
#endif

/// The interactive mode: a prompt, and the server's lines shown as soon as they arrive.
///
/// After `WATCH`, events come whenever a request changes, typically while the user is
/// typing the next command; waiting for Enter to show them would hide exactly the news the
/// user is watching for. So one thread `poll(2)`s both the terminal and the socket: a key
/// goes to the line editor, a server line is printed above the prompt, and the prompt
/// with the text being typed is drawn again below it. One thread means no locks and no
/// interleaving of two writers on the screen.
///
/// After Enter, the prompt stays hidden until the whole reply has arrived (a long list
/// is not cut by a prompt); keys typed meanwhile are kept and applied afterwards, as a
/// terminal does, except Ctrl-C, which stops waiting at once (the reply, when it comes,
/// is printed above the new prompt).
final class InteractiveSession {
    private let connection: LineConnection
    private let presenter: LinePresenter
    private var editor: LineEditor

    private let prompt = "snp> "
    /// Requests sent whose reply has not been received in full yet.
    private var unanswered = 0
    /// The prompt is hidden until the reply to the last request has arrived.
    private var waitingForReply = false
    /// Keys read from the terminal and not yet given to the editor.
    private var typeahead: [UInt8] = []
    /// `QUIT` was sent: its reply ends the session.
    private var quitting = false
    /// Whether the prompt line is on screen (and must be cleared before printing above it).
    private var promptShown = false
    /// First character shown, when the line is longer than the terminal is wide: the line
    /// scrolls sideways instead of wrapping, so that redrawing it stays a matter of `\r`.
    private var scroll = 0

    private enum Step {
        case goOn
        case leave
    }

    init(connection: LineConnection, presenter: LinePresenter, history: History) {
        self.connection = connection
        self.presenter = presenter
        self.editor = LineEditor(history: history)
    }

    /// Runs until the user leaves (Ctrl-D, `exit`, `QUIT`). Throws if the server goes away.
    func run() throws(ConnectionError) -> ExitStatus {
        showPrompt()
        var descriptors = [
            pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0),
            pollfd(fd: connection.descriptor, events: Int16(POLLIN), revents: 0),
        ]
        while true {
            // Lines may already be buffered (read together with an earlier one): poll(2)
            // would not report them.
            while let line = connection.bufferedLine() {
                if try received(line) == .leave { return .ok }
            }

            for index in descriptors.indices { descriptors[index].revents = 0 }
            if poll(&descriptors, nfds_t(descriptors.count), -1) < 0 {
                if errno == EINTR { continue }
                Console.complain("poll: \(errorText(errno))")
                return .connectionProblem
            }

            if descriptors[1].revents != 0 {
                if try !connection.receive() {
                    if let last = connection.takeRemainder(), try received(last) == .leave { return .ok }
                    if quitting { return .ok }
                    clearPrompt()
                    throw .closedByServer(connection.endpoint)
                }
            }

            if descriptors[0].revents != 0 {
                var chunk = [UInt8](repeating: 0, count: 4_096)
                let count = chunk.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else {
                    // The terminal went away (or sent end of file): as Ctrl-D.
                    Console.out("\n")
                    return .ok
                }
                typeahead.append(contentsOf: chunk[0..<count])
                if try processTypeahead() == .leave { return .ok }
            }
        }
    }

    // MARK: - Server lines

    private func received(_ line: ServerLine) throws(ConnectionError) -> Step {
        printAbovePrompt(presenter.present(line.bytes))
        guard case .reply(let completes) = line.role, completes != nil, unanswered > 0 else { return .goOn }
        unanswered -= 1
        guard unanswered == 0 else { return .goOn }
        if quitting { return .leave }
        if waitingForReply {
            waitingForReply = false
            showPrompt()
        }
        return try processTypeahead()
    }

    private func printAbovePrompt(_ line: [UInt8]) {
        if promptShown {
            Console.out(Array("\r\u{1B}[K".utf8) + line + [UInt8(ascii: "\n")])
            redraw()
        } else {
            Console.outLine(line)
        }
    }

    // MARK: - Keys

    private func processTypeahead() throws(ConnectionError) -> Step {
        while !typeahead.isEmpty {
            if waitingForReply {
                guard let interrupt = typeahead.firstIndex(of: 0x03) else { return .goOn }
                // Keys typed before Ctrl-C were meant for after the reply: dropped with it.
                typeahead.removeSubrange(...interrupt)
                waitingForReply = false
                editor.reset()
                Console.out("^C\n")
                showPrompt()
                continue
            }
            let byte = typeahead.removeFirst()
            switch editor.feed(byte) {
            case .none:
                break
            case .redraw:
                redraw()
            case .bell:
                Console.out("\u{7}")
            case .clearScreen:
                Console.out("\u{1B}[H\u{1B}[2J")
                redraw()
            case .interrupt(let abandoned):
                Console.out("\r\u{1B}[K\(prompt)\(abandoned)^C\n")
                showPrompt()
            case .endOfInput:
                Console.out("\n")
                return .leave
            case .submit(let line):
                if try submit(line) == .leave { return .leave }
            }
        }
        return .goOn
    }

    private func submit(_ line: String) throws(ConnectionError) -> Step {
        // The line as typed stays on screen above its reply, for the record.
        Console.out("\r\u{1B}[K\(prompt)\(line)\n")
        promptShown = false
        let bytes = Array(line.utf8)
        guard !RequestLine.isBlank(bytes) else {
            showPrompt()
            return .goOn
        }
        editor.history.add(line)
        let verb = RequestLine.verb(of: bytes)
        // `exit` is snpctl's own (the server has no such verb); `QUIT` also tells the server.
        if verb == "EXIT" { return .leave }
        if verb == "QUIT" { quitting = true }
        try connection.sendLine(bytes)
        unanswered += 1
        waitingForReply = true
        return .goOn
    }

    // MARK: - Drawing

    private func showPrompt() {
        promptShown = true
        scroll = 0
        redraw()
    }

    private func clearPrompt() {
        if promptShown { Console.out("\r\u{1B}[K") }
        promptShown = false
    }

    /// Draws the prompt and the visible part of the line, then puts the cursor in place.
    private func redraw() {
        guard promptShown else { return }
        let promptWidth = prompt.unicodeScalars.count
        let available = max(RawTerminal.columns() - promptWidth - 1, 8)
        let characters = editor.characters
        let cursor = editor.cursor
        if cursor < scroll { scroll = cursor }
        if cursor > scroll + available { scroll = cursor - available }
        scroll = min(scroll, max(0, characters.count - available))

        var visible = ""
        visible.unicodeScalars.append(contentsOf: characters[scroll..<min(characters.count, scroll + available)])
        let column = promptWidth + cursor - scroll
        Console.out("\r\(prompt)\(visible)\u{1B}[K\r\u{1B}[\(column)C")
    }
}
