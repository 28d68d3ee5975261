import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where snpd listens: TCP (the default, `127.0.0.1:7441`) or a Unix-domain socket.
enum Endpoint: CustomStringConvertible {
    case tcp(host: String, port: UInt16)
    case unix(path: String)

    /// How people write the address, used in every connection message so that a user with
    /// several servers sees at once which one failed.
    var description: String {
        switch self {
        case .tcp(let host, let port):
            host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unix(let path):
            path
        }
    }
}

/// A connection problem. All of them end snpctl with status 3, so that scripts can tell
/// "the server said no" (1) from "the server could not be reached or went away" (3).
enum ConnectionError: Error, CustomStringConvertible {
    case cannotConnect(Endpoint, reason: String)
    case closedByServer(Endpoint)
    case failed(Endpoint, reason: String)

    var description: String {
        switch self {
        case .cannotConnect(let endpoint, let reason):
            "cannot connect to \(endpoint): \(reason)"
        case .closedByServer(let endpoint):
            "connection to \(endpoint) closed by the server"
        case .failed(let endpoint, let reason):
            "connection to \(endpoint) failed: \(reason)"
        }
    }
}

/// One line received from the server, with the part it plays in the conversation.
struct ServerLine {
    /// The line without its `\n` (and without a `\r` before it), exactly as received.
    var bytes: [UInt8]
    var role: LineRole
}

/// A blocking socket to snpd that speaks in lines.
///
/// Plain POSIX sockets rather than SwiftNIO: a client that sends one line and waits for
/// the answer needs no event loop, and the interactive mode wants the raw descriptor to
/// `poll(2)` it together with the terminal. The reply framer lives here because framing is
/// a property of the byte stream: whoever reads the lines must see every one of them in
/// order, or the count of a multi-line reply would go wrong.
final class LineConnection {
    let endpoint: Endpoint
    /// The socket, for `poll(2)`.
    let descriptor: Int32
    private let reader: LineReader
    private var framer = ReplyFramer()

    /// How long to wait for a TCP handshake before calling the server unreachable: the
    /// kernel's default (minutes) is far too long for a person at a prompt.
    private static let connectTimeoutMilliseconds: Int32 = 10_000

    private init(endpoint: Endpoint, descriptor: Int32) {
        self.endpoint = endpoint
        self.descriptor = descriptor
        self.reader = LineReader(descriptor: descriptor)
    }

    deinit {
        close(descriptor)
    }

    static func open(_ endpoint: Endpoint) throws(ConnectionError) -> LineConnection {
        switch endpoint {
        case .tcp(let host, let port):
            return LineConnection(
                endpoint: endpoint, descriptor: try connectTCP(host: host, port: port, endpoint: endpoint))
        case .unix(let path):
            return LineConnection(endpoint: endpoint, descriptor: try connectUnix(path: path, endpoint: endpoint))
        }
    }

    /// Sends one request line; the `\n` is added here.
    func sendLine(_ line: [UInt8]) throws(ConnectionError) {
        // MSG_NOSIGNAL: a server that went away must give an error to report, not a SIGPIPE
        // that kills snpctl silently (and with the terminal still in raw mode).
        let failure = writeFully(line + [UInt8(ascii: "\n")]) {
            send(descriptor, $0.baseAddress, $0.count, noSignalFlag)
        }
        guard let failure else { return }
        if failure == EPIPE || failure == ECONNRESET { throw .closedByServer(endpoint) }
        throw .failed(endpoint, reason: errorText(failure))
    }

    /// The next line, waiting for it if needed; `nil` once the server has closed.
    func nextLine() throws(ConnectionError) -> ServerLine? {
        do {
            return try reader.readLine().map(classified)
        } catch {
            throw connectionError(error)
        }
    }

    /// A line already received, without waiting.
    func bufferedLine() -> ServerLine? {
        reader.nextBufferedLine().map(classified)
    }

    /// Reads what the socket has (one `read(2)`); `false` when the server has closed. For
    /// the interactive loop, which calls it only when `poll(2)` says there is something.
    func receive() throws(ConnectionError) -> Bool {
        do {
            return try reader.fill()
        } catch {
            throw connectionError(error)
        }
    }

    private func connectionError(_ error: SystemError) -> ConnectionError {
        error.rawValue == ECONNRESET ? .closedByServer(endpoint) : .failed(endpoint, reason: errorText(error.rawValue))
    }

    /// What is left of a line the server did not finish before closing.
    func takeRemainder() -> ServerLine? {
        reader.takeRemainder().map(classified)
    }

    private func classified(_ bytes: [UInt8]) -> ServerLine {
        ServerLine(bytes: bytes, role: framer.classify(bytes))
    }

    // MARK: - Connecting

