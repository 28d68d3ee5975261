import SNPCore
import SNPProtocol

/// Parses a line written as a Swift string (its UTF-8 bytes, as they come off the socket).
func parse(_ line: String) throws(SNPError) -> ParsedLine? { try LineParser.parse(Array(line.utf8)) }

/// The words of a line, none for a blank one.
func words(_ line: String) throws(SNPError) -> [Word] { try parse(line)?.words ?? [] }

/// Parses and resolves a command line, as the server does before any handler runs.
func resolve(_ line: String) throws(SNPError) -> (CommandSpec, Arguments) {
    guard let parsed = try parse(line) else { throw .badRequest("blank line") }
    return try CommandTable.resolve(parsed)
}

/// Arguments as `CommandTable.resolve` would hand them over.
func arguments(_ named: [String: String] = [:], positional: [String] = []) -> Arguments {
    Arguments(positional: positional, named: named)
}

/// Values that a careless encoder or parser gets wrong.
let trickyValues: [String] = [
    "", " ", "  ", "plain", "Dr Hélène Le Goff", "Hélène", "Le\u{00A0}Goff", "e\u{0301}té", "急診", "🩺 tele",
    "\"", "\\", "\\\"", "\"\\", "say \"hi\"", "C:\\dossier\\", "trailing\\", "\\leading", "\"quoted\"", "a\tb", " lead",
    "trail ", "x=y", "=", "==", "k=\"v\"", "a b=c", "#1", "'single'", "a\\\\b", "\"\"", "%s %d", "ref-2026/11:42",
]
