import ArgumentParser
import ModelwireClient
import ModelwireCodec

extension ModelwireCommand {
    /// `modelwire jobs ...`: training jobs.
    struct Jobs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List, watch and cancel training jobs.",
            subcommands: [List.self, Watch.self, Cancel.self],
            defaultSubcommand: List.self
        )

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List jobs, newest first.")
            @OptionGroup var client: ClientOptions

            func run() async throws {
                try await self.client.run("jobs list") { client in
                    let jobs = try await client.listJobs(options: self.client.callOptions)
                    if self.client.json {
                        self.client.emit(.object([("jobs", .array(jobs.map(Shapes.job)))]))
                        return
                    }
                    guard !jobs.isEmpty else {
                        Output.line("no jobs")
                        return
                    }
                    let rows = jobs.map { j -> [String] in
                        let progress =
                            j.lastProgress.map { "epoch \($0.epoch)/\($0.epochs) loss \(Output.fixed($0.loss))" } ?? "-"
                        let outcome =
                            j.result.map { "version \($0.version)" }
                            ?? j.error.map { "\(Names.status($0.code)): \($0.message)" } ?? ""
                        return [j.id, j.model, j.state.description, progress, Output.date(j.createdUnixMs), outcome]
                    }
                    Output.line(Output.table(["JOB", "MODEL", "STATE", "PROGRESS", "CREATED", "OUTCOME"], rows))
                }
            }
        }

        struct Watch: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Follow a job's progress until it ends.")
            @OptionGroup var client: ClientOptions
            @Argument(help: "The job id.") var job: String

            func run() async throws {
                try await self.client.run("jobs watch") { client in
                    let events = try await client.watchJob(id: self.job, options: self.client.callOptions)
                    var view = ProgressView(json: self.client.json)
                    let result = try await view.follow(events, options: self.client)
                    if !self.client.json {
                        if let result {
                            Output.line(ProgressView.summary(result))
                        } else {
                            let job = try await client.getJob(id: self.job, options: self.client.callOptions)
                            Output.line("job \(job.id) \(job.state)")
                        }
                    }
                }
            }
        }

        struct Cancel: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Stop a queued or running job.")
            @OptionGroup var client: ClientOptions
            @Argument(help: "The job id.") var job: String

            func run() async throws {
                try await self.client.run("jobs cancel") { client in
                    let job = try await client.cancelJob(id: self.job, options: self.client.callOptions)
                    if self.client.json {
                        self.client.emit(Shapes.job(job))
                    } else {
                        Output.line("job \(job.id) \(job.state)")
                    }
                }
            }
        }
    }
}
