import Foundation
import Glibc
import ModelwireCodec
import ModelwireData
import ModelwireDataWire
import ModelwireML
import ModelwireProtocol
import Testing

@testable import ModelwireServer

/// `ModelService` bodies called directly, without a connection or a socket.
@Suite("ModelService")
struct ServiceTests {
    @Test("health: ready once the repository is loaded and not draining")
    func health() throws {
        let service = try Fixtures.service()
        #expect(service.health(V1.HealthRequest(), .detached).ready)
        #expect(service.health(V1.HealthRequest(), .detached).modelsLoaded == 1)
        service.isDraining = true
        let draining = service.health(V1.HealthRequest(), .detached)
        #expect(!draining.ready && draining.draining && draining.live)
    }

    @Test("ServerInfo carries the descriptor set unless the request omits it")
    func serverInfoWithoutSchema() throws {
        let service = try Fixtures.service(withModel: false)
        let full = service.serverInfo(V1.ServerInfoRequest(), .detached)
        #expect(full.fileDescriptorSet.count > 10_000)
        let brief = service.serverInfo(V1.ServerInfoRequest(omitFileDescriptorSet: true), .detached)
        #expect(brief.fileDescriptorSet.isEmpty)
        #expect(brief.serverName == full.serverName && brief.limits == full.limits)
    }

