import Foundation

/// One self-contained page (no network fetch: inline CSS and SVG) that a CPTS coordinator
/// reads at a glance: the headline figures, the 48-hour rate over 30 days against the
/// target, requests vs booked per profession, the delay distribution, and SAS bookings per
/// professional and week with the weekly cap marked. In French: it is read by French teams.
enum ReportHTML {
    static func render(_ r: Report) -> String {
        let t = r.total
        let period = r.period_from == r.period_to ? frDate(r.period_from) : "du \(frDate(r.period_from)) au \(frDate(r.period_to))"
        let scope = r.territory == Report.all ? "tous territoires" : r.territory
        var h = """
            <!doctype html>
            <html lang="fr"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>SNP — indicateurs ACI — \(esc(period))</title>
            <style>
            body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f4f6f8;color:#1d2733}
            header{background:#12436b;color:#fff;padding:18px 28px}
            header h1{margin:0;font-size:22px} header p{margin:4px 0 0;opacity:.85}
            main{padding:20px 28px;max-width:1180px}
            .cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(160px,1fr));gap:12px;margin-bottom:18px}
            .card{background:#fff;border-radius:8px;padding:12px 14px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
            .card .v{font-size:26px;font-weight:600} .card .l{font-size:12px;color:#5b6b7b}
            .card.head{border-left:5px solid #12436b}
            .ok{color:#1a7f37} .ko{color:#b42318}
            section{background:#fff;border-radius:8px;padding:14px 18px;margin-bottom:18px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
            h2{font-size:16px;margin:0 0 10px}
            .grid2{display:grid;grid-template-columns:1fr 1fr;gap:18px}
            table{border-collapse:collapse;width:100%;font-size:13px}
            th,td{padding:5px 8px;border-bottom:1px solid #e3e8ee;text-align:right}
            th:first-child,td:first-child,th:nth-child(2),td:nth-child(2){text-align:left}
            tr.over td{background:#fde8e7} .muted{color:#5b6b7b;font-size:12px}
            svg text{font-size:11px;fill:#3b4a59}
            </style></head><body>
            <header><h1>Soins non programmés — indicateurs ACI</h1>
            <p>\(esc(period)) · \(esc(scope)) · heure de Paris · généré le \(esc(r.generated_at)) · snpd \(esc(r.version))</p></header>
            <main>
            <div class="cards">
            <div class="card head"><div class="v \(t.rate_48h >= r.target_rate_48h ? "ok" : "ko")">\(pct(t.rate_48h))</div><div class="l">demandes pourvues en 48 h (rate_48h) — objectif \(pct(r.target_rate_48h))</div></div>
            \(card(String(t.requests), "demandes reçues"))
            \(card(String(t.booked), "rendez-vous pris"))
            \(card(pct(t.match_rate), "taux de prise en charge"))
            \(card(String(t.expired), "demandes expirées"))
            \(card(String(t.cancelled_by_regulator), "annulées avant rendez-vous"))
            \(card(hours(t.delay_h_median), "délai médian jusqu'au rendez-vous"))
            \(card(km(t.distance_km_median), "distance médiane (présentiel)"))
            \(card(pct(t.slot_utilisation), "créneaux utilisés"))
            \(card(pct(t.noshow_rate), "rendez-vous non honorés"))
            </div>
            <section><h2>Taux à 48 h, jour par jour (30 derniers jours calculés)</h2>
            \(trendChart(r.history, target: r.target_rate_48h))
            </section>
            <div class="grid2">
            <section><h2>Demandes et rendez-vous par profession</h2>
            \(professionChart(r.scopes.filter { $0.territory == r.territory && $0.profession != Report.all }))
            </section>
            <section><h2>Délai entre la demande et le rendez-vous</h2>
            \(delayChart(r.delay_distribution))
            </section>
            </div>
            <section><h2>Par territoire et profession</h2>
            \(scopeTable(r.scopes))
            </section>
            <section><h2>Rendez-vous SAS par professionnel et par semaine (plafond : \(r.weekly_cap) par semaine)</h2>
            \(weekTable(r.sas_week_counts, cap: r.weekly_cap))
            </section>
            <p class="muted">Définitions : demandes créées sur la période ; rate_48h = rendez-vous commençant au plus 48 h après la demande ÷ (demandes − annulées avant tout rendez-vous). Une demande appartient au territoire du professionnel le plus proche. Sources : base snpd, calcul reproductible par <code>snpd report</code>.</p>
            </main></body></html>

            """
        h = h.replacingOccurrences(of: "\n\n", with: "\n")
        return h
    }

