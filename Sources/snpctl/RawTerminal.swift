import Dispatch

#if canImport(Glibc)
    import Glibc
#endif

/// The terminal in raw mode for as long as this object lives.
///
/// The line editor needs every key as it is pressed, without the terminal's own echo and
/// line editing, and Ctrl-C as a key (clear the line) rather than a signal. A terminal
/// left in that mode is unusable (no echo, no line editing) and the user does not know
/// why, so the original settings come back on every way out: `restore()` on a normal exit,
/// `deinit` when an error unwinds the session, and handlers for the signals that can still
/// arrive from outside (SIGTERM, SIGHUP; SIGINT and SIGQUIT are keys while raw).
///
/// Output post-processing is left on, so `\n` still moves to the start of the next line.
final class RawTerminal {
    private let descriptor: Int32
    private let original: termios
    private var restored = false
    private var signalSources: [any DispatchSourceSignal] = []
    private static let handledSignals = [SIGTERM, SIGHUP]

    /// `nil` if `descriptor` is not a terminal whose settings can be changed.
    init?(descriptor: Int32 = STDIN_FILENO) {
        var settings = termios()
        guard tcgetattr(descriptor, &settings) == 0 else { return nil }
        self.descriptor = descriptor
        self.original = settings

        settings.c_iflag &= ~tcflag_t(BRKINT | ICRNL | INPCK | ISTRIP | IXON)
        settings.c_cflag |= tcflag_t(CS8)
        settings.c_lflag &= ~tcflag_t(ECHO | ICANON | IEXTEN | ISIG)
        withUnsafeMutableBytes(of: &settings.c_cc) { characters in
            characters[Int(VMIN)] = 1
            characters[Int(VTIME)] = 0
        }
        guard tcsetattr(descriptor, TCSAFLUSH, &settings) == 0 else { return nil }

        let saved = original
        for signalNumber in Self.handledSignals {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                // Runs on a Dispatch thread while the main thread may be inside `poll(2)`; it only
                // touches its own copy of the settings, then ends the process without unwinding.
                var settings = saved
                tcsetattr(descriptor, TCSAFLUSH, &settings)
                let newline: [UInt8] = [UInt8(ascii: "\n")]
                _ = newline.withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, 1) }
                _exit(128 + signalNumber)
            }
            source.resume()
            signalSources.append(source)
        }
    }

    deinit {
        restore()
    }

    func restore() {
        guard !restored else { return }
        restored = true
        var settings = original
        tcsetattr(descriptor, TCSAFLUSH, &settings)
        for source in signalSources { source.cancel() }
        for signalNumber in Self.handledSignals { signal(signalNumber, SIG_DFL) }
    }

    /// The width of the terminal on standard output, read each time so that a resized
    /// window is taken into account at the next redraw.
    static func columns() -> Int {
        var size = winsize()
        if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 0 {
            return Int(size.ws_col)
        }
        return 80
    }
}
