public import ArgumentParser
public import ModelwireClient

/// The TLS flags of `modelwire` and `modelwire-load`: `--tls`, its trust roots, a client
/// certificate for mutual TLS, and the name to expect on the server's certificate.
public struct TLSOptions: ParsableArguments {
    @Flag(name: .long, help: "Connect with TLS (the server runs with --tls-cert).")
    public var tls = false

    @Option(
        name: .customLong("ca"),
        help: ArgumentHelp(
            "PEM CA certificates the server's must be signed by (default: the system's).",
            valueName: "file"
        )
    )
    public var caFile: String?

    @Option(
        name: .customLong("client-cert"),
        help: ArgumentHelp("PEM client certificate chain, for a server with --tls-client-ca.", valueName: "file")
    )
    public var clientCertificate: String?

    @Option(name: .customLong("client-key"), help: ArgumentHelp("PEM key of --client-cert.", valueName: "file"))
    public var clientKey: String?

    @Option(
        name: .customLong("tls-server-name"),
        help: ArgumentHelp("Name the server's certificate must carry (default: the --server host).", valueName: "name")
    )
    public var serverName: String?

    public init() {}

    public func validate() throws {
        let given = [caFile, clientCertificate, clientKey, serverName].contains { $0 != nil }
        if given, !tls { throw ValidationError("--ca, --client-cert, --client-key and --tls-server-name need --tls") }
        if (clientCertificate == nil) != (clientKey == nil) {
            throw ValidationError("--client-cert and --client-key go together")
        }
    }

    /// The client's TLS settings; nil without `--tls`.
    public var settings: ModelwireClient.TLS? {
        guard tls else { return nil }
        return ModelwireClient.TLS(
            trustRoots: caFile.map { .file($0) } ?? .system,
            certificateChainFile: clientCertificate,
            privateKeyFile: clientKey,
            serverName: serverName
        )
    }
}
