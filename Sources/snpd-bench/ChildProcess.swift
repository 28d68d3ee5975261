import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A program the benchmark starts: snpd, pgbench, redis-benchmark, psql.
///
/// Started with `posix_spawnp` and every signal unblocked and at its default action,
/// rather than with Foundation's `Process`: a child inherits the signal mask of the thread
/// that spawns it, and the runtime's threads block signals; pgbench then never gets the
/// SIGALRM that ends its `-T` run, and snpd would not see a SIGTERM.
struct ChildProcess {
    let pid: pid_t
    /// The read end of the child's standard output, when captured.
    private let output: Int32?

    /// Starts `program` (looked up on PATH) with `arguments`; standard error is shared,
    /// standard output captured (`captureOutput`) or sent to /dev/null.
    init(_ program: String, _ arguments: [String], environment: [String: String]? = nil, captureOutput: Bool) throws {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var fds: [Int32] = [-1, -1]
        if captureOutput {
            guard pipe(&fds) == 0 else { throw BenchError("pipe: \(String(cString: strerror(errno)))") }
            posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
            posix_spawn_file_actions_addclose(&actions, fds[0])
            posix_spawn_file_actions_addclose(&actions, fds[1])
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        }

        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        let env = (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + env).forEach { free($0) } }
        var child: pid_t = 0
        let status = posix_spawnp(&child, program, &actions, &attributes, argv, env)
        if captureOutput { close(fds[1]) }
        guard status == 0 else {
            if captureOutput { close(fds[0]) }
            throw BenchError("cannot start \(program): \(String(cString: strerror(status)))")
        }
        pid = child
        output = captureOutput ? fds[0] : nil
    }

    /// Runs a program to its end and returns its standard output; fails on a non-zero exit.
    static func output(of program: String, _ arguments: [String]) throws -> String {
        let child = try ChildProcess(program, arguments, captureOutput: true)
        let text = child.readOutput()
        let status = child.waitForExit()
        guard status == 0 else { throw BenchError("\(program) exited with status \(status)") }
        return text
    }

    /// Everything the child writes to standard output, until it closes it.
    func readOutput() -> String {
        guard let output else { return "" }
        let handle = FileHandle(fileDescriptor: output, closeOnDealloc: true)
        return String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
    }

    /// Waits for the child; its exit status, or 128 + the signal that ended it.
    @discardableResult
    func waitForExit() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        return ChildProcess.exitCode(status)
    }

    /// Whether the child still runs (without waiting); `false` once it has been reaped.
    func isRunning() -> Bool {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == 0
    }

    func signal(_ number: Int32) { kill(pid, number) }

    private static func exitCode(_ status: Int32) -> Int32 {
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }
}
