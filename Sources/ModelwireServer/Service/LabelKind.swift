import Foundation
import ModelwireCodec
import ModelwireProtocol

extension V1.Dataset {
    /// Refuses classification on a label that looks continuous, as scikit-learn's
    /// `type_of_target` would call it: every class name is a number and either one is not an
    /// integer, or there are many distinct values for the rows (more than 20 and more than one
    /// per 5 rows). Training such a label as classes gives a model with one class per value.
    /// - Throws: `ModelwireError` invalid_argument suggesting the regression task.
    func checkClassLabelsAreCategorical() throws(ModelwireError) {
        guard !classNames.isEmpty else { return }
        let numbers = classNames.compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard numbers.count == classNames.count else { return }
        let nonInteger = numbers.contains { $0.rounded() != $0 }
        let many = classNames.count > 20 && classNames.count * 5 > classIds.count
        guard nonInteger || many else { return }
        let examples = classNames.prefix(3).joined(separator: ", ")
        throw ModelwireError(
            .invalidArgument,
            "the label looks continuous (\(classNames.count) distinct numeric values in \(classIds.count) rows, e.g. \(examples)): "
                + "train it with task regression (modelwire train --task regression), or give it class names"
        )
    }
}
