import ModelwireCodec

/// The readable evaluation report.
enum Report {
    /// One line: accuracy and log loss, or the regression errors.
    static func brief(_ evaluation: V1.Evaluation) -> String {
        switch evaluation.kind {
        case .classification(let c):
            var text = "accuracy \(Output.fixed(c.accuracy)) on \(evaluation.rows) rows"
            if let loss = c.logLoss { text += ", log loss \(Output.fixed(loss))" }
            if let m = c.macro { text += ", macro F1 \(Output.fixed(m.f1))" }
            if let auc = c.rocAucMacro { text += ", ROC-AUC \(Output.fixed(auc))" }
            return text
        case .regression(let r):
            return
                "mse \(Output.fixed(r.mse)), mae \(Output.fixed(r.mae)), r2 \(Output.fixed(r.r2)) on \(evaluation.rows) rows"
        case nil:
            return "\(evaluation.rows) rows"
        }
    }

    /// Per-class precision/recall/F1/support, macro and weighted rows, and the confusion matrix.
    static func full(_ evaluation: V1.Evaluation) -> String {
        guard case .classification(let c) = evaluation.kind else { return brief(evaluation) }
        var lines: [String] = []
        lines.append("accuracy  \(Output.fixed(c.accuracy))   (\(evaluation.rows) rows)")
        lines.append(
            "log loss  \(c.logLoss.map { Output.fixed($0) } ?? "n/a (model gives decision scores, not probabilities)")"
        )
        if let macro = c.rocAucMacro, let weighted = c.rocAucWeighted {
            lines.append("ROC-AUC   \(Output.fixed(macro)) macro, \(Output.fixed(weighted)) weighted (one-vs-rest)")
        }
        if let precision = c.averagePrecision { lines.append("avg precision  \(Output.fixed(precision))") }
        lines.append("")
        var rows = c.perClass.map { m in
            [m.label, Output.fixed(m.precision), Output.fixed(m.recall), Output.fixed(m.f1), String(m.support)]
        }
        rows.append(["", "", "", "", ""])
        for (name, m) in [("macro avg", c.macro), ("weighted avg", c.weighted)] {
            if let m {
                rows.append([
                    name, Output.fixed(m.precision), Output.fixed(m.recall), Output.fixed(m.f1),
                    String(evaluation.rows),
                ])
            }
        }
        lines.append(rightAligned(["class", "precision", "recall", "f1", "support"], rows))
        if let confusion = c.confusion, confusion.classes > 0,
            confusion.counts.count == Int(confusion.classes * confusion.classes)
        {
            let n = Int(confusion.classes)
            let labels = c.perClass.count == n ? c.perClass.map(\.label) : (0..<n).map(String.init)
            lines.append("")
            lines.append("confusion matrix (rows = true class, columns = predicted)")
            let matrix = (0..<n).map { r in [labels[r]] + (0..<n).map { String(confusion.counts[r * n + $0]) } }
            lines.append(rightAligned(["true \\ predicted"] + labels, matrix))
        }
        return lines.joined(separator: "\n")
    }

    /// A table whose first column is left-aligned and the others right-aligned.
    static func rightAligned(_ header: [String], _ rows: [[String]]) -> String {
        var widths = header.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        func format(_ row: [String]) -> String {
            row.enumerated().map { i, cell in
                let pad = String(repeating: " ", count: max(0, widths[i] - cell.count))
                return i == 0 ? cell + pad : pad + cell
            }.joined(separator: "  ")
        }
        return ([format(header)] + rows.map(format)).joined(separator: "\n")
    }

    /// Permutation importance, most important first: the score drop ± its standard deviation.
    static func importances(_ importances: [V1.FeatureImportance]) -> String {
        let sorted = importances.sorted { $0.mean > $1.mean }
        let rows = sorted.map { [$0.feature, Output.fixed($0.mean), "± " + Output.fixed($0.std)] }
        return "permutation importance (score drop when the feature is shuffled)\n"
            + rightAligned(["feature", "importance", "std"], rows)
    }
}
