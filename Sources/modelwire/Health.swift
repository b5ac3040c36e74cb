import ArgumentParser
import ModelwireClient
import ModelwireCodec

extension ModelwireCommand {
    /// `modelwire health`: liveness and readiness; exits 1 unless the server is ready.
    struct Health: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the server: live, ready, draining, models and jobs. Exits 1 unless it is ready."
        )
        @OptionGroup var client: ClientOptions

        func run() async throws {
            try await self.client.run("health") { client in
                let h = try await client.health(options: self.client.callOptions)
                if self.client.json {
                    self.client.emit(
                        .object([
                            ("live", .bool(h.live)), ("ready", .bool(h.ready)), ("draining", .bool(h.draining)),
                            ("models_loaded", .uint(UInt64(h.modelsLoaded))),
                            ("jobs_running", .uint(UInt64(h.jobsRunning))),
                            ("jobs_queued", .uint(UInt64(h.jobsQueued))),
                        ])
                    )
                } else {
                    let state = h.draining ? "draining" : h.ready ? "ready" : h.live ? "live, not ready" : "not live"
                    Output.line(
                        "\(self.client.server): \(state); \(h.modelsLoaded) model versions loaded, "
                            + "\(h.jobsRunning) jobs running, \(h.jobsQueued) queued"
                    )
                }
                if !h.ready || h.draining { throw ExitCode.failure }
            }
        }
    }
}
