import ModelwireML

/// The loss and accuracy curves of a training history, as two `SVGLineChart`s.
enum TrainingCurves {
    /// The charts of `history` (a loss chart, and an accuracy chart when any accuracy was
    /// recorded), or a note when it is empty.
    static func render(_ history: [TrainingEpoch]) -> String {
        guard !history.isEmpty else {
            return "<p class=\"note\">No per-epoch history was recorded (a model file from before it was kept).</p>"
        }
        func series(_ name: String, _ colour: String, _ value: (TrainingEpoch) -> Float?) -> SVGLineChart.Series {
            SVGLineChart.Series(
                name: name,
                colour: colour,
                points: history.compactMap { e in value(e).map { (x: Double(e.epoch), y: Double($0)) } }
            )
        }
        let loss = SVGLineChart(
            title: "Loss",
            series: [
                series("training loss", "#2563eb", \.loss),
                series("validation loss", "#ea580c", \.validationLoss),
            ]
        )
        let accuracy = SVGLineChart(
            title: "Accuracy",
            series: [
                series("training accuracy", "#2563eb", \.accuracy),
                series("validation accuracy", "#ea580c", \.validationAccuracy),
            ]
        )
        let charts = [loss.render(), accuracy.render()].compactMap { $0 }
        guard !charts.isEmpty else {
            return "<p class=\"note\">The \(history.count) recorded epochs carry no loss or accuracy.</p>"
        }
        return "<div class=\"charts\">\n" + charts.joined(separator: "\n") + "\n</div>"
    }
}
