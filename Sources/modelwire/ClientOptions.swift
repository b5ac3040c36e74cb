import ArgumentParser
import Foundation
import Logging
import ModelwireClient
import ModelwireCodec
import ModelwireCommandLine
import ModelwireData
import ModelwireProtocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Flags every command takes.
struct ClientOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Server address host:port; several, comma separated, are used round-robin (default: $MODELWIRE_SERVER).",
            valueName: "host:port"
        )
    )
    var server: String = ProcessInfo.processInfo.environment["MODELWIRE_SERVER"] ?? "127.0.0.1:\(Endpoint.defaultPort)"

    @Flag(name: .long, help: "Print machine-readable JSON (shapes in docs/cli.md).")
    var json = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Deadline of each call in seconds (server-streaming calls: none unless given).",
            valueName: "seconds"
        )
    )
    var timeout: Double?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Bearer token for a server with --auth-file (default: $MODELWIRE_TOKEN; the environment keeps it out of ps).",
            valueName: "token"
        )
    )
    var token: String?

    /// `--token`, else `$MODELWIRE_TOKEN` (read here, not as the option's default: `--help` would print it).
    var bearerToken: String? {
        if let token { return token }
        let variable = ProcessInfo.processInfo.environment["MODELWIRE_TOKEN"]
        return variable?.isEmpty == false ? variable : nil
    }

    @OptionGroup(title: "TLS") var tls: TLSOptions

    @Flag(name: .long, help: "Log connection events to stderr.")
    var verbose = false

    func validate() throws {
        for address in self.endpoints {
            do { _ = try Endpoint(parsing: address) } catch { throw ValidationError("--server: \(error.message)") }
        }
        if let timeout, !(timeout > 0) { throw ValidationError("--timeout must be a positive number of seconds") }
    }

    var endpoints: [String] { self.server.split(separator: ",").map(String.init) }

    var callOptions: ModelwireClient.CallOptions {
        ModelwireClient.CallOptions(timeout: self.timeout.map { .milliseconds(Int64($0 * 1000)) })
    }

    /// Runs `body` with a client for `--server`; a failed call prints its status on stderr and exits 1.
    func run(_ command: String, _ body: (ModelwireClient) async throws -> Void) async throws {
        var logger = Logger(label: "modelwire", factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = self.verbose ? .debug : .warning
        do {
            let configuration = ModelwireClient.Configuration.defaults {
                $0.bearerToken = self.bearerToken
                $0.tls = self.tls.settings
            }
            try await withModelwireClient(endpoints: self.endpoints, configuration: configuration, logger: logger) {
                client in
                try await body(client)
            }
        } catch let error as ModelwireError {
            self.fail(command, code: Names.status(error.code), number: Int(error.code.rawValue), error.message)
        } catch let error as DatasetError {
            self.fail(command, code: "invalid_data", number: nil, error.message)
        } catch let error as CLIError {
            self.fail(command, code: "invalid_input", number: nil, error.message)
        }
    }

    /// Prints a failure on stderr and exits with status 1.
    func fail(_ command: String, code: String, number: Int?, _ message: String) -> Never {
        if self.json {
            var fields: [(String, JSON)] = [("command", .string(command)), ("code", .string(code))]
            if let number { fields.append(("status", .int(Int64(number)))) }
            fields.append(("message", .string(message)))
            Output.error(JSON.object([("error", .object(fields))]).rendered)
        } else {
            let status = number.map { "\(code) (\($0))" } ?? code
            Output.error("modelwire \(command): \(status): \(message)")
        }
        terminate(1)
    }

    /// Prints a JSON value on stdout, one line.
    func emit(_ value: JSON) {
        Output.line(value.rendered)
    }
}

/// A local input problem (unreadable file, bad rows) found before any call.
struct CLIError: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

/// Writing to stdout and stderr, unbuffered enough for progress bars.
enum Output {
    static func line(_ text: String) {
        self.write(STDOUT_FILENO, text + "\n")
    }

    static func raw(_ text: String) {
        self.write(STDOUT_FILENO, text)
    }

    static func error(_ text: String) {
        self.write(STDERR_FILENO, text + "\n")
    }

    /// Unbuffered: progress lines appear at once, and nothing is lost at exit.
    private static func write(_ fd: Int32, _ text: String) {
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = systemWrite(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if n <= 0 { return }
                offset += n
            }
        }
    }

    static var isTerminal: Bool { isatty(STDOUT_FILENO) != 0 }

    /// Columns padded to their widest cell.
    static func table(_ header: [String], _ rows: [[String]]) -> String {
        var widths = header.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        func format(_ row: [String]) -> String {
            row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count)
            }.joined(separator: "  ")
        }
        return ([format(header)] + rows.map(format)).joined(separator: "\n")
    }

    static func fixed(_ value: Float, _ digits: Int = 4) -> String {
        guard value.isFinite else { return "-" }
        let scale = pow(10.0, Double(digits))
        let rounded = (Double(value) * scale).rounded() / scale
        var text = String(rounded)
        if let dot = text.firstIndex(of: ".") {
            let decimals = text.distance(from: dot, to: text.endIndex) - 1
            if decimals < digits { text += String(repeating: "0", count: digits - decimals) }
        } else {
            text += "." + String(repeating: "0", count: digits)
        }
        return text
    }

    static func date(_ unixMilliseconds: UInt64) -> String {
        guard unixMilliseconds > 0 else { return "-" }
        var seconds = time_t(unixMilliseconds / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday)) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }

    static func duration(_ seconds: Float) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "-" }
        if seconds < 10 { return "\(fixed(seconds, seconds < 1 ? 2 : 1))s" }
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m\(s % 60 < 10 ? "0" : "")\(s % 60)s" }
        return "\(s / 3600)h\((s % 3600) / 60 < 10 ? "0" : "")\((s % 3600) / 60)m"
    }

    static func bytes(_ n: UInt64) -> String {
        if n < 1024 { return "\(n) B" }
        if n < 1 << 20 { return "\(fixed(Float(n) / 1024, 1)) KiB" }
        return "\(fixed(Float(n) / Float(1 << 20), 1)) MiB"
    }
}

/// `--version V`: a number selects a version, anything else an alias.
func modelRef(_ name: String, _ version: String?) throws -> V1.ModelRef {
    guard let version else { return V1.ModelRef(name: name) }
    if let number = UInt32(version) {
        guard number > 0 else { throw ValidationError("--version: versions start at 1") }
        return V1.ModelRef(name: name, selector: .version(number))
    }
    return V1.ModelRef(name: name, selector: .alias(version))
}

/// Exits the process (outside any type, whose `exit` would be ArgumentParser's).
func terminate(_ status: Int32) -> Never {
    exit(status)
}

private func systemWrite(_ fd: Int32, _ pointer: UnsafePointer<UInt8>, _ count: Int) -> Int {
    write(fd, pointer, count)
}
