import Foundation

/// A line chart as inline SVG: one `<polyline>` per series over a shared x axis (epochs), with
/// value ticks on the left, the first and last x at the bottom, and a legend. A series of one point
/// is drawn as a dot. No scripts, no external assets.
struct SVGLineChart {
    /// One line of the chart.
    struct Series {
        /// The legend text (escaped when rendered).
        let name: String
        /// The stroke colour, a CSS colour the chart itself chooses (never user input).
        let colour: String
        /// (x, y) in data units; non-finite values are left out.
        let points: [(x: Double, y: Double)]
    }

    /// The most points a polyline gets: longer series are thinned evenly (the first and the last
    /// point kept), which bounds a page whatever the history's length.
    static let maxPoints = 1_000

    let title: String
    let series: [Series]
    let width = 540.0
    let height = 240.0
    private let left = 56.0, right = 12.0, top = 26.0, bottom = 40.0

    /// The chart's SVG, or nil when no series has a finite point.
    func render() -> String? {
        let lines = series.map { s in
            Series(
                name: s.name,
                colour: s.colour,
                points: Self.thin(s.points.filter { $0.x.isFinite && $0.y.isFinite })
            )
        }.filter { !$0.points.isEmpty }
        let all = lines.flatMap(\.points)
        guard let first = all.first else { return nil }
        var (xLow, xHigh, yLow, yHigh) = (first.x, first.x, first.y, first.y)
        for p in all {
            xLow = min(xLow, p.x)
            xHigh = max(xHigh, p.x)
            yLow = min(yLow, p.y)
            yHigh = max(yHigh, p.y)
        }
        if xHigh == xLow { (xLow, xHigh) = (max(xLow - 1, 0), xHigh + 1) }
        if yHigh == yLow { (yLow, yHigh) = (yLow - max(abs(yLow) * 0.1, 0.5), yHigh + max(abs(yHigh) * 0.1, 0.5)) }
        let plotWidth = width - left - right
        let plotHeight = height - top - bottom
        func sx(_ x: Double) -> String { Self.number(left + (x - xLow) / (xHigh - xLow) * plotWidth) }
        func sy(_ y: Double) -> String { Self.number(top + (yHigh - y) / (yHigh - yLow) * plotHeight) }

        var svg = """
            <svg class="chart" xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" \
            viewBox="0 0 \(Int(width)) \(Int(height))" role="img" aria-label="\(HTML.escape(title))">
            <title>\(HTML.escape(title))</title>
            <text x="\(Self.number(left))" y="16" class="chart-title">\(HTML.escape(title))</text>
            <rect x="\(Self.number(left))" y="\(Self.number(top))" width="\(Self.number(plotWidth))" \
            height="\(Self.number(plotHeight))" class="plot"/>

            """
        for i in 0...4 {
            let value = yLow + (yHigh - yLow) * Double(i) / 4
            svg += """
                <line x1="\(Self.number(left - 4))" x2="\(Self.number(left))" \
                y1="\(sy(value))" y2="\(sy(value))" class="tick"/>\
                <text x="\(Self.number(left - 6))" y="\(sy(value))" class="y-label">\(Self.label(value))</text>

                """
        }
        let axisY = Self.number(height - bottom + 14)
        svg += """
            <text x="\(sx(xLow))" y="\(axisY)" class="x-label">\(Self.label(xLow))</text>\
            <text x="\(sx(xHigh))" y="\(axisY)" class="x-label">\(Self.label(xHigh))</text>\
            <text x="\(Self.number(left + plotWidth / 2))" y="\(Self.number(height - 6))" class="x-label">epoch</text>

            """
        var legendX = left + 90
        for line in lines {
            let name = HTML.escape(line.name)
            if line.points.count == 1 {
                let p = line.points[0]
                svg +=
                    "<circle cx=\"\(sx(p.x))\" cy=\"\(sy(p.y))\" r=\"3\" fill=\"\(line.colour)\">"
                    + "<title>\(name)</title></circle>\n"
            } else {
                let points = line.points.map { "\(sx($0.x)),\(sy($0.y))" }.joined(separator: " ")
                svg += """
                    <polyline class="series" fill="none" stroke="\(line.colour)" stroke-width="1.5" \
                    points="\(points)"><title>\(name)</title></polyline>

                    """
            }
            svg += """
                <rect x="\(Self.number(legendX))" y="8" width="10" height="10" fill="\(line.colour)"/>\
                <text x="\(Self.number(legendX + 14))" y="17" class="legend">\(name)</text>

                """
            legendX += 14 + Double(line.name.count) * 7 + 16
        }
        return svg + "</svg>"
    }

    /// At most `maxPoints` points, evenly spaced by index, the first and the last among them.
    static func thin(_ points: [(x: Double, y: Double)]) -> [(x: Double, y: Double)] {
        guard points.count > maxPoints else { return points }
        return (0..<maxPoints).map { points[$0 * (points.count - 1) / (maxPoints - 1)] }
    }

    /// A coordinate with one decimal.
    private static func number(_ value: Double) -> String { String(format: "%.1f", value) }

    /// An axis label: four significant digits.
    private static func label(_ value: Double) -> String { String(format: "%.4g", value) }
}
