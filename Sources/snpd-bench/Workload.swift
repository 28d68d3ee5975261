import Foundation
import SNPSimulation
import SNPCore

/// The commands the benchmark measures, one histogram each.
enum CommandKind: String, CaseIterable, Sendable, Comparable {
    case ping = "PING"
    case slotFind = "SLOT FIND"
    /// `REQ ADD` near a professional: books (or holds) at once.
    case reqAddMatch = "REQ ADD (match)"
    /// `REQ ADD` on the island: nothing is eligible, it queues.
    case reqAddQueue = "REQ ADD (queue)"
    case reqGet = "REQ GET"
    case slotAdd = "SLOT ADD"
    case reqConfirm = "REQ CONFIRM"
    case reqCancel = "REQ CANCEL"

    /// Replies of more than one line (`OK count=N` then N lines).
    var isList: Bool { self == .slotFind }

    static func < (a: Self, b: Self) -> Bool { allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)! }
}

/// One command to send, and what it is for.
struct BenchCommand {
    var kind: CommandKind
    var line: String
}

/// A workload: the share of each command kind, in percent.
struct Workload: Sendable {
    var name: String
    var shares: [(CommandKind, Int)]

    static let ping = Workload(name: "ping", shares: [(.ping, 100)])
    static let find = Workload(name: "find", shares: [(.slotFind, 100)])
    static let book = Workload(name: "book", shares: [(.reqAddMatch, 100)])
    /// A day at a SAS: searches and bookings, publications, a few holds confirmed and
    /// bookings cancelled, some requests that must wait.
    static let mix = Workload(
        name: "mix",
        shares: [
            (.reqAddMatch, 30), (.reqAddQueue, 5), (.slotFind, 25), (.reqGet, 15), (.slotAdd, 15),
            (.reqConfirm, 5), (.reqCancel, 5),
        ])
}

/// Generates one connection's commands and remembers what it needs for the next ones
/// (its held and booked requests, where it publishes next). Each connection has its own,
/// with its own seed: nothing is shared between connections.
struct CommandScript {
    let territory: Territory
    let workload: Workload
    let connection: Int
    let connections: Int
    /// Makes refs unique across runs against the same database.
    let runTag: String
    private var rng: SeededRandom
    private var counter = 0
    private var held: [String] = []
    private var booked: [String] = []
    private var recent: [String] = []
    /// Next place to publish: professional (among this connection's), period, place in the gap.
    private var publishCursor = 0

    init(territory: Territory, workload: Workload, connection: Int, connections: Int, runTag: String, seed: UInt64) {
        self.territory = territory
        self.workload = workload
        self.connection = connection
        self.connections = connections
        self.runTag = runTag
        rng = SeededRandom(seed: seed &+ UInt64(connection) &* 0x1000_0001)
    }

    mutating func next(now: Int64) -> BenchCommand {
        var kind = pickKind()
        // Commands that need an earlier result fall back to a booking until they have one.
        if kind == .reqConfirm && held.isEmpty || kind == .reqCancel && booked.isEmpty || kind == .reqGet && recent.isEmpty {
            kind = .reqAddMatch
        }
        counter += 1
        switch kind {
        case .ping: return BenchCommand(kind: kind, line: "PING")
        case .slotFind: return find()
        case .reqAddMatch: return requestNearPro()
        case .reqAddQueue: return requestOnIsland()
        case .reqGet: return BenchCommand(kind: kind, line: "REQ GET \(recent[rng.below(recent.count)])")
        case .slotAdd: return publish(now: now)
        case .reqConfirm: return BenchCommand(kind: kind, line: "REQ CONFIRM \(held.removeLast())")
        case .reqCancel: return BenchCommand(kind: kind, line: "REQ CANCEL \(booked.removeLast()) reason=bench")
        }
    }

    /// Remembers requests from a reply, for the commands that act on them later.
    mutating func observe(_ kind: CommandKind, reply: String) {
        guard kind == .reqAddMatch || kind == .reqAddQueue || kind == .reqConfirm, reply.hasPrefix("OK") else { return }
        guard let id = field("req", in: reply) else { return }
        remember(&recent, id, limit: 64)
        switch field("state", in: reply) {
        case "held": remember(&held, id, limit: 64)
        case "booked": remember(&booked, id, limit: 64)
        default: break
        }
    }