    @Test("predict is checked before it is computed: model, feature count, row limit, finite values")
    func preparePredictRefusesBadInput() throws {
        let service = try Fixtures.service { $0.limits.maxRowsPerPredict = 3 }
        #expect(
            thrownError { _ = try service.preparePredict(V1.PredictRequest(model: V1.ModelRef(name: "nope"))) }?.code
                == .notFound
        )
        let wrongCount = thrownError {
            _ = try service.preparePredict(Fixtures.predictRequest(columns: 3, values: [1, 2, 3]))
        }
        #expect(wrongCount?.code == .invalidArgument)
        #expect(wrongCount?.message.contains("expects 2 features") == true)
        #expect(
            thrownError { _ = try service.preparePredict(Fixtures.predictRequest(values: [])) }?.code
                == .invalidArgument
        )
        let tooMany = thrownError {
            _ = try service.preparePredict(Fixtures.predictRequest(values: Array(repeating: 0, count: 8)))
        }
        #expect(tooMany?.code == .resourceExhausted)
        let nan = thrownError { _ = try service.preparePredict(Fixtures.predictRequest(values: [0, 0, 1, .nan])) }
        #expect(nan?.code == .invalidArgument)
        #expect(nan?.message.contains("row 2, feature 2") == true)
        let ok = try service.preparePredict(Fixtures.predictRequest(values: [0, 0, 1, 1]))
        #expect(ok.rowCount == 2)
    }

    @Test("a large predict computed in chunks answers what one forward pass answers")
    func chunkedPredictMatchesOnePass() throws {
        let service = try Fixtures.service()
        let rows = ModelService.predictChunkRows * 2 + 7
        let values = (0..<(rows * 2)).map { Float(($0 * 7919) % 1000) / 1000 }
        var request = Fixtures.predictRequest(values: values)
        request.includeProbabilities = true
        let prepared = try service.preparePredict(request)
        let response = try service.predict(
            prepared,
            threads: 1,
            timings: V1.CallTimings(),
            CallContext(timeoutMilliseconds: 0)
        )
        let direct = prepared.entry.model.predict(values)
        #expect(response.classIds == direct.classIDs.map { UInt32($0) })
        #expect(response.scores?.values == direct.scores?.values)
        #expect(response.timings?.batchRows == UInt32(rows))
    }

    @Test("work on the worker pool stops when its call is cancelled or its deadline has passed")
    func callContextStopsWork() throws {
        let service = try Fixtures.service()
        let prepared = try service.preparePredict(Fixtures.predictRequest(values: [0, 0]))
        let cancelled = CallContext(timeoutMilliseconds: 0)
        cancelled.cancel()
        #expect(
            thrownError { _ = try service.predict(prepared, threads: 1, timings: V1.CallTimings(), cancelled) }?.code
                == .cancelled
        )
        let late = CallContext(timeoutMilliseconds: 1)
        usleep(5_000)
        #expect(
            thrownError { _ = try service.predict(prepared, threads: 1, timings: V1.CallTimings(), late) }?.code
                == .deadlineExceeded
        )
        let rows = V1.Dataset(Fixtures.dataset())
        let evaluate = V1.EvaluateRequest(model: V1.ModelRef(name: "m"), data: .inlineData(rows))
        #expect(thrownError { _ = try service.evaluate(evaluate, cancelled) }?.code == .cancelled)
        #expect(try service.evaluate(evaluate, CallContext(timeoutMilliseconds: 0)).evaluation != nil)
    }

    @Test("an upload is assembled chunk by chunk within its limit, and names one dataset")
    func datasetUpload() throws {
        let service = try Fixtures.service { $0.limits.maxDatasetBytes = 100 }
        let chunk = V1.Dataset(featureNames: ["x"], features: V1.Tensor(columns: 1, values: [1, 2]), targets: [1, 2])
        var upload = try service.startUpload(V1.UploadDatasetRequest(name: "d"))
        try upload.append(V1.UploadDatasetRequest(name: "d", rows: chunk), payloadBytes: 40)
        try upload.append(V1.UploadDatasetRequest(rows: chunk), payloadBytes: 40)
        #expect(upload.dataset.features?.values == [1, 2, 1, 2])
        #expect(
            thrownError { try upload.append(V1.UploadDatasetRequest(name: "other"), payloadBytes: 1) }?.code
                == .invalidArgument
        )
        #expect(
            thrownError { try upload.append(V1.UploadDatasetRequest(rows: chunk), payloadBytes: 40) }?.code
                == .resourceExhausted
        )
        #expect(
            thrownError { _ = try service.startUpload(V1.UploadDatasetRequest(name: "../x")) }?.code == .invalidArgument
        )
        let info = try service.saveUpload(
            try {
                var small = try service.startUpload(V1.UploadDatasetRequest(name: "d"))
                try small.append(V1.UploadDatasetRequest(rows: chunk), payloadBytes: 10)
                return small
            }(),
            .detached
        )
        #expect(info.rows == 2)
        #expect(service.listDatasets(V1.ListDatasetsRequest(), .detached).datasets.map(\.name) == ["d"])
    }

    @Test("one error policy: typed errors keep their status, a full disk is resource_exhausted, anything else internal")
    func errorMapping() {
        struct Secret: Error {}
        let passthrough = ModelwireError(
            mapping: ModelwireError(.notFound, "gone"),
            logger: Fixtures.quiet,
            operation: "x"
        )
        #expect(passthrough == ModelwireError(.notFound, "gone"))
        let disk = ModelwireError(
            mapping: DurableFiles.Failure(operation: "write", path: "/secret/path", errno: ENOSPC),
            logger: Fixtures.quiet,
            operation: "x"
        )
        #expect(disk.code == .resourceExhausted)
        #expect(!disk.message.contains("/secret/path"))
        let other = ModelwireError(mapping: Secret(), logger: Fixtures.quiet, operation: "call 3 (Evaluate)")
        #expect(other.code == .internal)
        #expect(!other.message.contains("Secret"))
    }

    @Test("the method table has one row per method, in id order, each with its role")
    func methodTable() {
        #expect(ServiceMethod.v1.map(\.descriptor.method) == MethodDescriptor.v1.map(\.method))
        for descriptor in MethodDescriptor.v1 {
            #expect(ServiceMethod.lookup(descriptor).descriptor.id == descriptor.id)
        }
        let admin: Set<V1.Method> = [.deleteModel, .setAlias, .importModel, .exportModel, .quantize, .prune, .distill]
        let predict: Set<V1.Method> = [.predict, .listModels, .describeModel, .health, .serverInfo, .explain]
        for row in ServiceMethod.v1 {
            let expected: ServiceMethod.Role =
                admin.contains(row.descriptor.method)
                ? .admin
                : predict.contains(row.descriptor.method) ? .predict : .train
            #expect(row.role == expected, "\(row.descriptor.name)")
        }
    }
}

