import Crypto
import Foundation

/// The tokens a server accepts (`--auth-file FILE`): each a name, a role and the SHA-256 of the
/// token, never the token itself (docs/security.md).
///
/// ```json
/// {"tokens": [{"name": "ops", "role": "admin", "sha256": "<64 hex digits>"}]}
/// ```
public struct TokenFile: Sendable, Hashable {
    /// One accepted token.
    public struct Entry: Sendable, Hashable {
        /// Who holds the token, for logs (never secret).
        public var name: String
        public var role: AccessRole
        /// SHA-256 of the token's UTF-8 bytes.
        public var digest: [UInt8]

        public init(name: String, role: AccessRole, digest: [UInt8]) {
            self.name = name
            self.role = role
            self.digest = digest
        }
    }

    public var entries: [Entry]

    public init(entries: [Entry]) {
        self.entries = entries
    }

    /// Why a token file cannot be used: one line for the operator (it never quotes a hash).
    public struct Invalid: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// Reads and checks a token file.
    /// - Throws: `Invalid` naming the file and the entry that is wrong.
    public static func load(path: String) throws -> TokenFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Invalid(description: "auth file \(path) cannot be read")
        }
        return try parse(data, source: "auth file \(path)")
    }

    /// Parses the JSON of a token file.
    public static func parse(_ data: Data, source: String = "auth file") throws -> TokenFile {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let tokens = object["tokens"] as? [Any]
        else {
            throw Invalid(description: "\(source) is not a JSON object with a \"tokens\" array")
        }
        var entries: [Entry] = []
        for (index, item) in tokens.enumerated() {
            guard let token = item as? [String: Any], let name = token["name"] as? String, !name.isEmpty else {
                throw Invalid(description: "\(source): tokens[\(index)] has no \"name\"")
            }
            guard let roleName = token["role"] as? String, let role = AccessRole(name: roleName) else {
                throw Invalid(
                    description: "\(source): token \"\(name)\": \"role\" must be predict, train or admin"
                )
            }
            guard let hex = token["sha256"] as? String, let digest = Self.bytes(hex: hex), digest.count == 32 else {
                throw Invalid(
                    description: "\(source): token \"\(name)\": \"sha256\" must be 64 hex digits "
                        + "(modelwire-server hash-token prints them)"
                )
            }
            guard !entries.contains(where: { $0.name == name }) else {
                throw Invalid(description: "\(source): token name \"\(name)\" appears twice")
            }
            entries.append(Entry(name: name, role: role, digest: digest))
        }
        return TokenFile(entries: entries)
    }

    /// The entry whose digest is the SHA-256 of `token`, or nil. Compares the digest with every
    /// entry in constant time (no early exit at the first differing byte, nor at the match), so
    /// the time taken tells nothing about how close a guess was.
    public func authenticate(_ token: String) -> Entry? {
        authenticate(digest: Self.sha256(token))
    }

    /// `authenticate` for a digest already computed.
    public func authenticate(digest: [UInt8]) -> Entry? {
        var found: Entry?
        for entry in entries where Self.constantTimeEqual(entry.digest, digest) {
            // Not an early exit: every entry is compared whatever matched.
            if found == nil { found = entry }
        }
        return found
    }

    /// SHA-256 of the token's UTF-8 bytes (swift-crypto).
    public static func sha256(_ token: String) -> [UInt8] {
        Array(SHA256.hash(data: Array(token.utf8)))
    }

    /// The lowercase hex of `sha256(token)`: what a token file holds.
    public static func sha256Hex(_ token: String) -> String {
        sha256(token).map { String(format: "%02x", $0) }.joined()
    }

    /// Equality whose time depends only on the lengths, not on where the bytes differ.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }

    private static func bytes(hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
