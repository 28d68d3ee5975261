import Foundation
import Histogram
import NIOCore
import NIOPosix

/// What one connection measured: a latency histogram (microseconds) per command kind,
/// and how the replies ended.
struct Tally: Sendable {
    var latencies: [CommandKind: Histogram<UInt64>] = [:]
    /// Replies by outcome: `booked`, `held`, `queued`, `OK`, or the `ERR` code.
    var outcomes: [CommandKind: [String: Int]] = [:]

    mutating func record(_ kind: CommandKind, micros: UInt64, outcome: String) {
        latencies[kind, default: Tally.histogram()].record(max(1, micros))
        outcomes[kind, default: [:]][outcome, default: 0] += 1
    }

    mutating func add(_ other: Tally) {
        for (kind, h) in other.latencies { latencies[kind, default: Tally.histogram()].add(h) }
        for (kind, counts) in other.outcomes {
            for (outcome, n) in counts { outcomes[kind, default: [:]][outcome, default: 0] += n }
        }
    }

    /// 1 µs to 60 s at three significant digits.
    static func histogram() -> Histogram<UInt64> {
        Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
    }
}

/// When a connection sends, and how long it keeps going.
struct Pacing: Sendable {
    /// After `AUTH`, every connection waits for this instant, so that they start together.
    var startAt: NIODeadline
    /// Replies before this are not counted (connections and caches warming up).
    var measureFrom: NIODeadline
    var endAt: NIODeadline
    /// `nil`: closed loop, the next command as soon as the reply is in. Otherwise one
    /// command every `interval`, and latency counts from when it was due, not when it was
    /// sent, so that a server that falls behind is not flattered (coordinated omission).
    var interval: TimeAmount?
    /// For paced connections: this connection's first command is due at `startAt + phase`.
    var phase: TimeAmount = .zero
}

/// One client connection of the benchmark, on the event loop: `AUTH`, then one command
/// at a time (no pipelining, like `redis-benchmark` without `-P`), each timed from send
/// (or due time) to the last line of its reply.
final class LoadConnection: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum State {
        case authenticating
        case waitingToStart
        case running(BenchCommand, since: NIODeadline, linesLeft: Int?)
        case idle
        case finished
    }

    private var script: CommandScript
    private let token: String?
    private let pacing: Pacing
    private let done: EventLoopPromise<Tally>
    private var state = State.authenticating
    private var tally = Tally()
    private var received: ByteBuffer?
    private var nextDue: NIODeadline

    init(script: CommandScript, token: String?, pacing: Pacing, done: EventLoopPromise<Tally>) {
        self.script = script
        self.token = token
        self.pacing = pacing
        self.done = done
        nextDue = pacing.startAt + pacing.phase
    }

    func channelActive(context: ChannelHandlerContext) {
        if let token {
            write("AUTH \(token)", context: context)
        } else {
            waitForStart(context: context)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if received == nil { received = bytes } else { received!.writeBuffer(&bytes) }
        while let view = received!.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
            let length = view - received!.readerIndex
            if case .running(let command, let since, let left?) = state {
                // An item of a list reply: counted, never read (the client's time is not the server's).
                received!.moveReaderIndex(forwardBy: length + 1)
                if left > 1 { state = .running(command, since: since, linesLeft: left - 1) } else { complete(command, since, context) }
                continue
            }
            let line = received!.readString(length: length)!
            received!.moveReaderIndex(forwardBy: 1)
            handle(line, context: context)
        }
        received!.discardReadBytes()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if case .finished = state { return }
        state = .finished
        done.fail(BenchError("connection closed by the server"))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if case .finished = state { return }
        state = .finished
        done.fail(error)
        context.close(promise: nil)
    }

    private func handle(_ line: String, context: ChannelHandlerContext) {
        switch state {
        case .authenticating:
            guard line.hasPrefix("OK") else {
                state = .finished
                done.fail(BenchError("AUTH refused: \(line)"))
                context.close(promise: nil)
                return
            }
            waitForStart(context: context)
        case .running(let command, let since, _):
            if command.kind.isList, line.hasPrefix("OK count="), let n = Int(line.dropFirst(9).prefix { $0 != " " }), n > 0 {
                state = .running(command, since: since, linesLeft: n)
            } else {
                script.observe(command.kind, reply: line)
                complete(command, since, context, outcome: LoadConnection.outcome(of: line))
            }
        case .waitingToStart, .idle, .finished:
            break
        }
    }


    private func complete(_ command: BenchCommand, _ since: NIODeadline, _ context: ChannelHandlerContext, outcome: String? = nil) {
        let now = NIODeadline.now()
        if since >= pacing.measureFrom && now <= pacing.endAt {
            let micros = UInt64(max(0, (now - since).nanoseconds / 1000))
            tally.record(command.kind, micros: micros, outcome: outcome ?? "OK")
        }
        state = .idle
        sendNext(context: context)
    }

    private func waitForStart(context: ChannelHandlerContext) {
        state = .waitingToStart
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(deadline: nextDue) { handler.value.sendNext(context: loopBound.value) }
    }

    private func sendNext(context: ChannelHandlerContext) {
        let now = NIODeadline.now()
        guard now < pacing.endAt else {
            state = .finished
            done.succeed(tally)
            context.close(promise: nil)
            return
        }
        guard let interval = pacing.interval else {
            send(at: now, context: context)
            return
        }
        let due = nextDue
        nextDue = due + interval
        if due <= now {
            send(at: due, context: context)
        } else {
            state = .idle
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(deadline: due) { handler.value.send(at: due, context: loopBound.value) }
        }
    }

    private func send(at due: NIODeadline, context: ChannelHandlerContext) {
        let command = script.next(now: Int64(Date.now.timeIntervalSince1970))
        state = .running(command, since: due, linesLeft: nil)
        write(command.line, context: context)
    }

    private func write(_ line: String, context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: line.utf8.count + 1)
        buffer.writeString(line)
        buffer.writeInteger(UInt8(ascii: "\n"))
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    /// `booked`, `held`, `queued` for requests, `OK` for other successes, else the `ERR` code.
    static func outcome(of line: String) -> String {
        if line.hasPrefix("ERR ") { return String(line.dropFirst(4).prefix { $0 != " " }) }
        for state in ["booked", "held", "queued"] where line.contains(" state=\(state)") { return state }
        return "OK"
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
