/// Shows a `plan …` line of `PLAN LIST` for a person:
///
///     plan p1 pro=10000000018  mon,wed 08:00–10:00 Paris time  30m slots, office, 1 place each
///         until none  published 9, skipped 2
///
/// The server's `from=`/`to=` are Europe/Paris times of day (SPEC §3.10), whatever the
/// reader's own time zone, so the line says so instead of leaving a bare `08:00` to be read
/// in local time. Any other line, and a plan line missing a field, is left as it is;
/// `--raw` never comes here.
enum PlanLines {
    static func present(_ line: String) -> String {
        guard line.hasPrefix("plan ") else { return line }
        var f: [String: String] = [:]
        for word in line.split(separator: " ").dropFirst() {
            guard let eq = word.firstIndex(of: "=") else { return line }
            f[String(word[..<eq])] = String(word[word.index(after: eq)...])
        }
        guard let id = f["id"], let pro = f["pro"], let days = f["days"], let from = f["from"], let to = f["to"],
            let mode = f["mode"], let capacity = f["capacity"], let kind = f["kind"], let published = f["published"],
            let skipped = f["skipped"]
        else { return line }
        let places = capacity == "1" ? "1 place" : "\(capacity) places"
        let what =
            kind == "extra"
            ? "extra capacity, \(mode), \(capacity) patient\(capacity == "1" ? "" : "s") a day"
            : "\(f["length"] ?? "?") slots, \(mode), \(places) each"
        let until = f["until"].map { $0 == "none" ? "no end" : "until \($0)" } ?? "no end"
        return "plan \(id) pro=\(pro)  \(days) \(from)–\(to) Paris time  \(what)  \(until)  published \(published), skipped \(skipped)"
    }
}
