/// Exact contributions of a linear model's class score: feature i contributes `w_ic · (z_i − b_i)`
/// on the scale the weights see; with standardisation and the training-mean baseline b is the zero
/// row, so that is `w_ic / scale_i · (x_i − mean_i)` in raw units, and f(baseline) is the bias. Logistic regression is
/// explained on its logit (the class's score before the softmax), where it is additive; with two
/// classes, on the log-odds `s_c − s_other` (the binomial model's class-0 score is a constant 0,
/// which would explain nothing). A binary linear SVM's single score s ranks class 1 by s and class 0 by −s.
enum LinearAttribution {
    /// The contributions of one row of standardised features to class `classId`'s score.
    static func explain(_ p: LinearParameters, _ z: [Float], from baseline: [Float], classId: Int?) -> RowAttribution {
        let single = p.outputs == 1
        let column = single ? 0 : classId ?? 0
        let sign: Float = single && classId == 0 ? -1 : 1
        // Two classes: the other class's score is subtracted (log-odds).
        let other = p.outputs == 2 ? 1 - column : nil
        func weight(_ i: Int) -> Double {
            Double(p.weights[i * p.outputs + column]) - (other.map { Double(p.weights[i * p.outputs + $0]) } ?? 0)
        }
        var attributions = [Float](repeating: 0, count: p.inputs)
        var atBaseline = Double(p.biases[column]) - (other.map { Double(p.biases[$0]) } ?? 0)
        var score = atBaseline
        for i in 0..<p.inputs {
            let w = weight(i)
            let contribution = w * (Double(z[i]) - Double(baseline[i]))
            attributions[i] = sign * Float(contribution)
            atBaseline += w * Double(baseline[i])
            score += w * Double(z[i])
        }
        return RowAttribution(
            classId: classId,
            attributions: attributions,
            value: sign * Float(score),
            baselineValue: sign * Float(atBaseline)
        )
    }
}
