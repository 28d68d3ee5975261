import Foundation
import SNPCore
import SNPProtocol
import SNPStore

/// What a handler knows besides the engine.
struct CommandContext: Sendable {
    var principal: Principal
    var args: Arguments
    var now: Date
    var connections: Int
    var uptimeSeconds: Int
    /// Bookings not reported to the SAS feed (no operator identity); `nil`: the feed is off.
    var feedSkipped: Int? = nil
    /// The command's search, made outside the actor (`CommandHandlers.prepares`), if any.
    var prepared: PreparedMatch? = nil
    /// Where to count what became of `prepared`.
    var metrics: ServerMetrics? = nil
}

typealias CommandHandler = @Sendable (inout MatchingEngine, CommandContext) throws(SNPError) -> String
/// A command that only reads: it can run outside the service's actor (`MatchingService.read`).
typealias ReadHandler = @Sendable (MatchingEngine, CommandContext) throws(SNPError) -> String
/// The search of a change, made outside the service's actor (`MatchingService.prepare`);
/// `nil` when the command will not search, or its arguments are refused (the actor's run
/// of the command answers the error).
typealias PrepareHandler = @Sendable (MatchingEngine, CommandContext) -> PreparedMatch?

/// The handlers of the commands that touch the engine, one per row of `CommandTable`.
/// The table has already checked the arguments' names and the role; a handler reads the
/// values, checks the object-level rights (a pro's own slots, a regulator's own requests)
/// and calls the engine. Session commands (`AUTH`, `WATCH`…) live in `Session`.
enum CommandHandlers {
    /// The commands that only read the engine.
    static let reads: [CommandName: ReadHandler] = [
        .proGet: proGet, .proList: proList, .slotList: slotList, .slotFind: slotFind,
        .reqGet: reqGet, .reqList: reqList, .stats: stats, .planList: planList,
    ]

    /// The reads whose work and reply are bounded by constants, which may be answered on
    /// the event loop (`FastPath`): one record, the counters, and a search, which returns
    /// at most `limit` (at most 100) slots within `radius_km` (at most the policy's
    /// `maxRadiusKm`, 300 km). The lists may scan every record and return up to 100 000
    /// lines: they run in the connection's task, off the event loop.
    static let boundedReads: Set<CommandName> = [.proGet, .reqGet, .stats, .slotFind]

    /// The changes whose cost is a search, made under the engine's read lock in the
    /// connection's task before the actor applies the change (issue 18 target 3). The others
    /// search nothing worth moving: `SLOT ADD` and the releases walk the queue for one slot.
    static let prepares: [CommandName: PrepareHandler] = [.reqAdd: prepareReqAdd]

    /// Every command, as the service's actor runs them: the reads, and those that change state.
    static let table: [CommandName: CommandHandler] = [
        .proPut: proPut, .proOff: proOff, .slotAdd: slotAdd, .slotDel: slotDel,
        .reqAdd: reqAdd, .reqConfirm: reqConfirm, .reqDecline: reqDecline, .reqCancel: reqCancel,
        .reqOutcome: reqOutcome, .planAdd: planAdd, .planDel: planDel,
    ].merging(reads.mapValues(asCommand)) { change, _ in change }

    private static func asCommand(_ read: @escaping ReadHandler) -> CommandHandler {
        { (e: inout MatchingEngine, c: CommandContext) throws(SNPError) -> String in try read(e, c) }
    }

    // MARK: Rights on objects

    /// A `pro` token acts for its own RPPS only.
    static func checkOwnPro(_ rpps: RPPS, _ c: CommandContext) throws(SNPError) {
        if c.principal.role == .pro, c.principal.pro != rpps {
            throw .forbidden("this token acts for professional \(c.principal.pro?.value ?? "?"), not \(rpps)")
        }
    }

    /// Whether a principal may see a request: a regulator its own, a pro those on its slots.
    static func canSee(_ r: CareRequest, _ p: Principal) -> Bool {
        switch p.role {
        case .admin, .coordinator, .reporter: true
        case .regulator: r.owner == p.name
        case .pro: r.assignment?.pro == p.pro && p.pro != nil
        }
    }

