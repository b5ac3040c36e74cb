import Foundation
import ModelwireClient
import ModelwireCodec
import ModelwireProtocol
import ModelwireServer
import Testing

/// Tune (issue 15) through the real client against the real server: a grid scored by stratified
/// k-fold cross-validation, a progress event per trial, the best refit and stored as the next
/// version with the trial table, cancellation, and bad requests refused before a job exists.
@Suite struct TuneCallTests {
    static func tuneRequest(_ data: V1.Dataset, grid: [V1.TuneParameter], folds: UInt32 = 3) -> V1.TuneRequest {
        V1.TuneRequest(
            model: "iris",
            data: .inlineData(data),
            spec: V1.ModelSpec(family: .tree(V1.DecisionTreeSpec())),
            grid: grid,
            seed: 3,
            folds: folds
        )
    }

    static func drain(_ events: TrainEvents) async throws -> [V1.TrainEvent] {
        var all: [V1.TrainEvent] = []
        for try await event in events { all.append(event) }
        return all
    }

    @Test("a tree grid: a trial per progress event, the best refit as the next version with the table")
    func treeGrid() async throws {
        let iris = try Fixtures.dataset("iris")
        try await TestServer.with(configure: { $0.maxConcurrentJobs = 2 }) { server in
            try await server.client { client in
                let request = Self.tuneRequest(
                    iris,
                    grid: [
                        V1.TuneParameter(name: "max_depth", values: ["1", "3", "none"]),
                        V1.TuneParameter(name: "criterion", values: ["gini", "entropy"]),
                    ]
                )
                let events = try await Self.drain(try await client.tune(request))
                guard case .accepted? = events.first?.event else {
                    Issue.record("the first event is not accepted: \(String(describing: events.first))")
                    return
                }
                let trials = events.compactMap { event -> V1.TrainProgress? in
                    if case .progress(let p)? = event.event, p.trial != nil { return p }
                    return nil
                }
                #expect(trials.count == 6)
                #expect(trials.map(\.epoch) == Array(1...6) && trials.allSatisfy { $0.epochs == 6 })
                #expect(Set(trials.compactMap { $0.trial?.index }) == Set(0..<6))
                guard case .result(let result)? = events.last?.event, let table = result.tune else {
                    Issue.record("the last event is not a result with a table")
                    return
                }
                #expect(result.model == "iris" && result.version == 1)
                #expect(table.metric == .accuracy && table.greaterIsBetter && table.folds == 3 && table.stratified)
                #expect(table.combinations == 6 && table.trials.count == 6)
                #expect(table.trials.allSatisfy { $0.foldScores.count == 3 })
                #expect(
                    table.trials[0].settings == [
                        V1.TuneSetting(name: "max-depth", value: "1"), V1.TuneSetting(name: "criterion", value: "gini"),
                    ]
                )
                let best = table.trials[Int(table.best)]
                #expect(best.rank == 1 && table.trials.allSatisfy { $0.mean <= best.mean })
                #expect(Set(table.trials.map(\.rank)) == Set(1...6))
                // Stumps separate one class of three; deeper trees win.
                #expect(table.trials[0].mean < 0.7 && best.mean > 0.9 && best.settings[0].value != "1")
                let info = try await client.describeModel(V1.ModelRef(name: "iris"))
                #expect(info.version == 1)
                guard case .tree(let tree)? = info.spec?.family else {
                    Issue.record("the refit version is not a tree")
                    return
                }
                #expect(tree.maxDepth == (best.settings[0].value == "none" ? 0 : UInt32(best.settings[0].value)!))
                #expect(tree.criterion == (best.settings[1].value == "gini" ? .gini : .entropy))
                let exported = try await client.exportModel(V1.ModelRef(name: "iris"))
                let file = try V1.ModelFile(serializedBytes: exported.modelFile)
                #expect(file.tune == table)
            }
        }
    }

    @Test("a search is cancelled with CancelJob and makes no version")
    func cancel() async throws {
        let digits = try Fixtures.dataset("digits")
        try await TestServer.with { server in
            try await server.client { client in
                var request = Self.tuneRequest(
                    digits,
                    grid: [V1.TuneParameter(name: "hidden", values: ["64,64", "128", "32"])],
                    folds: 5
                )
                request.model = "digits"
                request.spec = V1.ModelSpec(family: .dense(V1.DenseNetSpec()))
                request.options = V1.TrainingOptions(epochs: 200)
                let events = try await client.tune(request)
                var job = ""
                do {
                    for try await event in events {
                        if case .accepted? = event.event {
                            job = event.jobId
                            _ = try await client.cancelJob(id: job)
                        }
                    }
                    Issue.record("the cancelled search ended without an error")
                } catch let error as ModelwireError {
                    #expect(error.code == .cancelled, "\(error)")
                }
                #expect(try await client.getJob(id: job).state == .cancelled)
                await expectError(.notFound) { _ = try await client.describeModel(V1.ModelRef(name: "digits")) }
            }
        }
    }

    @Test("bad grids and folds are refused with INVALID_ARGUMENT naming the parameter, before any job")
    func badInput() async throws {
        let iris = try Fixtures.dataset("iris")
        try await TestServer.with { server in
            try await server.client { client in
                func refused(_ request: V1.TuneRequest, _ words: [String]) async throws {
                    let error = await expectError(.invalidArgument) {
                        _ = try await Self.drain(try await client.tune(request))
                    }
                    for word in words {
                        #expect(error?.message.contains(word) == true, "\(word) in \(String(describing: error))")
                    }
                }
                let tooMany = Self.tuneRequest(
                    iris,
                    grid: [
                        V1.TuneParameter(name: "max-depth", values: (1...100).map(String.init)),
                        V1.TuneParameter(name: "min-samples-split", values: (2...101).map(String.init)),
                        V1.TuneParameter(name: "min-samples-leaf", values: (1...100).map(String.init)),
                    ]
                )
                try await refused(tooMany, ["1000000 combinations", "max_trials 1000", "max-depth 100"])
                try await refused(
                    Self.tuneRequest(iris, grid: [V1.TuneParameter(name: "hidden", values: ["64"])]),
                    ["\"hidden\"", "tree", "max-depth"]
                )
                try await refused(
                    Self.tuneRequest(iris, grid: [V1.TuneParameter(name: "max-depth", values: ["3", "deep"])]),
                    ["\"max-depth\"", "deep"]
                )
                try await refused(
                    Self.tuneRequest(iris, grid: [V1.TuneParameter(name: "max-depth", values: ["3"])], folds: 1),
                    ["folds"]
                )
                try await refused(
                    Self.tuneRequest(iris, grid: [V1.TuneParameter(name: "max-depth", values: ["3"])], folds: 60),
                    ["folds 60", "rarest class"]
                )
                var svm = Self.tuneRequest(iris, grid: [V1.TuneParameter(name: "c", values: ["0.1", "1"])])
                svm.spec = V1.ModelSpec(family: .linearSvm(V1.LinearSvmSpec()))
                svm.metric = .logLoss
                try await refused(svm, ["log_loss", "linear SVM"])
                #expect(try await client.listJobs().isEmpty)
            }
        }
    }
}
