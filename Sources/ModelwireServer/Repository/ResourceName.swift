import ModelwireCodec
import ModelwireProtocol

/// Names of models, aliases and datasets: 1-64 characters of [A-Za-z0-9._-], not starting with '.'
/// (they become directory names, so this rule is what keeps a request out of other directories).
enum ResourceName {
    /// - Throws: `ModelwireError` (invalid_argument) naming the rule.
    static func validate(_ name: String, _ what: String) throws(ModelwireError) {
        let ok =
            (1...64).contains(name.utf8.count) && !name.hasPrefix(".")
            && name.utf8.allSatisfy { c in
                (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2E
                    || c == 0x5F || c == 0x2D
            }
        guard ok else {
            throw ModelwireError(
                .invalidArgument,
                "\(what) name \"\(name)\" is invalid: use 1-64 characters of [A-Za-z0-9._-], not starting with '.'"
            )
        }
    }
}