    static func visibleRequest(_ id: RequestID, _ e: MatchingEngine, _ c: CommandContext) throws(SNPError) -> CareRequest {
        guard let r = e.request(id) else { throw .notFound("no request \(id)") }
        guard canSee(r, c.principal) else { throw .forbidden("request \(id) belongs to another regulator") }
        return r
    }

    /// Requests a regulator changes must be its own (an admin may change any).
    static func ownedRequest(_ c: CommandContext, _ e: MatchingEngine) throws(SNPError) -> RequestID {
        let id = try c.args.id(prefix: "r", what: "request")!
        let r = try visibleRequest(id, e, c)
        if c.principal.role == .regulator, r.owner != c.principal.name {
            throw .forbidden("request \(id) belongs to another regulator")
        }
        return id
    }

    // MARK: Professionals

    static func proPut(_ e: inout MatchingEngine, _ c: CommandContext) throws(SNPError) -> String {
        let a = c.args
        let draft = ProfessionalDraft(
            rpps: try RPPS(validating: a.requiredText("id")),
            profession: try a.choice("prof", Profession.self)!,
            name: try a.requiredText("name", maxLength: TextLimit.name),
            location: try a.location(),
            homeRadiusKm: try a.double("home_radius_km", in: 0.1...200),
            weeklyCap: try a.int("weekly_cap", in: 0...10_000),
            territory: try a.text("territory", maxLength: TextLimit.territory),
            contact: try contact(a))
        _ = try e.putProfessional(draft, now: c.now)
        return ReplyFormat.ok(Fields([("pro", draft.rpps.value)]))
    }

    /// The optional contact of `PRO PUT` (§3.6), each field checked as the schema does.
    static func contact(_ a: Arguments) throws(SNPError) -> PracticeContact {
        let postcode = try a.text("postcode", maxLength: 5)
        if let postcode, !PracticeContact.isPostcode(postcode) {
            throw .badRequest("postcode must be 5 digits, got \(postcode)")
        }
        let phone = try a.text("phone", maxLength: 12)
        if let phone, !PracticeContact.isPhone(phone) {
            throw .badRequest("phone must be +33 followed by 9 digits (e.g. +33297000000), got \(phone)")
        }
        let structure = try a.text("structure", maxLength: 21)
        if let structure, !PracticeContact.isStructure(structure) {
            throw .badRequest(
                "structure must be a prefixed IDNST identifier: 1 + FINESS (9), 3 + SIRET (14 digits) or 4 + RPPS-rang, got \(structure)")
        }
        return PracticeContact(
            address: try a.text("address", maxLength: 200), city: try a.text("city", maxLength: 100),
            postcode: postcode, phone: phone, given: try a.text("given", maxLength: 100),
            family: try a.text("family", maxLength: 100), structure: structure)
    }

    static func proGet(_ e: MatchingEngine, _ c: CommandContext) throws(SNPError) -> String {
        let rpps = try RPPS(validating: c.args.positional[0])
        try checkOwnPro(rpps, c)
        guard let p = e.professional(rpps) else { throw .notFound("no professional \(rpps)") }
        return ReplyFormat.ok(RecordFields.professional(p, policy: e.policy))
    }

    static func proList(_ e: MatchingEngine, _ c: CommandContext) throws(SNPError) -> String {
        let pros = e.listProfessionals(
            profession: try c.args.choice("prof", Profession.self), territory: try c.args.text("territory", maxLength: TextLimit.territory))
        return ReplyFormat.list(
            kind: "pro", pros.map { RecordFields.listItem(id: $0.rpps.value, kind: "pro", RecordFields.professional($0, policy: e.policy)) })
    }

    static func proOff(_ e: inout MatchingEngine, _ c: CommandContext) throws(SNPError) -> String {
        let rpps = try RPPS(validating: c.args.positional[0])
        let moved = try e.deactivateProfessional(rpps, now: c.now)
        return ReplyFormat.ok(Fields([("pro", rpps.value), ("active", "false"), ("requeued", String(moved.count))]))
    }

    // MARK: Slots

