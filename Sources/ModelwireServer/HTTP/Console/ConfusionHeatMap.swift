import Foundation

/// A confusion matrix as an HTML table heat map: rows are the true classes, columns the predicted
/// ones, each cell's shade its share of the true class's rows (so a cell's colour reads as recall on
/// the diagonal whatever the class sizes), its text the count.
struct ConfusionHeatMap {
    /// The most classes drawn: a matrix of more (up to 2,500 cells) is only summarised.
    static let maxClasses = 50

    /// Class names, class id order (escaped when rendered).
    let classNames: [String]
    /// Row-major counts, classes × classes.
    let counts: [UInt64]

    /// The table, or a note when the matrix is too large or does not match the class names.
    func render() -> String {
        let classes = classNames.count
        guard classes > 0, counts.count == classes * classes else {
            return "<p class=\"note\">The stored confusion matrix does not match the model's \(classes) classes.</p>"
        }
        guard classes <= Self.maxClasses else {
            return
                "<p class=\"note\">\(classes) classes: the heat map is drawn for at most \(Self.maxClasses).</p>"
        }
        let names = classNames.map { HTML.escape($0) }
        var html = """
            <table class="confusion">
            <caption>rows: true class · columns: predicted class · shade: share of the true class's rows</caption>
            <tr><th></th>
            """
        for name in names { html += "<th scope=\"col\">\(name)</th>" }
        html += "</tr>\n"
        for row in 0..<classes {
            let cells = counts[(row * classes)..<((row + 1) * classes)]
            let total = max(cells.reduce(0, +), 1)
            html += "<tr><th scope=\"row\">\(names[row])</th>"
            for (column, count) in cells.enumerated() {
                let share = Double(count) / Double(total)
                let tone = row == column ? "37,99,235" : "220,38,38"
                let cell = share > 0.55 ? "cm dark" : "cm"  // light text on a dark shade
                html += """
                    <td class="\(cell)" style="background:rgba(\(tone),\(String(format: "%.2f", share)))" \
                    title="true \(names[row]), predicted \(names[column]): \(count)">\(count)</td>
                    """
            }
            html += "</tr>\n"
        }
        return html + "</table>"
    }
}
