import Foundation

/// The file formats of a report (§5): `json`, `csv`, `html`.
public enum ReportFormat: String, CaseIterable, Sendable {
    case json, csv, html

    public var fileExtension: String { rawValue }

    public func render(_ r: Report) throws -> String {
        switch self {
        case .json: try ReportJSON.render(r)
        case .csv: ReportCSV.render(r)
        case .html: ReportHTML.render(r)
        }
    }
}

enum ReportJSON {
    static func render(_ r: Report) throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try e.encode(r), as: UTF8.self) + "\n"
    }
}

/// CSV for a spreadsheet opened with French locale settings: `;` between fields and `,`
/// as the decimal mark (what French Excel and LibreOffice expect), UTF-8 with a byte-order
/// mark (so Excel reads accents right), CRLF line ends, one row per territory ×
/// profession with every indicator as a column.
enum ReportCSV {
    static func render(_ r: Report) -> String {
        var out = "\u{FEFF}"
        out += (["period_from", "period_to", "territory", "profession"] + Indicators.names).joined(separator: ";") + "\r\n"
        for s in r.scopes {
            var fields = [r.period_from, r.period_to, field(s.territory), field(s.profession)]
            for (name, v) in zip(Indicators.names, s.indicators.values) {
                fields.append(Indicators.integerNames.contains(name) ? String(Int(v)) : decimal(v))
            }
            out += fields.joined(separator: ";") + "\r\n"
        }
        return out
    }

    static func decimal(_ v: Double) -> String {
        String(format: "%.4f", v).replacingOccurrences(of: ".", with: ",")
    }

    static func field(_ s: String) -> String {
        s.contains(where: { $0 == ";" || $0 == "\"" || $0 == "\n" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }
}
