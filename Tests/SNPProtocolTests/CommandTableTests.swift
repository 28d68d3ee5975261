import SNPCore
import SNPProtocol
import Testing

/// The command table: one row per command, from which argument checks and `HELP` derive.
@Suite struct CommandTableTests {
    @Test(arguments: [
        ("slot add start=a end=b", CommandName.slotAdd), ("Slot Add start=a end=b", .slotAdd), ("ping", .ping),
        ("hElLo", .hello), ("req get r1", .reqGet), ("REQ GET ref=case-1", .reqGet), ("pro off 10000000017", .proOff),
        ("WATCH", .watch), ("stats", .stats), ("slot find prof=gp lat=1 lon=2", .slotFind),
    ])
    func verbsAreCaseInsensitive(line: String, name: CommandName) throws {
        #expect(try resolve(line).0.name == name)
    }

    @Test(arguments: ["FROB", "SLOTADD start=a end=b", "REQUEST ADD", "P1NG"])
    func unknownVerbIsUnknownCommand(line: String) {
        let error = #expect(throws: SNPError.self) { try resolve(line) }
        #expect(error?.code == "UNKNOWN_COMMAND")
    }

    @Test(arguments: ["SLOT FROB", "SLOT", "REQ", "PRO start=a", "a=b PING"])
    func missingOrUnknownSubverbIsUnknownCommand(line: String) {
        let error = #expect(throws: SNPError.self) { try resolve(line) }
        #expect(error?.code == "UNKNOWN_COMMAND")
    }

    @Test(arguments: [
        "PING x=1", "SLOT ADD start=a end=b colour=red", "REQ ADD ref=x prof=gp lat=1 lon=2 patient=Dupont",
    ])
    func unknownKeyIsABadRequest(line: String) {
        let error = #expect(throws: SNPError.self) { try resolve(line) }
        #expect(error?.code == "BAD_REQUEST")
        #expect(error?.message.contains("unknown key") == true)
    }

    @Test(arguments: [
        "SLOT ADD start=a start=b end=c", "SLOT ADD start=a end=b START=c", "REQ CANCEL r1 reason=a reason=a",
    ])
    func duplicateKeyIsABadRequest(line: String) {
        let error = #expect(throws: SNPError.self) { try resolve(line) }
        #expect(error?.code == "BAD_REQUEST")
        #expect(error?.message.contains("twice") == true)
    }

    @Test(arguments: [
        ("REQ ADD ref=x prof=gp lat=1", "lon"), ("SLOT ADD start=a", "end"), ("REQ OUTCOME r1", "result"),
        ("PRO PUT id=1 prof=gp name=x lat=1", "lon"),
    ])
    func missingRequiredKeyIsABadRequest(line: String, key: String) {
        let error = #expect(throws: SNPError.self) { try resolve(line) }
        #expect(error?.code == "BAD_REQUEST")
        #expect(error?.message.contains("missing \(key)=") == true)
    }

    @Test(arguments: [
        "REQ CONFIRM", "REQ CONFIRM r1 r2", "AUTH", "AUTH a b", "PING now", "HELLO PING", "REQ GET r1 r2",
    ])
    func wrongNumberOfPositionalsIsABadRequest(line: String) {
        let error = #expect(throws: SNPError.self) { try resolve(line) }
        #expect(error?.code == "BAD_REQUEST")
        #expect(error?.message.contains("usage:") == true)
    }

    @Test func resolvedArgumentsKeepPositionalsAndKeys() throws {
        let (spec, args) = try resolve("req cancel r7 reason=\"patient better\"")
        #expect(spec.name == .reqCancel)
        #expect(args.positional == ["r7"])
        #expect(args.named == ["reason": "patient better"])
        #expect(args["reason"] == "patient better")
        let (get, byRef) = try resolve("REQ GET ref=case-1")
        #expect(get.name == .reqGet)
        #expect(byRef.positional.isEmpty)
        #expect(byRef["ref"] == "case-1")
    }

    @Test func everyCommandNameHasExactlyOneRow() {
        for name in CommandName.allCases {
            #expect(CommandTable.all.filter { $0.name == name }.count == 1, "\(name)")
            #expect(CommandTable.spec(name).name == name)
        }
        #expect(CommandTable.all.count == CommandName.allCases.count)
        #expect(Set(CommandTable.all.map(\.words)).count == CommandTable.all.count)
    }

    @Test func everyRowResolvesFromItsOwnWords() throws {
        for spec in CommandTable.all {
            let keys = spec.requiredKeys.map { "\($0)=x" }
            let positionals = spec.positionals.prefix(spec.requiredPositionals).map { _ in "p" }
            let line = ([spec.words.lowercased()] + positionals + keys).joined(separator: " ")
            #expect(try resolve(line).0.name == spec.name, "\(line)")
        }
    }

    @Test(arguments: [
        (CommandName.slotAdd, "SLOT ADD start=… end=… [pro=…] [mode=…] [capacity=…] [ref=…] [kind=…]"),
        (.planAdd, "PLAN ADD days=… from=… to=… [pro=…] [length=…] [mode=…] [capacity=…] [kind=…] [until=…]"),
        (.planDel, "PLAN DEL <id> [withdraw=…]"),
        (.auth, "AUTH <token>"), (.ping, "PING"), (.reqGet, "REQ GET [<id>] [ref=…] [owner=…]"),
        (.reqOutcome, "REQ OUTCOME <id> result=…"), (.reqCancel, "REQ CANCEL <id> [reason=…]"),
        (.reqAdd, "REQ ADD ref=… prof=… lat=… lon=… [prio=…] [mode=…] [within=…] [radius_km=…] [hold=…] [slot=…] [decide=…]"),
    ])
    func usageIsGeneratedFromTheRow(name: CommandName, usage: String) {
        #expect(CommandTable.spec(name).usage == usage)
    }

    @Test func everyUsageNamesEveryArgument() {
        for spec in CommandTable.all {
            #expect(spec.usage.hasPrefix(spec.words))
            for key in spec.requiredKeys { #expect(spec.usage.contains(" \(key)=…"), "\(spec.words) \(key)") }
            for key in spec.optionalKeys { #expect(spec.usage.contains("[\(key)=…]"), "\(spec.words) \(key)") }
            for p in spec.positionals { #expect(spec.usage.contains("<\(p)>"), "\(spec.words) \(p)") }
            #expect(spec.requiredPositionals <= spec.positionals.count)
            #expect(!spec.summary.isEmpty)
        }
    }

    @Test func sessionCommandsNeedNoRoleAndStateChangesAreMarked() {
        for name in [CommandName.hello, .auth, .ping, .help, .quit] {
            #expect(CommandTable.spec(name).roles == nil)
        }
        for name in CommandName.allCases where ![.hello, .auth, .ping, .help, .quit].contains(name) {
            #expect(CommandTable.spec(name).roles?.contains(.admin) == true, "\(name)")
        }
        let changing = Set(CommandTable.all.filter(\.changesState).map(\.name))
        #expect(
            changing == [
                .proPut, .proOff, .slotAdd, .slotDel, .reqAdd, .reqConfirm, .reqDecline, .reqCancel, .reqOutcome,
                .planAdd, .planDel,
            ])
        #expect(CommandTable.spec(.reqAdd).roles == [.admin, .regulator])
        #expect(CommandTable.spec(.stats).roles?.contains(.regulator) == false)
    }
}
