import ArgumentParser
import Foundation
import ModelwireServer

/// Reads every `ServerOption` from a JSON config file, `MODELWIRE_*` environment variables and
/// command-line flags, in rising order of precedence, into one `Values`.
enum ServerSettings {
    /// Log levels, as swift-log names them.
    enum LogLevel: String, Sendable {
        case trace, debug, info, notice, warning, error, critical
    }

    /// How log lines are written (`--log-format`).
    enum LogFormat: String, Sendable {
        /// swift-log's `StreamLogHandler`: one readable line per event.
        case text
        /// `JSONLogHandler`: one JSON object per line.
        case json
    }

    /// What the options set: the server's configuration and the executable's own settings.
    struct Values: Sendable {
        var configuration = ServerConfiguration(repositoryPath: "modelwire-repository")
        var portFile: String?
        var logLevel = LogLevel.info
        var logFormat = LogFormat.text
        /// `--tls-cert`, `--tls-key` and `--tls-client-ca`, put together by `parse`.
        var tlsCertificate: String?
        var tlsKey: String?
        var tlsClientCA: String?
    }

    /// Parses the settings.
    /// - Parameters:
    ///   - arguments: The command-line options (`--key value` or `--key=value`), without the config flag.
    ///   - configFile: The path of a JSON object of options, if any.
    ///   - environment: Where `MODELWIRE_*` variables are read.
    /// - Throws: `ValidationError` naming the option and what is wrong with it.
    static func parse(arguments: [String], configFile: String?, environment: [String: String]) throws -> Values {
        var values = Values()
        if let configFile { try apply(file: configFile, to: &values) }
        for option in ServerOption.all {
            if let text = environment[option.environmentVariable] { try option.apply(&values, text) }
        }
        for (option, text) in try flags(arguments) { try option.apply(&values, text) }
        values.configuration.tls = try tls(values)
        return values
    }

    /// TLS from its three options: a certificate and its key together, a client CA only with them.
    private static func tls(_ values: Values) throws -> ServerConfiguration.TLS? {
        switch (values.tlsCertificate, values.tlsKey) {
        case (nil, nil):
            guard values.tlsClientCA == nil else {
                throw ValidationError("--tls-client-ca needs --tls-cert and --tls-key (mutual TLS is TLS first)")
            }
            return nil
        case (let certificate?, let key?):
            return ServerConfiguration.TLS(
                certificateChainFile: certificate,
                privateKeyFile: key,
                clientCAFile: values.tlsClientCA
            )
        case (nil, _?):
            throw ValidationError("--tls-key needs --tls-cert")
        case (_?, nil):
            throw ValidationError("--tls-cert needs --tls-key")
        }
    }

    private static func apply(file path: String, to values: inout Values) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("config file \(path) cannot be read")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ValidationError("config file \(path) is not a JSON object")
        }
        for (key, value) in object.sorted(by: { $0.key < $1.key }) {
            guard let option = ServerOption.all.first(where: { $0.key == key }) else {
                throw ValidationError("config file \(path): unknown key \"\(key)\"")
            }
            try option.apply(&values, "\(value)")
        }
    }

    private static func flags(_ arguments: [String]) throws -> [(ServerOption, String)] {
        var result: [(ServerOption, String)] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            guard argument.hasPrefix("--") else {
                throw ValidationError("unexpected argument \"\(argument)\" (see --help)")
            }
            let body = argument.dropFirst(2)
            let key = body.split(separator: "=", maxSplits: 1).first.map(String.init) ?? ""
            guard let option = ServerOption.all.first(where: { $0.key == key }) else {
                throw ValidationError("unknown option --\(key) (see --help)")
            }
            if let equals = body.firstIndex(of: "=") {
                result.append((option, String(body[body.index(after: equals)...])))
                index += 1
            } else if !option.takesValue {
                result.append((option, "true"))
                index += 1
            } else {
                guard index + 1 < arguments.count else { throw ValidationError("--\(key) needs a value") }
                result.append((option, arguments[index + 1]))
                index += 2
            }
        }
        return result
    }
}