    static func slotAdd(_ e: inout MatchingEngine, _ c: CommandContext) throws(SNPError) -> String {
        let a = c.args
        guard let pro = try a.rpps("pro") ?? c.principal.pro else { throw .badRequest("missing pro=<rpps>") }
        try checkOwnPro(pro, c)
        let draft = SlotDraft(
            pro: pro, start: try a.requiredTime("start"), end: try a.requiredTime("end"),
            mode: try a.choice("mode", SlotMode.self) ?? .office,
            capacity: try a.int("capacity", in: 1...100) ?? 1,
            ref: try a.text("ref", maxLength: TextLimit.ref), kind: try a.choice("kind", SlotKind.self) ?? .regular)
        let (slot, booked) = try e.addSlot(draft, now: c.now)
        var f = Fields([("slot", slot.id.description)])
        if !booked.isEmpty { f.add("booked", booked.map(\.description).joined(separator: ",")) }
        return ReplyFormat.ok(f)
    }

    static func slotDel(_ e: inout MatchingEngine, _ c: CommandContext) throws(SNPError) -> String {
        let id = try c.args.id(prefix: "s", what: "slot")!
        guard let slot = e.slot(id) else { throw .notFound("no slot \(id)") }
        try checkOwnPro(slot.pro, c)
        let moved = try e.withdrawSlot(id, now: c.now)
        return ReplyFormat.ok(Fields([("slot", id.description), ("state", "withdrawn"), ("requeued", String(moved.count))]))
    }

    static func slotList(_ e: MatchingEngine, _ c: CommandContext) throws(SNPError) -> String {
        let a = c.args
        let pro = try a.rpps("pro") ?? (c.principal.role == .pro ? c.principal.pro : nil)
        if let pro { try checkOwnPro(pro, c) }
        let slots = e.listSlots(
            pro: pro, from: try a.time("from") ?? c.now, to: try a.time("to"),
            state: try a.choice("state", SlotListState.self) ?? .all, limit: try a.int("limit", in: 1...100_000) ?? 1_000)
        return ReplyFormat.list(kind: "slot", slots.map { RecordFields.slot($0, taken: e.taken($0.id.number)) })
    }

    static func slotFind(_ e: MatchingEngine, _ c: CommandContext) throws(SNPError) -> String {
        let a = c.args
        let within = try withinSeconds(a, e.policy)
        let need = MatchNeed(
            profession: try a.choice("prof", Profession.self)!, modes: try a.modes("mode") ?? .inPerson,
            location: try a.location(), radiusKm: try a.double("radius_km", in: 0.1...e.policy.maxRadiusKm),
            priority: try a.int("prio", in: 1...3) ?? 2,
            deadline: c.now.addingTimeInterval(TimeInterval(within)))
        let found = e.matchCandidates(for: need, now: c.now, limit: try a.int("limit", in: 1...100) ?? 10)
        return ReplyFormat.list(
            kind: "slot",
            found.map { cand in
                var f = RecordFields.slot(cand.slot, taken: e.taken(cand.slot.id.number))
                f.add("dist_km", number: cand.distanceKm)
                f.add("cost", number: cand.cost, decimals: 3)
                return f
            })
    }

    // MARK: Plans

    static func planAdd(_ e: inout MatchingEngine, _ c: CommandContext) throws(SNPError) -> String {
        let a = c.args
        guard let pro = try a.rpps("pro") ?? c.principal.pro else { throw .badRequest("missing pro=<rpps>") }
        try checkOwnPro(pro, c)
        let daysText = try a.requiredText("days", maxLength: 100)
        guard let days = Weekdays(parsing: daysText) else {
            throw .badRequest("days must be a comma-separated list of mon,tue,wed,thu,fri,sat,sun; got \"\(daysText.prefix(40))\"")
        }
        let from = try clockTime(a, "from")
        let to = try clockTime(a, "to", endOfDay: true)
        var until: Int?
        if let text = try a.text("until", maxLength: 10) {
            guard let day = ParisTime.dayNumber(parsing: text) else {
                throw .badRequest("until must be a date YYYY-MM-DD, got \"\(text.prefix(40))\"")
            }
            until = day
        }
        let draft = PlanDraft(
            pro: pro, days: days, from: from, to: to, lengthSeconds: try a.seconds("length"),
            mode: try a.choice("mode", SlotMode.self) ?? .office, capacity: try a.int("capacity", in: 1...100) ?? 1,
            kind: try a.choice("kind", SlotKind.self) ?? .regular, until: until)
        let outcome = try e.addPlan(draft, now: c.now)
        return ReplyFormat.ok(
            Fields([
                ("plan", outcome.plan.id.description), ("published", String(outcome.published)),
                ("skipped", String(outcome.skipped)),
            ]))
    }