    // MARK: Charts (inline SVG)

    static func trendChart(_ days: [DayRate], target: Double) -> String {
        let w = 1080.0, hgt = 220.0, left = 44.0, bottom = 26.0, top = 10.0
        let plotW = w - left - 10, plotH = hgt - bottom - top
        func y(_ v: Double) -> Double { top + plotH * (1 - min(1, max(0, v))) }
        var s = "<svg viewBox=\"0 0 \(Int(w)) \(Int(hgt))\" width=\"100%\" role=\"img\" aria-label=\"taux à 48 heures par jour\">"
        for g in stride(from: 0.0, through: 1.0, by: 0.25) {
            s += "<line x1=\"\(left)\" x2=\"\(w - 10)\" y1=\"\(y(g))\" y2=\"\(y(g))\" stroke=\"#e3e8ee\"/>"
            s += "<text x=\"\(left - 6)\" y=\"\(y(g) + 4)\" text-anchor=\"end\">\(Int(g * 100)) %</text>"
        }
        s += "<line x1=\"\(left)\" x2=\"\(w - 10)\" y1=\"\(y(target))\" y2=\"\(y(target))\" stroke=\"#b42318\" stroke-dasharray=\"6 4\"/>"
        s += "<text x=\"\(w - 12)\" y=\"\(y(target) - 4)\" text-anchor=\"end\" style=\"fill:#b42318\">objectif \(pct(target))</text>"
        if days.isEmpty {
            s += "<text x=\"\(w / 2)\" y=\"\(hgt / 2)\" text-anchor=\"middle\">aucune donnée enregistrée sur la période</text>"
        } else {
            let step = days.count > 1 ? plotW / Double(days.count - 1) : 0
            let xs = days.indices.map { i in left + (days.count > 1 ? Double(i) * step : plotW / 2) }
            // One line per run of days with requests: a day without any is a gap, not 0 %.
            var run: [String] = []
            func endRun() {
                if run.count > 1 {
                    s += "<polyline fill=\"none\" stroke=\"#12436b\" stroke-width=\"2\" points=\"\(run.joined(separator: " "))\"/>"
                }
                run = []
            }
            for (i, d) in days.enumerated() {
                guard let rate = d.rate_48h else {
                    endRun()
                    continue
                }
                run.append("\(f1(xs[i])),\(f1(y(rate)))")
                s += "<circle cx=\"\(f1(xs[i]))\" cy=\"\(f1(y(rate)))\" r=\"3\" fill=\"#12436b\"><title>\(esc(d.day)) : \(pct(rate)) (\(d.requests) demandes)</title></circle>"
            }
            endRun()
            for (i, d) in days.enumerated() where days.count <= 10 || i % max(1, days.count / 10) == 0 || i == days.count - 1 {
                let anchor = i == days.count - 1 && days.count > 1 ? "end" : i == 0 && days.count > 1 ? "start" : "middle"
                s += "<text x=\"\(f1(xs[i]))\" y=\"\(hgt - 8)\" text-anchor=\"\(anchor)\">\(esc(String(d.day.suffix(5))))</text>"
            }
            if days.contains(where: { $0.rate_48h == nil }) {
                s += "<text x=\"\(w - 12)\" y=\"\(top + 10)\" text-anchor=\"end\">un jour sans demande n’a pas de taux : la ligne s’interrompt</text>"
            }
        }
        return s + "</svg>"
    }

