import ModelwireCodec
import ModelwireML

extension Activation {
    /// The activation a wire value names; `UNSPECIFIED` and unknown numbers give nil (the default).
    init?(wire: V1.Activation) {
        switch wire {
        case .relu: self = .relu
        case .tanh: self = .tanh
        case .sigmoid: self = .sigmoid
        case .softmax: self = .softmax
        case .linear: self = .linear
        default: return nil
        }
    }

    var wire: V1.Activation {
        switch self {
        case .relu: .relu
        case .tanh: .tanh
        case .sigmoid: .sigmoid
        case .softmax: .softmax
        case .linear: .linear
        }
    }
}