    private static func connectTCP(host: String, port: UInt16, endpoint: Endpoint) throws(ConnectionError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw .cannotConnect(endpoint, reason: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(first) }

        // Try every address the name resolves to (IPv6 and IPv4 of `localhost`, say) and
        // report the last failure, as other command-line clients do.
        var lastError = ECONNREFUSED
        var current: UnsafeMutablePointer<addrinfo>? = first
        while let info = current {
            current = info.pointee.ai_next
            let descriptor = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
            if descriptor < 0 {
                lastError = errno
                continue
            }
            let result = connectWithTimeout(descriptor, info.pointee.ai_addr, info.pointee.ai_addrlen)
            if result == 0 {
                var one: Int32 = 1
                // Requests are single small lines and a person is waiting for each answer.
                setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                return descriptor
            }
            lastError = result
            close(descriptor)
        }
        throw .cannotConnect(endpoint, reason: errorText(lastError))
    }

    /// `connect(2)` bounded by `connectTimeoutMilliseconds`; returns 0 or an `errno` value.
    private static func connectWithTimeout(
        _ descriptor: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t
    ) -> Int32 {
        let flags = fcntl(descriptor, F_GETFL)
        _ = fcntl(descriptor, F_SETFL, flags | O_NONBLOCK)
        defer { _ = fcntl(descriptor, F_SETFL, flags) }

        if connect(descriptor, address, length) == 0 { return 0 }
        guard errno == EINPROGRESS else { return errno }
        var entry = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
        var ready: Int32
        repeat {
            ready = poll(&entry, 1, connectTimeoutMilliseconds)
        } while ready < 0 && errno == EINTR
        if ready == 0 { return ETIMEDOUT }
        if ready < 0 { return errno }
        var pending: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &pending, &size) != 0 { return errno }
        return pending
    }

    private static func connectUnix(path: String, endpoint: Endpoint) throws(ConnectionError) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard !pathBytes.isEmpty, pathBytes.count < capacity else {
            throw .cannotConnect(endpoint, reason: "socket path is empty or longer than \(capacity - 1) bytes")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: pathBytes)
            buffer[pathBytes.count] = 0
        }
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw .cannotConnect(endpoint, reason: errorText(errno)) }
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            let code = errno
            close(descriptor)
            throw .cannotConnect(endpoint, reason: errorText(code))
        }
        return descriptor
    }
}

/// An `errno` value as a thrown error, for the low-level reader.
struct SystemError: Error {
    var rawValue: Int32
}

/// Splits the bytes of a descriptor into lines, keeping what comes after the last `\n`
/// for the next read.
///
/// Lines stay bytes: the server's output must reach `--raw` users unchanged, and input
/// piped into snpctl must reach the server unchanged, even when it is not valid UTF-8.
final class LineReader {
    private let descriptor: Int32
    private var buffer: [UInt8] = []
    /// Where unconsumed data starts in `buffer`; compacting lazily keeps a burst of many
    /// small lines (a long list) linear instead of quadratic.
    private var start = 0
    /// Where the search for the next `\n` resumes, so that a long line arriving in many
    /// reads is not rescanned from its beginning each time.
    private var scanned = 0

    init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    /// One `read(2)`, retried on `EINTR`; `false` at end of file.
    func fill() throws(SystemError) -> Bool {
        if start > 0 && start >= buffer.count / 2 {
            buffer.removeFirst(start)
            scanned -= start
            start = 0
        }
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                buffer.append(contentsOf: chunk[0..<count])
                return true
            }
            if count == 0 { return false }
            if errno != EINTR { throw SystemError(rawValue: errno) }
        }
    }

    /// The next complete line in the buffer, without its terminator (`\n` or `\r\n`).
    func nextBufferedLine() -> [UInt8]? {
        guard let newline = buffer[scanned...].firstIndex(of: UInt8(ascii: "\n")) else {
            scanned = buffer.count
            return nil
        }
        var end = newline
        if end > start && buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        let line = Array(buffer[start..<end])
        start = newline + 1
        scanned = start
        return line
    }

    /// The unterminated tail, once the other side has closed.
    func takeRemainder() -> [UInt8]? {
        guard start < buffer.count else { return nil }
        var line = Array(buffer[start...])
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        start = buffer.count
        scanned = start
        return line
    }

    /// The next line, reading as needed; `nil` at end of file.
    func readLine() throws(SystemError) -> [UInt8]? {
        while true {
            if let line = nextBufferedLine() { return line }
            if try !fill() { return takeRemainder() }
        }
    }
}

/// MSG_NOSIGNAL where it exists (Linux); Darwin has no such flag.
#if canImport(Glibc)
    let noSignalFlag = Int32(MSG_NOSIGNAL)
#else
    let noSignalFlag: Int32 = 0
#endif

/// `strerror(3)` as a Swift string.
func errorText(_ code: Int32) -> String {
    String(cString: strerror(code))
}