    static func professionChart(_ scopes: [ScopeFigures]) -> String {
        let w = 520.0, hgt = 230.0, left = 36.0, bottom = 40.0, top = 14.0
        let plotH = hgt - bottom - top
        let maxV = Double(max(1, scopes.map { $0.indicators.requests }.max() ?? 1))
        var s = "<svg viewBox=\"0 0 \(Int(w)) \(Int(hgt))\" width=\"100%\" role=\"img\" aria-label=\"demandes et rendez-vous par profession\">"
        s += "<line x1=\"\(left)\" x2=\"\(w - 6)\" y1=\"\(top + plotH)\" y2=\"\(top + plotH)\" stroke=\"#9aa8b5\"/>"
        if scopes.isEmpty {
            s += "<text x=\"\(w / 2)\" y=\"\(hgt / 2)\" text-anchor=\"middle\">aucune demande sur la période</text>"
        }
        let groupW = (w - left - 6) / Double(max(1, scopes.count))
        for (i, sc) in scopes.enumerated() {
            let x0 = left + Double(i) * groupW + groupW * 0.15
            let bw = groupW * 0.32
            for (j, (v, color, label)) in [(sc.indicators.requests, "#9db8d3", "demandes"), (sc.indicators.booked, "#12436b", "rendez-vous")].enumerated() {
                let bh = plotH * Double(v) / maxV
                let x = x0 + Double(j) * (bw + 4)
                s += "<rect x=\"\(f1(x))\" y=\"\(f1(top + plotH - bh))\" width=\"\(f1(bw))\" height=\"\(f1(bh))\" fill=\"\(color)\"><title>\(label) : \(v)</title></rect>"
                s += "<text x=\"\(f1(x + bw / 2))\" y=\"\(f1(top + plotH - bh - 3))\" text-anchor=\"middle\">\(v)</text>"
            }
            s += "<text x=\"\(f1(x0 + bw))\" y=\"\(hgt - 22)\" text-anchor=\"middle\">\(esc(professionLabel(sc.profession)))</text>"
        }
        s += "<rect x=\"\(left)\" y=\"\(hgt - 12)\" width=\"10\" height=\"10\" fill=\"#9db8d3\"/><text x=\"\(left + 14)\" y=\"\(hgt - 3)\">demandes</text>"
        s += "<rect x=\"\(left + 90)\" y=\"\(hgt - 12)\" width=\"10\" height=\"10\" fill=\"#12436b\"/><text x=\"\(left + 104)\" y=\"\(hgt - 3)\">rendez-vous pris</text>"
        return s + "</svg>"
    }

    static func delayChart(_ buckets: [DelayBucket]) -> String {
        let w = 520.0, hgt = 230.0, left = 36.0, bottom = 28.0, top = 14.0
        let plotH = hgt - bottom - top
        let maxV = Double(max(1, buckets.map(\.count).max() ?? 1))
        var s = "<svg viewBox=\"0 0 \(Int(w)) \(Int(hgt))\" width=\"100%\" role=\"img\" aria-label=\"distribution des délais\">"
        s += "<line x1=\"\(left)\" x2=\"\(w - 6)\" y1=\"\(top + plotH)\" y2=\"\(top + plotH)\" stroke=\"#9aa8b5\"/>"
        if buckets.allSatisfy({ $0.count == 0 }) {
            s += "<text x=\"\(w / 2)\" y=\"\(hgt / 2)\" text-anchor=\"middle\">aucun rendez-vous sur la période</text>"
        }
        let bw = (w - left - 6) / Double(max(1, buckets.count))
        for (i, b) in buckets.enumerated() {
            let bh = plotH * Double(b.count) / maxV
            let x = left + Double(i) * bw + 4
            let color = b.label.hasPrefix(">") ? "#b42318" : "#3f7cac"
            s += "<rect x=\"\(f1(x))\" y=\"\(f1(top + plotH - bh))\" width=\"\(f1(bw - 8))\" height=\"\(f1(bh))\" fill=\"\(color)\"><title>\(esc(b.label)) : \(b.count)</title></rect>"
            s += "<text x=\"\(f1(x + (bw - 8) / 2))\" y=\"\(f1(top + plotH - bh - 3))\" text-anchor=\"middle\">\(b.count)</text>"
            s += "<text x=\"\(f1(x + (bw - 8) / 2))\" y=\"\(hgt - 10)\" text-anchor=\"middle\">\(esc(b.label))</text>"
        }
        return s + "</svg>"
    }

    // MARK: Tables

