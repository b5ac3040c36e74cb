import Foundation
import ModelwireClient
import ModelwireCodec
import ModelwireProtocol
import Testing

@testable import ModelwireServer

/// Several servers on one repository directory (replicas on a shared volume, issue 13 item 3):
/// each sees the others' versions, aliases and deletions within `--repository-poll-ms`, and two
/// trainings of one model on two servers get distinct versions.
@Suite("Replicas on one repository")
struct ReplicaTests {
    static func twoServers(_ body: (TestServer, TestServer) async throws -> Void) async throws {
        let repository = TestServer.temporaryDirectory()
        try await TestServer.with(repository: repository, configure: { $0.repositoryPollMilliseconds = 100 }) { a in
            try await TestServer.with(repository: repository, configure: { $0.repositoryPollMilliseconds = 100 }) { b in
                try await body(a, b)
            }
        }
    }

    /// Polls `server` until `done` holds for it (within 10 s).
    static func eventually(
        _ server: TestServer,
        sourceLocation: SourceLocation = #_sourceLocation,
        _ done: (ModelwireClient) async throws -> Bool
    ) async throws {
        try await server.client { client in
            for _ in 0..<200 {
                if try await done(client) { return }
                try await Task.sleep(for: .milliseconds(50))
            }
            Issue.record("the replica never saw the change", sourceLocation: sourceLocation)
        }
    }

    /// Polls `server`'s model list until `done` holds for it (within 10 s).
    static func eventually(
        _ server: TestServer,
        sourceLocation: SourceLocation = #_sourceLocation,
        _ done: @escaping ([V1.ModelSummary]) -> Bool
    ) async throws {
        try await eventually(server, sourceLocation: sourceLocation) { done(try await $0.listModels()) }
    }

    @Test("a version trained on one server is served by the other; aliases and deletions follow")
    func versionsAliasesDeletions() async throws {
        let iris = try Fixtures.dataset("iris")
        try await Self.twoServers { a, b in
            try await a.client { client in
                _ = try await client.trainToResult(Fixtures.trainRequest(model: "iris", data: iris, epochs: 2))
            }
            try await Self.eventually(b) { $0.first?.versions.map(\.version) == [1] }
            let answer = try await b.client { client in
                try await client.predict(
                    V1.PredictRequest(model: V1.ModelRef(name: "iris"), inputs: Fixtures.rows(iris, 3))
                )
            }
            #expect(answer.classIds.count == 3)
            // A version b stored is aliased on a, before a has polled it.
            try await b.client { client in
                _ = try await client.trainToResult(Fixtures.trainRequest(model: "iris", data: iris, epochs: 2))
            }
            try await a.client { client in
                _ = try await client.setAlias(model: "iris", alias: "production", version: 2)
            }
            try await Self.eventually(b) { $0.first?.aliases.map(\.name) == ["production"] }
            try await b.client { client in
                _ = try await client.deleteModel(name: "iris", version: 2)
            }
            try await Self.eventually(a) { $0.first?.versions.map(\.version) == [1] && $0.first?.aliases == [] }
        }
    }

    @Test("two servers training one model at once both succeed, with distinct versions")
    func concurrentTrainingsGetDistinctVersions() async throws {
        let iris = try Fixtures.dataset("iris")
        try await Self.twoServers { a, b in
            let versions = try await withThrowingTaskGroup(of: [UInt32].self) { group in
                for server in [a, b, a, b] {
                    group.addTask {
                        try await server.client { client in
                            let request = Fixtures.trainRequest(model: "shared", data: iris, epochs: 1)
                            return [try await client.trainToResult(request).result.version]
                        }
                    }
                }
                return try await group.reduce([], +)
            }
            #expect(Set(versions) == [1, 2, 3, 4], "\(versions)")
            for server in [a, b] {
                try await Self.eventually(server) { $0.first?.versions.map(\.version) == [1, 2, 3, 4] }
            }
        }
    }

