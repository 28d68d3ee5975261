#if canImport(Glibc)
    import Glibc
#endif

/// The result of one request, as far as snpctl's callers care.
struct Reply {
    var status: ReplyStatus
    /// The `OK …` or `ERR …` line, for messages.
    var firstLine: [UInt8]
}

/// Exit statuses of snpctl, part of its interface for scripts.
enum ExitStatus: Int32 {
    /// Every reply was `OK`.
    case ok = 0
    /// A reply was `ERR`.
    case errorReply = 1
    /// `AUTH` with the given token was refused.
    case authenticationFailed = 2
    /// The server could not be reached, or closed the connection.
    case connectionProblem = 3
}

/// Request, then reply, in turn: the blocking conversation of the one-shot and batch modes
/// (and of the `AUTH` that opens every mode).
///
/// Requests are sent one at a time, each after the previous reply, although the server
/// would accept them pipelined: the reply to a line must be printed before anything about
/// the next one, and a batch stops cleanly after `QUIT` instead of sending into a closed
/// socket.
struct Conversation {
    let connection: LineConnection
    let presenter: LinePresenter

    /// Sends `line` and waits for its reply, printing the reply's lines if `echo` is set.
    /// `EVENT` lines and unforeseen lines that arrive meanwhile are always printed: they are
    /// news the user asked for.
    func exchange(_ line: [UInt8], echo: Bool = true) throws(ConnectionError) -> Reply {
        try connection.sendLine(line)
        var firstLine: [UInt8]?
        while true {
            guard let received = try connection.nextLine() else {
                throw .closedByServer(connection.endpoint)
            }
            switch received.role {
            case .event, .unexpected:
                Console.outLine(presenter.present(received.bytes))
            case .reply(let completes):
                if firstLine == nil { firstLine = received.bytes }
                if echo { Console.outLine(presenter.present(received.bytes)) }
                if let status = completes {
                    return Reply(status: status, firstLine: firstLine ?? received.bytes)
                }
            }
        }
    }

    /// Sends `AUTH <token>`. Prints nothing on success, so that one-shot output is only the
    /// answer to the command; on refusal, prints the server's `ERR` line on standard error.
    func authenticate(token: String) throws(ConnectionError) -> Reply {
        let reply = try exchange(Array("AUTH \(RequestLine.quote(token))".utf8), echo: false)
        if reply.status == .err { Console.errLine(presenter.present(reply.firstLine)) }
        return reply
    }

    /// The one-shot mode: one request, its reply, and the status that says how it went.
    ///
    /// `WATCH` is the exception: a watch that ends with its `OK` would be useless from the
    /// shell, so after `OK watching` the events are printed until the server closes (or
    /// the user presses Ctrl-C).
    func runOnce(_ line: String) throws(ConnectionError) -> ExitStatus {
        let reply = try exchange(Array(line.utf8))
        if reply.status == .ok && RequestLine.verb(of: Array(line.utf8)) == "WATCH" {
            while let received = try connection.nextLine() {
                Console.outLine(presenter.present(received.bytes))
            }
            throw .closedByServer(connection.endpoint)
        }
        return reply.status == .ok ? .ok : .errorReply
    }

    /// The batch mode: every non-blank line of standard input in turn. Stops after `QUIT`
    /// (the server closes then) or at the end of the input.
    func runBatch(input: LineReader) throws(ConnectionError) -> ExitStatus {
        var sawError = false
        while true {
            let line: [UInt8]?
            do {
                line = try input.readLine()
            } catch {
                Console.complain("cannot read standard input: \(errorText(error.rawValue))")
                return .connectionProblem
            }
            guard let line else { break }
            if RequestLine.isBlank(line) { continue }
            let reply = try exchange(line)
            if reply.status == .err { sawError = true }
            if RequestLine.verb(of: line) == "QUIT" { break }
        }
        return sawError ? .errorReply : .ok
    }
}
