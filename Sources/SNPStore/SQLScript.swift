/// Splits a migration file into statements, since PostgreSQL's extended protocol (which
/// PostgresNIO speaks) runs one statement at a time. Knows enough SQL lexing not to split
/// inside quotes, comments or `$$` function bodies.
enum SQLScript {
    static func statements(_ sql: String) -> [String] {
        var out: [String] = []
        var current = ""
        let chars = Array(sql)
        var i = 0
        var dollarTag: String?
        var inQuote = false
        while i < chars.count {
            let c = chars[i]
            if let tag = dollarTag {
                if c == "$", String(chars[i..<min(chars.count, i + tag.count)]) == tag {
                    current += tag
                    i += tag.count
                    dollarTag = nil
                    continue
                }
            } else if inQuote {
                if c == "'" { inQuote = false }
            } else if c == "'" {
                inQuote = true
            } else if c == "-", i + 1 < chars.count, chars[i + 1] == "-" {
                while i < chars.count, chars[i] != "\n" { i += 1 }
                continue
            } else if c == "$" {
                var j = i + 1
                while j < chars.count, chars[j] == "_" || chars[j].isLetter || chars[j].isNumber { j += 1 }
                if j < chars.count, chars[j] == "$" {
                    let tag = String(chars[i...j])
                    dollarTag = tag
                    current += tag
                    i = j + 1
                    continue
                }
            } else if c == ";" {
                let s = current.trimmingCharacters(in: .whitespacesAndNewlines)
                if !s.isEmpty { out.append(s) }
                current = ""
                i += 1
                continue
            }
            current.append(c)
            i += 1
        }
        let s = current.trimmingCharacters(in: .whitespacesAndNewlines)
        if !s.isEmpty { out.append(s) }
        return out
    }
}

import Foundation
