import ModelwireCodec
public import ModelwireProtocol

/// A server address: a host name or IP literal and a TCP port.
///
/// Parses `host:port`, `host` (the default port 7411), `[v6-literal]:port` and `[v6-literal]`.
public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
    /// The port a Modelwire server listens on unless configured otherwise (PROTOCOL.md §1).
    public static let defaultPort = 7411

    /// The host name or IP literal (without brackets).
    public var host: String
    /// The TCP port, 1...65535.
    public var port: Int

    /// Creates an endpoint.
    /// - Parameters:
    ///   - host: A host name or IP literal.
    ///   - port: The TCP port.
    public init(host: String, port: Int = Endpoint.defaultPort) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port`, `host`, `[::1]:port` or `[::1]`.
    /// - Parameter text: The address as a person writes it.
    /// - Throws: `ModelwireError` with code `invalidArgument` naming what is wrong.
    public init(parsing text: String) throws(ModelwireError) {
        let trimmed = text.trimmingSpaces()
        guard !trimmed.isEmpty else { throw ModelwireError(.invalidArgument, "empty server address") }
        if let scheme = trimmed.firstRange(of: "://") {
            throw ModelwireError(
                .invalidArgument,
                "'\(text)': give host:port without '\(trimmed[..<scheme.upperBound])' (e.g. \(trimmed[scheme.upperBound...]))"
            )
        }
        var host: Substring
        var portText: Substring?
        if trimmed.hasPrefix("[") {
            guard let close = trimmed.firstIndex(of: "]") else {
                throw ModelwireError(.invalidArgument, "'\(text)': missing ']' after an IPv6 address")
            }
            host = trimmed[trimmed.index(after: trimmed.startIndex)..<close]
            let rest = trimmed[trimmed.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else {
                    throw ModelwireError(.invalidArgument, "'\(text)': expected ':port' after ']'")
                }
                portText = rest.dropFirst()
            }
        } else if let colon = trimmed.lastIndex(of: ":") {
            guard trimmed.firstIndex(of: ":") == colon else {
                throw ModelwireError(.invalidArgument, "'\(text)': write IPv6 addresses as [address]:port")
            }
            host = trimmed[..<colon]
            portText = trimmed[trimmed.index(after: colon)...]
        } else {
            host = trimmed[...]
        }
        guard !host.isEmpty else { throw ModelwireError(.invalidArgument, "'\(text)': missing host") }
        var port = Endpoint.defaultPort
        if let portText {
            guard let value = Int(portText), (1...65535).contains(value) else {
                throw ModelwireError(.invalidArgument, "'\(text)': port must be a number in 1...65535")
            }
            port = value
        }
        self.init(host: String(host), port: port)
    }

    /// `host:port`, with brackets around IPv6 literals.
    public var description: String {
        self.host.contains(":") ? "[\(self.host)]:\(self.port)" : "\(self.host):\(self.port)"
    }
}

extension String {
    fileprivate func trimmingSpaces() -> Substring {
        var s = self[...]
        while let first = s.first, first == " " || first == "\t" { s = s.dropFirst() }
        while let last = s.last, last == " " || last == "\t" { s = s.dropLast() }
        return s
    }
}