    @Test("a dataset uploaded to one server trains on the other; a deletion follows")
    func datasetsAreShared() async throws {
        let iris = try Fixtures.dataset("iris")
        try await Self.twoServers { a, b in
            try await a.client { client in _ = try await client.uploadDataset(name: "iris-rows", dataset: iris) }
            // At once, before b's next poll: a train naming it looks on disk.
            var request = Fixtures.trainRequest(model: "from-shared", data: iris, epochs: 1)
            request.data = .dataset("iris-rows")
            let result = try await b.client { client in try await client.trainToResult(request).result }
            #expect(result.version == 1)
            try await b.client { client in try await client.deleteDataset(name: "iris-rows") }
            try await Self.eventually(a, { try await $0.listDatasets().isEmpty })
        }
    }

    @Test("jobs belong to their replica: a restart fails only its own; others' are followed with GetJob and WatchJob")
    func jobsBelongToTheirReplica() async throws {
        let repository = TestServer.temporaryDirectory()
        let jobs = "\(repository)/.jobs"
        try FileManager.default.createDirectory(atPath: jobs, withIntermediateDirectories: true)
        for (id, replica) in [("job-mine", "a"), ("job-theirs", "b")] {
            let job = V1.Job(id: id, model: "m", state: .running, createdUnixMs: 1, startedUnixMs: 2, replica: replica)
            try Data(try job.serializedBytes()).write(to: URL(fileURLWithPath: "\(jobs)/\(id).pb"))
        }
        let iris = try Fixtures.dataset("iris")
        let configure: (String) -> (inout ServerConfiguration) -> Void = { id in
            {
                $0.replicaID = id
                $0.repositoryPollMilliseconds = 100
            }
        }
        try await TestServer.with(repository: repository, configure: configure("a")) { a in
            try await a.client { client in
                #expect(try await client.serverInfo(includeSchema: false).replicaId == "a")
                let mine = try await client.getJob(id: "job-mine")
                let theirs = try await client.getJob(id: "job-theirs")
                #expect(mine.state == .failed && theirs.state == .running)
                let refused = await expectError(.failedPrecondition) {
                    _ = try await client.cancelJob(id: "job-theirs")
                }
                #expect(refused?.message.contains("runs on replica \"b\"") == true)
            }
            // A job replica b runs is watched from a: progress from its shared record, then the result.
            try await TestServer.with(repository: repository, configure: configure("b")) { b in
                let long = Fixtures.trainRequest(
                    model: "watched",
                    data: iris,
                    spec: .dense(V1.DenseNetSpec(hidden: [V1.DenseLayerSpec(units: 64)])),
                    epochs: 3000
                )
                let training = Task { try await b.client { client in try await client.trainToResult(long) } }
                defer { training.cancel() }
                var jobID = ""
                try await Self.eventually(a) { client in
                    jobID = try await client.listJobs().first { $0.model == "watched" }?.id ?? ""
                    return !jobID.isEmpty
                }
                let events = try await a.client { client in
                    var events: [V1.TrainEvent] = []
                    for try await event in try await client.watchJob(id: jobID) { events.append(event) }
                    return events
                }
                let result = try await training.value.result
                guard case .result(let watched)? = events.last?.event else {
                    Issue.record("the watch from a ended without the result: \(events)")
                    return
                }
                #expect(watched.model == "watched" && watched.version == result.version)
                let epochs = events.compactMap { event -> UInt32? in
                    if case .progress(let p)? = event.event { return p.epoch } else { return nil }
                }
                #expect(!epochs.isEmpty && epochs == epochs.sorted(), "\(epochs)")
            }
        }
    }

    @Test("a half-written version of another server is never loaded, nor removed while its writer lives")
    func halfWrittenVersionsStayInvisible() async throws {
        let iris = try Fixtures.dataset("iris")
        try await Self.twoServers { a, b in
            try await a.client { client in
                _ = try await client.trainToResult(Fixtures.trainRequest(model: "iris", data: iris, epochs: 1))
            }
            // What a live writer's staging directory looks like mid-write (this process is alive).
            let staging = "\(a.repository)/iris/.staging-2-\(WriterTag.current)-1"
            try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: false)
            try Data([0x0A, 0x05]).write(to: URL(fileURLWithPath: "\(staging)/model.pb"))
            try await Task.sleep(for: .milliseconds(400))  // several polls
            try await Self.eventually(b) { $0.first?.versions.map(\.version) == [1] }
            // A third server starting on the repository leaves a live writer's staging directory alone.
            try await TestServer.with(repository: a.repository) { _ in }
            #expect(FileManager.default.fileExists(atPath: staging))
        }
    }
}