    static func scopeTable(_ scopes: [ScopeFigures]) -> String {
        var s = "<table><tr><th>territoire</th><th>profession</th><th>demandes</th><th>rendez-vous</th><th>dont surnuméraires</th><th>rate_48h</th><th>expirées</th><th>délai médian</th><th>délai p90</th><th>créneaux</th><th>utilisation</th><th>pros actifs</th><th>non honorés</th></tr>"
        if scopes.isEmpty { s += "<tr><td colspan=\"13\">aucune donnée</td></tr>" }
        for sc in scopes {
            let i = sc.indicators
            s += "<tr><td>\(esc(sc.territory == Report.all ? "tous" : sc.territory))</td><td>\(esc(professionLabel(sc.profession)))</td><td>\(i.requests)</td><td>\(i.booked)</td><td>\(i.booked_extra)</td><td>\(pct(i.rate_48h))</td><td>\(i.expired)</td><td>\(hours(i.delay_h_median))</td><td>\(hours(i.delay_h_p90))</td><td>\(i.slots_published)</td><td>\(pct(i.slot_utilisation))</td><td>\(i.active_pros)</td><td>\(pct(i.noshow_rate))</td></tr>"
        }
        return s + "</table>"
    }

    static func weekTable(_ counts: [WeekCount], cap: Int) -> String {
        var s = "<table><tr><th>professionnel</th><th>semaine</th><th>territoire</th><th>RDV SAS</th><th style=\"width:40%\">par rapport au plafond</th></tr>"
        if counts.isEmpty { s += "<tr><td colspan=\"5\">aucun rendez-vous sur ces semaines</td></tr>" }
        let scale = Double(max(cap + 5, counts.map(\.bookings).max() ?? 0))
        for c in counts {
            let bar = 100 * Double(c.bookings) / scale
            let capX = 100 * Double(cap) / scale
            s += "<tr class=\"\(c.over_cap ? "over" : "")\"><td>\(esc(c.name)) <span class=\"muted\">\(esc(c.pro))</span></td><td>\(esc(c.week))</td><td>\(esc(c.territory))</td><td>\(c.bookings)\(c.over_cap ? " ⚠" : "")</td>"
            s += "<td><svg viewBox=\"0 0 100 10\" width=\"100%\" height=\"12\" preserveAspectRatio=\"none\"><rect x=\"0\" y=\"1\" width=\"\(f1(bar))\" height=\"8\" fill=\"\(c.over_cap ? "#b42318" : "#3f7cac")\"/><line x1=\"\(f1(capX))\" x2=\"\(f1(capX))\" y1=\"0\" y2=\"10\" stroke=\"#1d2733\" stroke-width=\"0.8\"/></svg></td></tr>"
        }
        return s + "</table><p class=\"muted\">Le trait vertical marque le plafond de \(cap) rendez-vous SAS rémunérés par semaine ; les lignes en rouge le dépassent.</p>"
    }

    // MARK: Formatting

    static func card(_ value: String, _ label: String) -> String {
        "<div class=\"card\"><div class=\"v\">\(esc(value))</div><div class=\"l\">\(esc(label))</div></div>"
    }

    static func pct(_ x: Double) -> String { String(format: "%.1f %%", x * 100).replacingOccurrences(of: ".", with: ",") }
    static func hours(_ x: Double) -> String { String(format: "%.1f h", x).replacingOccurrences(of: ".", with: ",") }
    static func km(_ x: Double) -> String { String(format: "%.1f km", x).replacingOccurrences(of: ".", with: ",") }
    static func f1(_ x: Double) -> String { String(format: "%.1f", x) }

    static func frDate(_ ymd: String) -> String {
        let p = ymd.split(separator: "-")
        return p.count == 3 ? "\(p[2])/\(p[1])/\(p[0])" : ymd
    }

    static func professionLabel(_ p: String) -> String {
        switch p {
        case "gp": "médecins généralistes"
        case "kine": "kinésithérapeutes"
        case "nurse": "infirmiers"
        case "midwife": "sages-femmes"
        case "dentist": "chirurgiens-dentistes"
        case "pediatrician": "pédiatres"
        case Report.all: "toutes"
        default: p
        }
    }

    static func esc(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}
