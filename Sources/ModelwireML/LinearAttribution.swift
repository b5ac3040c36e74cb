/// Exact contributions of a linear model's class score: on the standardised scale the baseline
/// (the training mean) is the zero row, so feature i contributes `w_ic · z_i`, which is
/// `w_ic / scale_i · (x_i − mean_i)` in raw units; f(baseline) is the bias. Logistic regression is
/// explained on its logit (the class's score before the softmax), where it is additive; a binary
/// linear SVM's single score s ranks class 1 by s and class 0 by −s.
enum LinearAttribution {
    /// The contributions of one row of standardised features to class `classId`'s score.
    static func explain(_ p: LinearParameters, _ z: [Float], classId: Int?) -> RowAttribution {
        let single = p.outputs == 1
        let column = single ? 0 : classId ?? 0
        let sign: Float = single && classId == 0 ? -1 : 1
        var attributions = [Float](repeating: 0, count: p.inputs)
        var score = Double(p.biases[column])
        for i in 0..<p.inputs {
            let contribution = Double(p.weights[i * p.outputs + column]) * Double(z[i])
            attributions[i] = sign * Float(contribution)
            score += contribution
        }
        return RowAttribution(
            classId: classId,
            attributions: attributions,
            value: sign * Float(score),
            baselineValue: sign * p.biases[column]
        )
    }
}
