public import ModelwireCodec

/// The connection handshake: version and compression negotiation (PROTOCOL.md §3).
public enum Handshake {
    /// Protocol versions this implementation speaks, newest last.
    public static let protocolVersions: [UInt32] = [1]

    /// The ClientHello a client of this implementation sends.
    public static func clientHello(
        clientName: String,
        acceptsZlib: Bool = true,
        credentials: V1.Credentials? = nil
    ) -> V1.ClientHello {
        V1.ClientHello(
            protocolVersions: protocolVersions,
            compression: acceptsZlib ? [.none, .zlib] : [.none],
            credentials: credentials,
            clientName: clientName
        )
    }

    /// The server's answer to `hello`: the highest common version, or the error to send before closing.
    /// - Returns: The ServerHello, and whether the client accepts zlib payloads.
    /// - Throws: `ModelwireError` with code `unimplemented` and the supported versions.
    public static func negotiate(
        _ hello: V1.ClientHello,
        limits: ProtocolLimits,
        serverName: String
    )
        throws(ModelwireError) -> (hello: V1.ServerHello, clientAcceptsZlib: Bool)
    {
        guard let version = hello.protocolVersions.filter(protocolVersions.contains).max() else {
            throw ModelwireError(
                .unimplemented,
                "none of the client's protocol versions \(hello.protocolVersions) is supported; server speaks \(protocolVersions)",
                supportedProtocolVersions: protocolVersions
            )
        }
        let zlib = hello.compression.contains(.zlib)
        let answer = V1.ServerHello(
            protocolVersion: version,
            compression: .zlib,
            limits: limits.message,
            serverName: serverName,
            schemaPackages: V1.schemaPackages
        )
        return (answer, zlib)
    }
}
