import Foundation

/// The console's page shell (head, style sheet, navigation) and the formatting its pages share.
enum ConsoleDocument {
    /// The response headers of every console page: no scripts, styles or images from anywhere
    /// (the pages have none; inline styles only), so that even an escaping mistake could not run a
    /// script; not framed by other sites; not sniffed as another type.
    static let headers: [(String, String)] = [
        ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"),
        ("X-Content-Type-Options", "nosniff"),
        ("Cache-Control", "no-store"),
    ]

    /// A complete HTML page. `title` is escaped here; `body` is HTML the caller built (and escaped).
    /// - Parameter refreshSeconds: When set, the browser reloads the page this often (a running job).
    static func page(title: String, body: String, refreshSeconds: Int? = nil) -> String {
        let refresh = refreshSeconds.map { "<meta http-equiv=\"refresh\" content=\"\($0)\">\n" } ?? ""
        return """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            \(refresh)<title>\(HTML.escape(title)) · Modelwire</title>
            <style>\(css)</style>
            </head>
            <body>
            <header><a href="/">Modelwire console</a></header>
            <main>
            <h1>\(HTML.escape(title))</h1>
            \(body)
            </main>
            </body>
            </html>

            """
    }

    /// An error page (the console's answer where the V2 API answers its error JSON).
    static func error(status: Int, message: String) -> String {
        page(title: "Error \(status)", body: "<p class=\"error\">\(HTML.escape(message))</p>")
    }

    /// A float with four significant digits, or "–" when absent.
    static func number(_ value: Float?) -> String {
        guard let value else { return "–" }
        return String(format: "%.4g", Double(value))
    }

    /// Milliseconds since 1970 as UTC `YYYY-MM-DD HH:MM:SS`, or "–" for 0.
    static func date(_ unixMilliseconds: UInt64) -> String {
        guard unixMilliseconds > 0 else { return "–" }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter.string(from: Date(timeIntervalSince1970: Double(unixMilliseconds) / 1000)) + " UTC"
    }

    /// A table row of header and value cells; the values are HTML the caller escaped.
    static func row(_ name: String, _ value: String) -> String {
        "<tr><th scope=\"row\">\(HTML.escape(name))</th><td>\(value)</td></tr>"
    }

    private static let css = """
        body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#111827;background:#f9fafb}
        header{background:#111827;padding:10px 24px}header a{color:#f9fafb;text-decoration:none;font-weight:600}
        main{padding:8px 24px 32px;max-width:1200px}h1{font-size:22px}h2{font-size:17px;margin-top:28px}
        table{border-collapse:collapse;background:#fff;margin:8px 0}
        th,td{border:1px solid #e5e7eb;padding:4px 8px;text-align:left}
        th{background:#f3f4f6;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
        .note{color:#6b7280}.error{color:#b91c1c}.state-running{color:#2563eb}.state-succeeded{color:#15803d}
        .state-failed{color:#b91c1c}.state-cancelled{color:#6b7280}
        .charts{display:flex;flex-wrap:wrap;gap:16px}svg.chart{background:#fff;border:1px solid #e5e7eb}
        .plot{fill:none;stroke:#d1d5db}.tick{stroke:#9ca3af}.chart-title{font-weight:600;font-size:13px}
        .y-label{text-anchor:end;dominant-baseline:middle;font-size:11px;fill:#374151}
        .x-label{text-anchor:middle;font-size:11px;fill:#374151}.legend{font-size:11px;fill:#374151}
        table.confusion td.cm{text-align:right;min-width:36px;font-variant-numeric:tabular-nums}
        table.confusion td.dark{color:#fff}caption{caption-side:bottom;color:#6b7280;font-size:12px;padding-top:4px}
        """
}