    /// A Paris time of day, `HH:MM`.
    static func clockTime(_ a: Arguments, _ key: String, endOfDay: Bool = false) throws(SNPError) -> Int {
        let text = try a.requiredText(key, maxLength: 5)
        guard let minutes = Plan.minutes(parsing: text, endOfDay: endOfDay) else {
            throw .badRequest("\(key) must be a time of day HH:MM (Europe/Paris), got \"\(text.prefix(40))\"")
        }
        return minutes
    }

    static func planList(_ e: MatchingEngine, _ c: CommandContext) throws(SNPError) -> String {
        let pro = try c.args.rpps("pro") ?? (c.principal.role == .pro ? c.principal.pro : nil)
        if let pro { try checkOwnPro(pro, c) }
        return ReplyFormat.list(kind: "plan", e.listPlans(pro: pro).map(RecordFields.plan))
    }

    static func planDel(_ e: inout MatchingEngine, _ c: CommandContext) throws(SNPError) -> String {
        let id = try c.args.id(prefix: "p", what: "plan")!
        let withdraw = try c.args.int("withdraw", in: 0...1) ?? 0
        guard let plan = e.plan(id) else { throw .notFound("no plan \(id)") }
        try checkOwnPro(plan.pro, c)
        let (_, withdrawn) = try e.deletePlan(id, withdraw: withdraw == 1, now: c.now)
        return ReplyFormat.ok(Fields([("plan", id.description), ("state", "stopped"), ("withdrawn", String(withdrawn.count))]))
    }

    static func withinSeconds(_ a: Arguments, _ policy: MatchingPolicy) throws(SNPError) -> Int {
        guard let within = try a.seconds("within") else { return policy.windowSeconds }
        guard within > 0, within <= policy.windowSeconds else {
            throw .badRequest("within must be more than 0 and at most \(DurationText.format(seconds: policy.windowSeconds))")
        }
        return within
    }

    // MARK: Requests

    static func reqAdd(_ e: inout MatchingEngine, _ c: CommandContext) throws(SNPError) -> String {
        let spec = try requestSpec(c.args, e.policy)
        let outcome = try e.addRequest(spec, owner: c.principal.name, now: c.now, prepared: c.prepared)
        if outcome.prepared != .none { c.metrics?.preparedSearch(applied: outcome.prepared == .applied) }
        return ReplyFormat.ok(RecordFields.outcome(outcome.request, rank: outcome.rank))
    }

    static func prepareReqAdd(_ e: MatchingEngine, _ c: CommandContext) -> PreparedMatch? {
        guard let spec = try? requestSpec(c.args, e.policy) else { return nil }
        return e.prepareMatch(spec, owner: c.principal.name, now: c.now)
    }

    /// What `REQ ADD` asks, from its arguments.
    static func requestSpec(_ a: Arguments, _ policy: MatchingPolicy) throws(SNPError) -> RequestSpec {
        var hold: Int?
        if let h = try a.seconds("hold") {
            guard h > 0, h <= policy.maxHoldSeconds else {
                throw .badRequest("hold must be between 1 and \(policy.maxHoldSeconds) seconds")
            }
            hold = h
        }
        return RequestSpec(
            ref: try a.requiredText("ref", maxLength: TextLimit.ref), profession: try a.choice("prof", Profession.self)!,
            priority: try a.int("prio", in: 1...3) ?? 2, modes: try a.modes("mode") ?? .inPerson,
            location: try a.location(), withinSeconds: try withinSeconds(a, policy),
            radiusKm: try a.double("radius_km", in: 0.1...policy.maxRadiusKm), holdSeconds: hold,
            slot: try a.id("slot", prefix: "s", what: "slot"), decideSeconds: try a.seconds("decide"))
    }

    static func reqConfirm(_ e: inout MatchingEngine, _ c: CommandContext) throws(SNPError) -> String {
        let outcome = try e.confirm(try ownedRequest(c, e), now: c.now)
        return ReplyFormat.ok(RecordFields.outcome(outcome.request, rank: outcome.rank))
    }

