import ModelwireCodec
import ModelwireProtocol
import NIOCore
import NIOSSL

extension ModelwireClient {
    /// TLS on every connection of a client (docs/security.md): the server's certificate must be
    /// signed by one of `trustRoots` and name the endpoint's host (or `serverName`).
    public struct TLS: Sendable, Hashable {
        /// Where the certificates that may sign the server's come from.
        public enum TrustRoots: Sendable, Hashable {
            /// The system's trust store.
            case system
            /// The PEM certificates in a file (a private CA's).
            case file(String)
        }

        /// Who may sign the server's certificate. Default: the system's trust store.
        public var trustRoots: TrustRoots
        /// A PEM certificate chain shown to a server that asks for one (mutual TLS); needs `privateKeyFile`.
        public var certificateChainFile: String?
        /// The PEM private key of `certificateChainFile`.
        public var privateKeyFile: String?
        /// The name the server's certificate must carry when it is not the endpoint's host
        /// (also sent as SNI). An IP address is checked against the certificate's IP addresses.
        public var serverName: String?

        /// Creates TLS settings; the files are read when the client is created.
        public init(
            trustRoots: TrustRoots = .system,
            certificateChainFile: String? = nil,
            privateKeyFile: String? = nil,
            serverName: String? = nil
        ) {
            self.trustRoots = trustRoots
            self.certificateChainFile = certificateChainFile
            self.privateKeyFile = privateKeyFile
            self.serverName = serverName
        }
    }
}

/// A client's TLS context, made once from its `TLS` settings: the files are read then.
struct ClientTLSContext: Sendable {
    private let context: NIOSSLContext
    private let serverName: String?

    /// - Throws: `ModelwireError` (`invalidArgument`) naming the file that cannot be used.
    init(_ tls: ModelwireClient.TLS) throws {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if case .file(let path) = tls.trustRoots {
            configuration.trustRoots = .certificates(try Self.certificates("--ca", path))
        }
        switch (tls.certificateChainFile, tls.privateKeyFile) {
        case (nil, nil):
            break
        case (let chain?, let key?):
            configuration.certificateChain = try Self.certificates("--client-cert", chain).map { .certificate($0) }
            configuration.privateKey = .privateKey(
                try Self.load("--client-key", key) { try NIOSSLPrivateKey(file: $0, format: .pem) }
            )
        default:
            throw ModelwireError(.invalidArgument, "a client certificate needs its private key: give both or neither")
        }
        do {
            self.context = try NIOSSLContext(configuration: configuration)
        } catch {
            throw ModelwireError(.invalidArgument, "unusable TLS settings: \(error)", cause: error)
        }
        self.serverName = tls.serverName
    }

    /// The PEM certificates in `path`; none is an error naming the file and its flag.
    private static func certificates(_ flag: String, _ path: String) throws -> [NIOSSLCertificate] {
        let certificates = try load(flag, path) { try NIOSSLCertificate.fromPEMFile($0) }
        guard !certificates.isEmpty else {
            throw ModelwireError(.invalidArgument, "no PEM certificate in \(path) (\(flag))")
        }
        return certificates
    }

    private static func load<T>(_ flag: String, _ path: String, _ read: (String) throws -> T) throws -> T {
        do { return try read(path) } catch {
            throw ModelwireError(.invalidArgument, "cannot read \(path) (\(flag)): \(error)", cause: error)
        }
    }

    /// The handler that opens a connection to `host`. The name checked (and sent as SNI) is
    /// `serverName`, else `host`; an IP address is checked against the certificate's IP
    /// addresses and not sent as SNI.
    func handler(host: String) throws -> NIOSSLClientHandler {
        let name = self.serverName ?? host
        let isAddress = (try? SocketAddress(ipAddress: name, port: 0)) != nil
        return try NIOSSLClientHandler(context: self.context, serverHostname: isAddress ? nil : name)
    }

    /// A TLS failure as a user can act on it, or nil when `error` is not one. Settings that can
    /// never work (a plaintext server, an untrusted or misnamed certificate, a missing client
    /// certificate) are `failedPrecondition`, which is not retried; anything else `unavailable`.
    static func failure(_ error: any Error, endpoint: String) -> ModelwireError? {
        let detail = "\(error)"
        if let error = error as? NIOSSLExtraError, error == .failedToValidateHostname {
            return ModelwireError(
                .failedPrecondition,
                "the TLS certificate of \(endpoint) does not name that host (expect another name with --tls-server-name)",
                cause: error
            )
        }
        guard error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError else { return nil }
        let hint: String? =
            if detail.contains("WRONG_VERSION_NUMBER") || detail.contains("PACKET_LENGTH_TOO_LONG")
                || detail.contains("RECORD_TOO_LARGE")
            {
                "\(endpoint) did not answer in TLS: it serves plaintext on this port (connect without --tls)"
            } else if detail.contains("CERTIFICATE_VERIFY_FAILED") {
                "the TLS certificate of \(endpoint) is not signed by a trusted CA (give its CA with --ca)"
            } else if detail.contains("CERTIFICATE_REQUIRED") || detail.contains("HANDSHAKE_FAILURE") {
                "\(endpoint) requires a client certificate (mutual TLS: --client-cert and --client-key)"
            } else if detail.contains("BAD_CERTIFICATE") || detail.contains("UNKNOWN_CA") {
                "\(endpoint) does not trust this client's certificate (mutual TLS: is it signed by the server's --tls-client-ca?)"
            } else {
                nil
            }
        if let hint { return ModelwireError(.failedPrecondition, "\(hint): \(detail)", cause: error) }
        return ModelwireError(.unavailable, "TLS with \(endpoint) failed: \(detail)", cause: error)
    }
}
