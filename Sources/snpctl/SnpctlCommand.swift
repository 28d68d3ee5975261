import ArgumentParser
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `snpctl`: the client of the snpd line protocol for people (SAS regulators, CPTS
/// coordinators, operators) and for their shell scripts.
///
/// One program, three modes, chosen from what is at hand rather than by a flag: words on
/// the command line are one request (a shell one-liner), lines on a piped standard input
/// are a batch (a script), and a terminal gets a prompt. The exit status is meant for
/// scripts: 0 when every reply was `OK`, 1 when one was `ERR`, 2 when the token was
/// refused, 3 when the server could not be reached or went away.
@main
struct SnpctlCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snpctl",
        abstract: "Talk to snpd, the SNP matching service, over its line protocol.",
        discussion: """
            With COMMAND words, sends them as one request, prints the reply and exits. A word \
            with spaces is quoted for the server (name="Dr A B" reaches it as one value). After \
            a successful WATCH, events are printed until the server closes or Ctrl-C.

            Without words, reads requests from standard input one per line when it is not a \
            terminal, and opens an interactive prompt when it is (arrows, Home/End, Ctrl-A/E, \
            history in ~/.snpctl_history; Ctrl-C clears the line, Ctrl-D or `exit` leaves).

            Times the server sends in UTC are shown in the local time zone (TZ), with their \
            offset; --raw prints the server's lines unchanged.

            Exit status: 0 all replies OK, 1 a reply was ERR, 2 the token was refused, \
            3 connection failed or closed.

            Environment: SNPD_HOST, SNPD_PORT and SNPD_TOKEN give defaults for --host, --port \
            and --token.
            """
    )

    @Option(help: "Server host name or address (default: $SNPD_HOST, else 127.0.0.1).")
    var host: String?

    @Option(help: "Server TCP port (default: $SNPD_PORT, else 7441).")
    var port: Int?

    @Option(
        name: .customLong("unix"),
        help: ArgumentHelp("Connect to this Unix-domain socket instead of TCP.", valueName: "path"))
    var unixPath: String?

    @Option(help: "Authenticate with this token first (default: $SNPD_TOKEN).")
    var token: String?

    @Flag(help: "Print the server's lines unchanged (times stay in UTC). For scripts.")
    var raw = false

    /// The default strategy, so that options may come anywhere and `--help` still works;
    /// a word that starts with a dash goes after `--`.
    @Argument(
        help: ArgumentHelp(
            "A request to send, e.g. REQ GET R1. Put words that start with - after --.", valueName: "command words")
    )
    var words: [String] = []

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        let endpoint = try resolveEndpoint(environment)
        let token = token ?? environment["SNPD_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        let request: String?
        do {
            request = words.isEmpty ? nil : try RequestLine.join(words)
        } catch {
            throw ValidationError(error.description)
        }
        let presenter = LinePresenter(raw: raw, rewriter: LocalTimeRewriter(timeZone: .current))
        let status = converse(endpoint: endpoint, token: token, request: request, presenter: presenter)
        if status != .ok { throw ExitCode(status.rawValue) }
    }

    /// Connects, authenticates, and runs the mode; every connection error ends here, as a
    /// message and status 3.
    private func converse(endpoint: Endpoint, token: String?, request: String?, presenter: LinePresenter)
        -> ExitStatus
    {
        do throws(ConnectionError) {
            let connection = try LineConnection.open(endpoint)
            let conversation = Conversation(connection: connection, presenter: presenter)
            let interactive = request == nil && isatty(STDIN_FILENO) == 1
            if let token {
                let reply = try conversation.authenticate(token: token)
                guard reply.status == .ok else { return .authenticationFailed }
                if interactive { Console.outLine(presenter.present(reply.firstLine)) }
            }
            if let request {
                return try conversation.runOnce(request)
            }
            if interactive, let terminal = RawTerminal() {
                defer { terminal.restore() }
                // A closed pipe on standard output must not kill snpctl before the terminal
                // is restored; the write then just fails.
                signal(SIGPIPE, SIG_IGN)
                Console.complain("connected to \(endpoint); HELP lists the commands, Ctrl-D or exit leaves")
                let session = InteractiveSession(
                    connection: connection, presenter: presenter, history: History(file: History.defaultFile))
                return try session.run()
            }
            return try conversation.runBatch(input: LineReader(descriptor: STDIN_FILENO))
        } catch {
            Console.complain(error.description)
            return .connectionProblem
        }
    }

    /// The server address from the options, else the environment, else the defaults.
    private func resolveEndpoint(_ environment: [String: String]) throws -> Endpoint {
        if let unixPath { return .unix(path: unixPath) }
        // SNPD_LISTEN, the daemon's own setting, is the last fallback: the same
        // environment then serves the daemon and its client.
        var listenHost: String?
        var listenPort: String?
        if let listen = environment["SNPD_LISTEN"], let colon = listen.lastIndex(of: ":") {
            let h = listen[..<colon].trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            listenHost = h.isEmpty || h == "0.0.0.0" ? "127.0.0.1" : h == "::" ? "::1" : h
            listenPort = String(listen[listen.index(after: colon)...])
        }
        let host = host ?? environment["SNPD_HOST"].flatMap { $0.isEmpty ? nil : $0 } ?? listenHost ?? "127.0.0.1"
        let port: Int
        if let option = self.port {
            port = option
        } else if let text = environment["SNPD_PORT"] ?? listenPort, !text.isEmpty {
            guard let value = Int(text) else {
                throw ValidationError("SNPD_PORT must be a port number, not \"\(text)\".")
            }
            port = value
        } else {
            port = 7441
        }
        guard (1...65_535).contains(port) else {
            throw ValidationError("The port must be between 1 and 65535, not \(port).")
        }
        return .tcp(host: host, port: UInt16(port))
    }
}