/// The alias rules of PROTOCOL.md §10.
@Suite("Aliases")
struct AliasRuleTests {
    @Test("'latest' selects the newest version and cannot be set; an all-digit alias is refused")
    func aliasRules() throws {
        let service = try Fixtures.service()
        _ = try service.repository.store(try Fixtures.modelFile(), name: "m")  // version 2
        let latest = try service.describeModel(
            V1.DescribeModelRequest(model: V1.ModelRef(name: "m", selector: .alias("latest"))),
            .detached
        )
        #expect(latest.version == 2)
        let reserved = thrownError {
            _ = try service.setAlias(V1.SetAliasRequest(name: "m", alias: "latest", version: 1), .detached)
        }
        #expect(reserved?.code == .invalidArgument)
        let digits = thrownError {
            _ = try service.setAlias(V1.SetAliasRequest(name: "m", alias: "2", version: 1), .detached)
        }
        #expect(digits?.code == .invalidArgument)
        #expect(digits?.message.contains("version number") == true)
        #expect(
            try service.setAlias(V1.SetAliasRequest(name: "m", alias: "v2", version: 1), .detached).previousVersion
                == nil
        )
    }
}

/// Evaluate matches columns by name (issue 11 item 1).
@Suite("Columns by name")
struct ColumnsByNameTests {
    /// `Fixtures.dataset()` with its two columns swapped (names and values).
    static func swapped() -> V1.Dataset {
        let rows = V1.Dataset(Fixtures.dataset())
        let values = rows.features!.values
        var swapped: [Float] = []
        for row in stride(from: 0, to: values.count, by: 2) { swapped += [values[row + 1], values[row]] }
        var copy = rows
        copy.featureNames = ["y", "x"]
        copy.features = V1.Tensor(columns: 2, values: swapped)
        return copy
    }

    @Test("the same columns in another order evaluate the same as in the model's order")
    func reorderedColumnsEvaluateTheSame() throws {
        let service = try Fixtures.service()
        let inOrder = try service.evaluate(
            V1.EvaluateRequest(model: V1.ModelRef(name: "m"), data: .inlineData(V1.Dataset(Fixtures.dataset()))),
            .detached
        )
        let reordered = try service.evaluate(
            V1.EvaluateRequest(model: V1.ModelRef(name: "m"), data: .inlineData(Self.swapped())),
            .detached
        )
        #expect(reordered.evaluation == inOrder.evaluation)
        var unnamed = Self.swapped()
        unnamed.featureNames = []  // without names the columns are taken by position: a different answer
        let positional = try service.evaluate(
            V1.EvaluateRequest(model: V1.ModelRef(name: "m"), data: .inlineData(unnamed)),
            .detached
        )
        #expect(positional.evaluation != inOrder.evaluation)
    }

    @Test("missing and unknown columns are invalid_argument naming them")
    func missingAndExtraColumns() throws {
        let service = try Fixtures.service()
        var rows = Self.swapped()
        rows.featureNames = ["y", "z"]
        let error = thrownError {
            _ = try service.evaluate(
                V1.EvaluateRequest(model: V1.ModelRef(name: "m"), data: .inlineData(rows)),
                .detached
            )
        }
        #expect(error?.code == .invalidArgument)
        #expect(
            error?.message
                == "model m v1 takes the features x, y; these rows lack x and have columns it does not know: z"
        )
    }
}

/// Continuous labels are not trained as classes (issue 11 item 5).
@Suite("Label kind")
struct LabelKindTests {
    static func rows(classNames: [String], rows: Int) -> V1.Dataset {
        V1.Dataset(
            featureNames: ["x"],
            features: V1.Tensor(columns: 1, values: (0..<rows).map(Float.init)),
            classNames: classNames,
            classIds: (0..<rows).map { UInt32($0 % classNames.count) }
        )
    }

