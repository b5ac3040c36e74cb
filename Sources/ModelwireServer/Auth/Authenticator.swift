import Synchronization

/// The tokens in force: loaded from `--auth-file` at start and again on every reload (SIGHUP).
/// A reload that fails (a missing file, bad JSON) keeps the previous tokens.
final class Authenticator: Sendable {
    /// The token file; nil = authentication off.
    let path: String?
    private let tokens = Mutex(TokenFile(entries: []))

    init(path: String?) {
        self.path = path
    }

    /// Whether connections must authenticate.
    var isEnabled: Bool { path != nil }

    /// The tokens now in force.
    var current: TokenFile { tokens.withLock { $0 } }

    /// Reads the token file and puts it in force.
    /// - Returns: The new tokens.
    /// - Throws: `TokenFile.Invalid` (the previous tokens stay in force).
    @discardableResult
    func reload() throws -> TokenFile {
        guard let path else { return TokenFile(entries: []) }
        let file = try TokenFile.load(path: path)
        tokens.withLock { $0 = file }
        return file
    }
}
