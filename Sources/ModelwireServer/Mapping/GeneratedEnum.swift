import ModelwireCodec
import ModelwireProtocol

/// The generated enum structs, so that a number this schema does not define can be refused
/// rather than read as the zero value.
protocol GeneratedEnum: RawRepresentable<Int32>, CustomStringConvertible, Equatable {
    static var allKnown: [Self] { get }
    var isKnown: Bool { get }
}

extension GeneratedEnum {
    /// Throws `code` naming `field`, the value and the known values when the schema does not define this one.
    func requireKnown(_ field: String, code: V1.StatusCode) throws(ModelwireError) {
        guard !isKnown else { return }
        throw ModelwireError(
            code,
            "\(field): unknown value \(rawValue) (this server knows "
                + Self.allKnown.map { "\($0.rawValue) \($0)" }.joined(separator: ", ") + ")"
        )
    }
}

extension V1.Task: GeneratedEnum {}
extension V1.Activation: GeneratedEnum {}
extension V1.LinearSolver: GeneratedEnum {}
extension V1.TreeCriterion: GeneratedEnum {}
extension V1.BoostingEarlyStopping: GeneratedEnum {}
extension V1.OptimizerKind: GeneratedEnum {}
extension V1.Monitor: GeneratedEnum {}
extension V1.Loss: GeneratedEnum {}
extension V1.LinearKind: GeneratedEnum {}
extension V1.BoostingLoss: GeneratedEnum {}
extension V1.ActivationScaling: GeneratedEnum {}
extension V1.TuneMetric: GeneratedEnum {}
