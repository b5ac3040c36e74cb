import ModelwireCodec

/// What a connection may call (PROTOCOL.md §3.1). Each role includes the ones below it, so a
/// permission check is one integer comparison: `connectionRole >= method.role`.
public enum AccessRole: UInt8, Comparable, Sendable, CaseIterable, CustomStringConvertible {
    /// No credentials: Health only, and only with `--health-without-auth`.
    case none = 0
    /// Predict, describe and list models, health, server info (and Explain, later).
    case predict = 1
    /// Also train, evaluate, jobs and datasets (and Tune, later).
    case train = 2
    /// Also delete, alias, import, export and every transform.
    case admin = 3

    public static func < (a: AccessRole, b: AccessRole) -> Bool { a.rawValue < b.rawValue }

    /// The role's name in token files and messages: "none", "predict", "train", "admin".
    public var description: String {
        switch self {
        case .none: "none"
        case .predict: "predict"
        case .train: "train"
        case .admin: "admin"
        }
    }

    /// The role a token file names ("predict", "train", "admin"); nil for anything else.
    public init?(name: String) {
        guard let role = Self.allCases.first(where: { $0.description == name }), role != .none else { return nil }
        self = role
    }

    /// The role as announced in ServerHello.
    var wire: V1.Role {
        switch self {
        case .none: .none
        case .predict: .predict
        case .train: .train
        case .admin: .admin
        }
    }
}
