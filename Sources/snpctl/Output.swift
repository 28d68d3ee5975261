#if canImport(Glibc)
    import Glibc
#endif

/// Turns a server line into what the user sees.
///
/// By default for people: times in local time, invalid UTF-8 replaced (U+FFFD) so that a
/// terminal never receives broken sequences. With `--raw`, for scripts: the server's bytes
/// exactly, so that what a script parses is what the server wrote.
struct LinePresenter: Sendable {
    var raw: Bool
    var rewriter: LocalTimeRewriter

    func present(_ line: [UInt8]) -> [UInt8] {
        if raw { return line }
        return Array(PlanLines.present(String(decoding: rewriter.rewrite(line), as: UTF8.self)).utf8)
    }
}

/// Unbuffered writes to standard output and standard error.
///
/// `write(2)` on the descriptors rather than `print`: the interactive mode interleaves
/// server lines and terminal control sequences and needs each piece on screen at once,
/// and C's `stdout` is a global that Swift 6 strict concurrency rightly refuses to touch.
enum Console {
    static func out(_ bytes: [UInt8]) {
        writeAll(STDOUT_FILENO, bytes)
    }

    static func out(_ text: String) {
        out(Array(text.utf8))
    }

    /// A line on standard output.
    static func outLine(_ bytes: [UInt8]) {
        out(bytes + [UInt8(ascii: "\n")])
    }

    /// `snpctl: message` on standard error.
    static func complain(_ message: String) {
        writeAll(STDERR_FILENO, Array("snpctl: \(message)\n".utf8))
    }

    /// A line on standard error as is (the server's `ERR` line for a refused `AUTH`).
    static func errLine(_ bytes: [UInt8]) {
        writeAll(STDERR_FILENO, bytes + [UInt8(ascii: "\n")])
    }

    /// A failure (the reader went away) drops the output: there is nobody left to tell.
    private static func writeAll(_ descriptor: Int32, _ bytes: [UInt8]) {
        _ = writeFully(bytes) { write(descriptor, $0.baseAddress, $0.count) }
    }
}

/// Passes all of `bytes` to `call` (a `write(2)` or `send(2)` of the bytes it is given),
/// again and again after short writes and interruptions. Returns the `errno` of a failure,
/// `nil` when everything was written.
func writeFully(_ bytes: [UInt8], with call: (UnsafeRawBufferPointer) -> Int) -> Int32? {
    var written = 0
    while written < bytes.count {
        let result = bytes.withUnsafeBytes { call(UnsafeRawBufferPointer(rebasing: $0[written...])) }
        if result < 0 {
            if errno == EINTR { continue }
            return errno
        }
        written += result
    }
    return nil
}
