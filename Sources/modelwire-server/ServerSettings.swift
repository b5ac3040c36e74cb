import ArgumentParser
import Foundation
import ModelwireProtocol
import ModelwireServer

/// Option values from flags, `MODELWIRE_*` environment variables and a JSON config file, in that
/// order of precedence. Keys are the long option names (`max-concurrent-jobs`).
struct ServerSettings {
    /// Every key a config file or the environment may set.
    static let keys = ["host", "port", "repository", "port-file", "max-concurrent-jobs", "event-loop-threads", "max-batch-rows",
                       "max-queue-delay-us", "max-queued-calls", "inline-max-rows", "max-frame-bytes", "max-message-bytes",
                       "max-concurrent-calls", "idle-timeout-ms", "dataset-quota-bytes", "grace-period-ms", "log-level"]

    private var values: [String: String] = [:]

    init(command c: ServerCommand, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        let configPath = c.config ?? environment["MODELWIRE_CONFIG"]
        if let configPath {
            guard let data = FileManager.default.contents(atPath: configPath) else {
                throw ValidationError("config file \(configPath) cannot be read")
            }
            guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw ValidationError("config file \(configPath) is not a JSON object")
            }
            for (key, value) in object {
                guard Self.keys.contains(key) else { throw ValidationError("config file \(configPath): unknown key \"\(key)\"") }
                values[key] = "\(value)"
            }
        }
        for key in Self.keys {
            let variable = "MODELWIRE_" + key.uppercased().replacingOccurrences(of: "-", with: "_")
            if let value = environment[variable] { values[key] = value }
        }
        let flags: [String: String?] = [
            "host": c.host, "port": c.port.map(String.init), "repository": c.repository, "port-file": c.portFile,
            "max-concurrent-jobs": c.maxConcurrentJobs.map(String.init), "event-loop-threads": c.eventLoopThreads.map(String.init),
            "max-batch-rows": c.maxBatchRows.map(String.init), "max-queue-delay-us": c.maxQueueDelayUs.map(String.init),
            "max-queued-calls": c.maxQueuedCalls.map(String.init), "inline-max-rows": c.inlineMaxRows.map(String.init),
            "max-frame-bytes": c.maxFrameBytes.map(String.init), "max-message-bytes": c.maxMessageBytes.map(String.init),
            "max-concurrent-calls": c.maxConcurrentCalls.map(String.init), "idle-timeout-ms": c.idleTimeoutMs.map(String.init),
            "dataset-quota-bytes": c.datasetQuotaBytes.map(String.init), "grace-period-ms": c.gracePeriodMs.map(String.init),
            "log-level": c.logLevel,
        ]
        for (key, value) in flags { if let value { values[key] = value } }
    }

    func string(_ key: String) -> String? { values[key] }

    private func int(_ key: String, _ range: ClosedRange<Int>) throws -> Int? {
        guard let text = values[key] else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw ValidationError("\(key) must be an integer in \(range.lowerBound)...\(range.upperBound), got \"\(text)\"")
        }
        return value
    }

    /// The server configuration these settings describe.
    func configuration() throws -> ServerConfiguration {
        var c = ServerConfiguration(repositoryPath: string("repository") ?? "modelwire-repository")
        if let host = string("host") { c.host = host }
        if let v = try int("port", 0...65535) { c.port = v }
        if let v = try int("max-concurrent-jobs", 1...64) { c.maxConcurrentJobs = v }
        if let v = try int("event-loop-threads", 1...256) { c.eventLoopThreads = v }
        if let v = try int("max-batch-rows", 1...1_000_000) { c.batching.maxBatchRows = v }
        if let v = try int("max-queue-delay-us", 0...1_000_000) { c.batching.maxQueueDelayMicroseconds = v }
        if let v = try int("max-queued-calls", 1...1_000_000) { c.batching.maxQueuedCalls = v }
        if let v = try int("inline-max-rows", 0...1_000_000) { c.batching.inlineMaxRows = v }
        if let v = try int("max-frame-bytes", 1024...Int(UInt32.max)) { c.limits.maxFrameBytes = v }
        if let v = try int("max-message-bytes", 1024...Int(UInt32.max)) { c.limits.maxMessageBytes = v }
        if let v = try int("max-concurrent-calls", 1...100_000) { c.limits.maxConcurrentCalls = v }
        if let v = try int("idle-timeout-ms", 1000...Int(UInt32.max)) { c.limits.idleTimeoutMilliseconds = v }
        if let v = try int("dataset-quota-bytes", 0...Int.max) { c.datasetQuotaBytes = v }
        if let v = try int("grace-period-ms", 0...3_600_000) { c.shutdownGracePeriodMilliseconds = v }
        return c
    }
}
