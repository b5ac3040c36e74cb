import NIOSSL
import Synchronization

/// The TLS context new connections are opened with: made from `ServerConfiguration.TLS` when the
/// server starts and again on every reload (SIGHUP). Connections already open keep the context
/// they began with; a reload whose files are broken keeps the previous context in force.
final class ServerTLSContext: Sendable {
    let files: ServerConfiguration.TLS
    private let context = Mutex<NIOSSLContext?>(nil)

    init(_ files: ServerConfiguration.TLS) {
        self.files = files
    }

    /// The context for a new connection; nil before the first `reload()` succeeded.
    var current: NIOSSLContext? { context.withLock { $0 } }

    /// Reads the files (again) and puts the new context in force.
    /// - Throws: `ServerRuntimeError` (`tlsFilesInvalid`) naming the file that cannot be used;
    ///   the previous context stays in force.
    func reload() throws {
        let fresh = try Self.make(files)
        context.withLock { $0 = fresh }
    }

    private static func make(_ files: ServerConfiguration.TLS) throws -> NIOSSLContext {
        let chain = try load("--tls-cert", files.certificateChainFile) { try NIOSSLCertificate.fromPEMFile($0) }
        guard !chain.isEmpty else {
            throw ServerRuntimeError(
                .tlsFilesInvalid,
                "no PEM certificate in \(files.certificateChainFile) (--tls-cert)"
            )
        }
        let key = try load("--tls-key", files.privateKeyFile) { try NIOSSLPrivateKey(file: $0, format: .pem) }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) },
            privateKey: .privateKey(key)
        )
        configuration.minimumTLSVersion = .tlsv12
        if let caFile = files.clientCAFile {
            let roots = try load("--tls-client-ca", caFile) { try NIOSSLCertificate.fromPEMFile($0) }
            guard !roots.isEmpty else {
                throw ServerRuntimeError(.tlsFilesInvalid, "no PEM certificate in \(caFile) (--tls-client-ca)")
            }
            configuration.trustRoots = .certificates(roots)
            // Clients are not named by a host: their certificate's signature is what is checked.
            configuration.certificateVerification = .noHostnameVerification
        }
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw ServerRuntimeError(
                .tlsFilesInvalid,
                "the TLS certificate and key cannot be used together (--tls-cert, --tls-key): \(error)",
                cause: error
            )
        }
    }

    private static func load<T>(_ flag: String, _ path: String, _ read: (String) throws -> T) throws -> T {
        do { return try read(path) } catch {
            throw ServerRuntimeError(.tlsFilesInvalid, "cannot read \(path) (\(flag)): \(error)", cause: error)
        }
    }
}
