import ArgumentParser
import ModelwireClient
import ModelwireCodec

extension ModelwireCommand {
    /// `modelwire info`: what the server is and the limits it enforces.
    struct Info: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the server's name, version, protocol and limits."
        )
        @OptionGroup var client: ClientOptions

        func run() async throws {
            try await self.client.run("info") { client in
                let i = try await client.serverInfo(options: self.client.callOptions)
                let l = i.limits ?? V1.Limits()
                let limits: [(String, UInt32)] = [
                    ("max_frame_bytes", l.maxFrameBytes), ("max_message_bytes", l.maxMessageBytes),
                    ("max_decompression_ratio", l.maxDecompressionRatio),
                    ("max_concurrent_calls", l.maxConcurrentCalls),
                    ("compression_threshold_bytes", l.compressionThresholdBytes), ("idle_timeout_ms", l.idleTimeoutMs),
                    ("max_rows_per_predict", l.maxRowsPerPredict), ("max_dataset_bytes", l.maxDatasetBytes),
                ]
                if self.client.json {
                    self.client.emit(
                        .object([
                            ("server_name", .string(i.serverName)), ("server_version", .string(i.serverVersion)),
                            ("protocol_versions", .uints(i.protocolVersions)),
                            ("schema_packages", .strings(i.schemaPackages)),
                            ("limits", .object(limits.map { ($0.0, JSON.uint(UInt64($0.1))) })),
                            ("file_descriptor_set_bytes", .uint(UInt64(i.fileDescriptorSet.count))),
                            ("started_unix_ms", .uint(i.startedUnixMs)),
                            ("replica_id", .string(i.replicaId)), ("metrics_enabled", .bool(i.metricsEnabled)),
                            ("authentication", .bool(i.authentication)), ("tls", .bool(i.tls)),
                            ("client_certificates", .bool(i.clientCertificates)),
                        ])
                    )
                    return
                }
                var lines = [
                    "server     \(i.serverName) \(i.serverVersion) at \(self.client.server)",
                    "protocol   \(i.protocolVersions.map(String.init).joined(separator: ", "))",
                    "schemas    \(i.schemaPackages.joined(separator: ", "))",
                    "started    \(Output.date(i.startedUnixMs))",
                    "descriptors \(Output.bytes(UInt64(i.fileDescriptorSet.count)))",
                    "replica    \(i.replicaId.isEmpty ? "-" : i.replicaId)",
                    "security   \(i.authentication ? "tokens" : "no tokens"), "
                        + "\(i.tls ? (i.clientCertificates ? "mutual TLS" : "TLS") : "plaintext")",
                    "metrics    \(i.metricsEnabled ? "on (/metrics)" : "off")",
                    "limits",
                ]
                lines += limits.map { "  \($0.0.padding(28))\($0.1)" }
                Output.line(lines.joined(separator: "\n"))
            }
        }
    }
}

extension String {
    func padding(_ width: Int) -> String { self + String(repeating: " ", count: max(1, width - self.count)) }
}