    private func remember(_ list: inout [String], _ id: String, limit: Int) {
        if list.count == limit { list.removeFirst() }
        list.append(id)
    }

    private func field(_ key: String, in line: String) -> String? {
        guard let range = line.range(of: " \(key)=") else { return nil }
        return String(line[range.upperBound...].prefix { $0 != " " })
    }

    private mutating func pickKind() -> CommandKind {
        var pick = rng.below(100)
        for (kind, share) in workload.shares {
            if pick < share { return kind }
            pick -= share
        }
        return workload.shares[0].0
    }

    /// A point within about 3 km of a random professional, and that professional.
    private mutating func nearPro() -> (Territory.Pro, Double, Double) {
        let pro = territory.pros[rng.below(territory.pros.count)]
        return (pro, pro.lat + rng.uniform(-0.025...0.025), pro.lon + rng.uniform(-0.035...0.035))
    }

    private mutating func find() -> BenchCommand {
        let (pro, lat, lon) = nearPro()
        return BenchCommand(
            kind: .slotFind, line: "SLOT FIND prof=\(pro.profession.rawValue) lat=\(fixed(lat)) lon=\(fixed(lon)) limit=10")
    }

    /// In the mix, one matching request in three asks for a hold (to be confirmed later).
    private mutating func requestNearPro() -> BenchCommand {
        let (pro, lat, lon) = nearPro()
        let prio = [1, 2, 2, 2, 3][rng.below(5)]
        let hold = workload.name == "mix" && rng.below(3) == 0 ? " hold=300" : ""
        return BenchCommand(
            kind: .reqAddMatch,
            line: "REQ ADD ref=\(ref()) prof=\(pro.profession.rawValue) lat=\(fixed(lat)) lon=\(fixed(lon)) prio=\(prio)\(hold)")
    }

    private mutating func requestOnIsland() -> BenchCommand {
        let profession = Territory.profession(&rng)
        let lat = rng.uniform(Territory.island.lat)
        let lon = rng.uniform(Territory.island.lon)
        return BenchCommand(
            kind: .reqAddQueue,
            line: "REQ ADD ref=\(ref()) prof=\(profession.rawValue) lat=\(fixed(lat)) lon=\(fixed(lon)) prio=2 within=24h")
    }

    /// A new slot in a gap between a professional's preloaded slots, between one hour and
    /// six days ahead. This connection publishes only for its own share of the
    /// professionals (index ≡ connection mod connections), so connections never collide.
    private mutating func publish(now: Int64) -> BenchCommand {
        let own = (territory.pros.count - connection + connections - 1) / connections
        let periods = territory.slotsPerPro
        let perPro = periods * Territory.gapPlaces
        for _ in 0..<max(1, own * perPro) {
            let i = publishCursor % max(1, own * perPro)
            publishCursor += 1
            let p = connection + connections * (i / perPro)
            let k = (i % perPro) / Territory.gapPlaces
            let j = i % Territory.gapPlaces
            guard p < territory.pros.count else { continue }
            let start = territory.start(pro: p, period: k, place: j)
            guard start > now + 3600, start < now + 6 * 86_400 else { continue }
            let pro = territory.pros[p]
            return BenchCommand(
                kind: .slotAdd,
                line: "SLOT ADD pro=\(pro.rpps) start=\(RFC3339.format(Date(epochSeconds: start))) end=\(RFC3339.format(Date(epochSeconds: start + Territory.slotSeconds))) mode=\(Territory.mode(period: k).rawValue)"
            )
        }
        // Every place of this connection's professionals is taken or out of reach: search instead.
        return find()
    }

    private func ref() -> String { "bench-\(runTag)-\(workload.name)-\(connection)-\(counter)" }

    /// `%.5f`, without `String(format:)`: on Linux it costs microseconds, which the server would lose.
    private func fixed(_ degrees: Double) -> String { FixedDecimal.format(degrees, decimals: 5) }
}