    @Test("Train refuses a label that looks continuous, up front, and suggests regression")
    func trainRefusesContinuousLabels() throws {
        let service = try Fixtures.service()
        let continuous = Self.rows(classNames: (0..<30).map { "\(Double($0) + 0.5)" }, rows: 60)
        let error = thrownError {
            _ = try service.train(
                V1.TrainRequest(model: "c", data: .inlineData(continuous)),
                subscriber: { _, _, _ in }
            )
        }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("task regression") == true)
        #expect(service.jobs.list().isEmpty)
    }

    @Test("categorical labels pass: names, few integers, many integers over many rows")
    func categoricalLabelsPass() throws {
        try Self.rows(classNames: ["setosa", "versicolor", "virginica"], rows: 30).checkClassLabelsAreCategorical()
        try Self.rows(classNames: (0..<10).map(String.init), rows: 30).checkClassLabelsAreCategorical()
        try Self.rows(classNames: (0..<30).map(String.init), rows: 3000).checkClassLabelsAreCategorical()
        let integralButMany = Self.rows(classNames: (0..<214).map { "\($0 * 3 + 25)" }, rows: 442)  // diabetes' target
        #expect(thrownError { try integralButMany.checkClassLabelsAreCategorical() }?.code == .invalidArgument)
    }
}

/// Contradictions in a TrainRequest are refused before a job exists (issue 11 item 14).
@Suite("Train request rules")
struct TrainRequestRuleTests {
    static let rows = V1.Dataset(Fixtures.dataset())

    static func refusal(_ request: V1.TrainRequest) throws -> ModelwireError? {
        let service = try Fixtures.service()
        let error = thrownError { _ = try service.train(request, subscriber: { _, _, _ in }) }
        #expect(service.jobs.list().isEmpty, "a job was accepted")
        return error
    }

    @Test("regression with logistic or svm, regression on class labels, val-accuracy without a split")
    func contradictions() throws {
        let logistic = V1.ModelSpec(task: .regression, family: .logistic(V1.LogisticRegressionSpec()))
        let e1 = try Self.refusal(V1.TrainRequest(model: "r", data: .inlineData(Self.rows), spec: logistic))
        #expect(e1?.code == .invalidArgument && e1?.message.contains("family logistic") == true)
        let tree = V1.ModelSpec(task: .regression, family: .tree(V1.DecisionTreeSpec()))
        let e2 = try Self.refusal(V1.TrainRequest(model: "r", data: .inlineData(Self.rows), spec: tree))
        #expect(e2?.message.contains("carry class labels") == true)
        var options = V1.TrainingOptions()
        options.earlyStopping = V1.EarlyStopping(monitor: .validationAccuracy)
        let e3 = try Self.refusal(V1.TrainRequest(model: "r", data: .inlineData(Self.rows), options: options))
        #expect(e3?.message.contains("needs a validation split") == true)
        let svm = V1.ModelSpec(task: .regression, family: .linearSvm(V1.LinearSvmSpec()))
        let e4 = try Self.refusal(V1.TrainRequest(model: "r", data: .inlineData(Self.rows), spec: svm))
        #expect(e4?.code == .invalidArgument && e4?.message.contains("family svm") == true)
    }

    @Test("a regression target for a classifier-only family (issue 16)")
    func regressionTargetForAClassifier() throws {
        let numeric = V1.Dataset(
            featureNames: ["x"],
            features: V1.Tensor(columns: 1, values: [1, 2, 3]),
            targets: [1, 2, 3.5]
        )
        for family in [V1.ModelSpec.Family.linearSvm(V1.LinearSvmSpec()), .logistic(V1.LogisticRegressionSpec())] {
            let spec = V1.ModelSpec(task: .classification, family: family)
            let error = try Self.refusal(V1.TrainRequest(model: "c", data: .inlineData(numeric), spec: spec))
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.contains("numeric targets") == true, "\(error?.message ?? "")")
        }
    }
}