    static func reqDecline(_ e: inout MatchingEngine, _ c: CommandContext) throws(SNPError) -> String {
        let outcome = try e.decline(try ownedRequest(c, e), now: c.now)
        return ReplyFormat.ok(RecordFields.outcome(outcome.request, rank: outcome.rank))
    }

    static func reqCancel(_ e: inout MatchingEngine, _ c: CommandContext) throws(SNPError) -> String {
        let r = try e.cancel(try ownedRequest(c, e), reason: try c.args.text("reason", maxLength: TextLimit.reason), now: c.now)
        return ReplyFormat.ok(RecordFields.outcome(r, rank: nil))
    }

    static func reqOutcome(_ e: inout MatchingEngine, _ c: CommandContext) throws(SNPError) -> String {
        let result = try c.args.choice("result", VisitOutcome.self)!
        let r = try e.recordOutcome(try ownedRequest(c, e), result, now: c.now)
        return ReplyFormat.ok(RecordFields.outcome(r, rank: nil))
    }

    static func reqGet(_ e: MatchingEngine, _ c: CommandContext) throws(SNPError) -> String {
        let r: CareRequest
        switch (c.args.positional.first, try c.args.text("ref", maxLength: TextLimit.ref)) {
        case (.some, nil):
            r = try visibleRequest(try c.args.id(prefix: "r", what: "request")!, e, c)
        case (nil, .some(let ref)):
            r = try requestByRef(ref, owner: try c.args.text("owner", maxLength: TextLimit.ref), e, c)
        default:
            throw .badRequest("give a request id or ref=…, not both")
        }
        var fields = RecordFields.request(r, rank: e.rank(of: r))
        // The identifier's value of its SAS appointment (SPEC §8), while it has one.
        fields.add("appointment", r.appointmentKey)
        return ReplyFormat.ok(fields)
    }

    /// `REQ GET ref=`: a `ref` belongs to the token that created it (§3.8). A regulator finds
    /// only its own: another's is `NOT_FOUND`, as if it did not exist. The other roles find
    /// the requests with that `ref` they may see (a pro: those on its slots); when several
    /// regulators used it, `owner=<token name>` says which, else `BAD_REQUEST` names them.
    static func requestByRef(_ ref: String, owner: String?, _ e: MatchingEngine, _ c: CommandContext) throws(SNPError)
        -> CareRequest
    {
        let p = c.principal
        if p.role == .regulator {
            guard owner == nil || owner == p.name, let r = e.request(ref: ref, owner: p.name) else {
                throw .notFound("no request with ref \(ref)")
            }
            return r
        }
        let found: [CareRequest]
        if let owner {
            found = e.request(ref: ref, owner: owner).map { [$0] } ?? []
        } else {
            found = e.requests(ref: ref)
        }
        let visible = found.filter { canSee($0, p) }
        guard let first = visible.first else { throw .notFound("no request with ref \(ref)") }
        guard visible.count == 1 else {
            let owners = visible.map(\.owner).joined(separator: ", ")
            throw .badRequest("ref \(ref) names requests of several regulators (\(owners)); add owner=<token name>")
        }
        return first
    }

    static func reqList(_ e: MatchingEngine, _ c: CommandContext) throws(SNPError) -> String {
        let principal = c.principal
        let list = e.listRequests(
            state: try c.args.choice("state", RequestState.self), since: try c.args.time("since"),
            before: try c.args.id("before", prefix: "r", what: "request"),
            limit: try c.args.int("limit", in: 1...100_000) ?? 1_000
        ) { canSee($0, principal) }
        return ReplyFormat.list(
            kind: "req", list.map { RecordFields.listItem(id: $0.id.description, kind: "req", RecordFields.request($0, rank: e.rank(of: $0))) })
    }

    static func stats(_ e: MatchingEngine, _ c: CommandContext) throws(SNPError) -> String {
        let s = e.stats(now: c.now)
        return ReplyFormat.ok(
            Fields([
                ("open_slots", String(s.openSlots)), ("queued", String(s.queued)), ("pending", String(s.pending)),
                ("held", String(s.held)),
                ("booked_today", String(s.bookedToday)), ("connections", String(c.connections)),
                ("uptime_s", String(c.uptimeSeconds)),
            ] + (c.feedSkipped.map { [("feed_skipped", String($0))] } ?? [])))
    }
}
