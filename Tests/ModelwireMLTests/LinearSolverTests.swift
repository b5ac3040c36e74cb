import Foundation
import ModelwireData
import ModelwireTestSupport
import Testing

@testable import ModelwireML

/// The full-data linear solvers: L-BFGS logistic regression and dual coordinate descent SVMs.
@Suite(.ownThreads) struct LinearSolverTests {
    /// Two Gaussian-ish blobs per class in `columns` dimensions; `separable` pushes them apart.
    func blobs(rows: Int, columns: Int, classes: Int, separable: Bool, seed: UInt64) -> Dataset {
        var g = SeededGenerator(seed: seed)
        var x = [Float]()
        var ids = [Int]()
        for r in 0..<rows {
            let k = r % classes
            for c in 0..<columns {
                let centre: Float = c % classes == k ? (separable ? 6 : 1) : 0
                x.append(centre + g.nextUnitFloat() * 2 - 1)
            }
            ids.append(k)
        }
        return Dataset(
            featureNames: (0..<columns).map { "f\($0)" },
            features: x,
            targets: .classes(names: (0..<classes).map { "\($0)" }, ids: ids)
        )
    }

    func objective(_ data: Dataset, c: Double = 1) -> LogisticObjective {
        LogisticObjective(
            x: Matrix(rows: data.rows, columns: data.columns, values: data.features),
            classIDs: data.classIDs,
            classes: data.classNames.count,
            c: c,
            threads: 1
        )
    }

    @Test("logistic gradient matches finite differences", arguments: [2, 3])
    func logisticGradient(classes: Int) {
        let data = self.blobs(rows: 30, columns: 4, classes: classes, separable: false, seed: 3)
        let f = self.objective(data, c: 0.5)
        var g = SeededGenerator(seed: 9)
        let point = (0..<f.parameterCount).map { _ in Double(g.nextUnitFloat()) - 0.5 }
        let (_, analytic) = f.evaluate(point)
        for i in point.indices {
            var plus = point
            var minus = point
            plus[i] += 1e-3
            minus[i] -= 1e-3
            let numeric = (f.evaluate(plus).0 - f.evaluate(minus).0) / 2e-3
            #expect(
                abs(numeric - analytic[i]) <= 1e-3 + 1e-2 * abs(numeric),
                "parameter \(i): \(analytic[i]) vs \(numeric)"
            )
        }
    }

    @Test("L-BFGS converges to the gradient tolerance", arguments: [false, true])
    func logisticConverges(separable: Bool) throws {
        let data = self.blobs(rows: 90, columns: 5, classes: 3, separable: separable, seed: 5)
        let f = self.objective(data)
        // 1e-5: the scores come from Float products, which bounds how small the gradient can get.
        let result = try LBFGS(tolerance: 1e-5, maxIterations: 500).minimize(
            from: Array(repeating: 0, count: f.parameterCount),
            objective: f.evaluate,
            isCancelled: { false }
        )
        #expect(result.converged)
        let (_, gradient) = f.evaluate(result.x)
        #expect(gradient.allSatisfy { abs($0) <= 1e-5 }, "\(gradient)")
        let model = try Trainer.train(
            spec: .logistic(LinearSpec()),
            options: .defaults { $0.standardize = false },
            dataset: data
        )
        let trainAccuracy = try accuracy(model, on: data)
        #expect(separable ? trainAccuracy == 1 : trainAccuracy > 0.6)
    }

    @Test func binaryLogisticIsBinomial() throws {
        let (train, test) = try bundled("breast_cancer")
        let model = try Trainer.train(spec: .logistic(LinearSpec()), dataset: train)
        guard case .linear(let p) = model.snapshot.parameters else {
            Issue.record("not linear")
            return
        }
        #expect(
            p.outputs == 2 && p.biases[0] == 0
                && stride(from: 0, to: p.weights.count, by: 2).allSatisfy { p.weights[$0] == 0 }
        )
        #expect(model.snapshot.training.epochsRun <= 100)
        #expect(try accuracy(model, on: test) >= 0.97)
    }

    @Test func logisticMatchesScikitLearnOnDigits() throws {
        // scikit-learn 1.9 LogisticRegression() on the standardised split: test accuracy 0.967.
        let (train, test) = try bundled("digits")
        let model = try Trainer.train(spec: .logistic(LinearSpec()), dataset: train)
        #expect(try accuracy(model, on: test) >= 0.96)
        let again = try Trainer.train(spec: .logistic(LinearSpec()), dataset: train)
        #expect(again.snapshot.parameters == model.snapshot.parameters)
    }

    @Test("dual coordinate descent meets the KKT conditions", arguments: [LinearSpec.SVMLoss.squaredHinge, .hinge])
    func svmKKT(loss: LinearSpec.SVMLoss) throws {
        let data = self.blobs(rows: 80, columns: 3, classes: 2, separable: false, seed: 8)
        let problem = DualCoordinateDescent.Problem(data)
        let labels = data.classIDs.map { $0 == 1 ? 1.0 : -1.0 }
        let solver = DualCoordinateDescent(c: 0.7, loss: loss, tolerance: 1e-7, maxIterations: 100_000, shrinking: true)
        var g = SeededGenerator(seed: 1)
        let s = try solver.solve(problem, labels: labels, generator: &g, isCancelled: { false })
        #expect(s.converged)
        // w = Σ αᵢ yᵢ xᵢ, and each αᵢ is optimal given the others.
        for t in 0..<problem.width {
            let sum = (0..<problem.rows).reduce(0.0) {
                $0 + s.alpha[$1] * labels[$1] * problem.x[$1 * problem.stride + t]
            }
            #expect(abs(sum - s.w[t]) < 1e-9)
        }
        let tol = 1e-6
        for i in 0..<problem.rows {
            let margin = (0..<problem.width).reduce(0.0) { $0 + s.w[$1] * problem.x[i * problem.stride + $1] }
            let gradient = labels[i] * margin - 1 + s.alpha[i] * solver.diagonal
            #expect(s.alpha[i] >= 0 && s.alpha[i] <= solver.upperBound)
            if s.alpha[i] == 0 {
                #expect(gradient >= -tol)
            } else if s.alpha[i] == solver.upperBound {
                #expect(gradient <= tol)
            } else {
                #expect(abs(gradient) <= tol)
            }
        }
    }

    @Test("the SVM's primal (L-BFGS) and dual (coordinate descent) solutions agree", arguments: [2, 3])
    func svmPrimalEqualsDual(classes: Int) throws {
        let data = self.blobs(rows: 90, columns: 4, classes: classes, separable: false, seed: 21)
        let primal = try Trainer.train(spec: .svm(LinearSpec(solver: .lbfgs, tolerance: 1e-8)), dataset: data)
        let dual = try Trainer.train(
            spec: .svm(LinearSpec(solver: .dualCoordinateDescent, tolerance: 1e-8)),
            dataset: data
        )
        guard case .linear(let p) = primal.snapshot.parameters, case .linear(let d) = dual.snapshot.parameters else {
            Issue.record("not linear")
            return
        }
        #expect(
            zip(p.weights + p.biases, d.weights + d.biases).allSatisfy { abs($0 - $1) < 1e-3 },
            "\(p.weights) vs \(d.weights)"
        )
        #expect(
            abs(primal.snapshot.training.finalLoss! - dual.snapshot.training.finalLoss!) < 1e-3 * dual.snapshot.training
                .finalLoss!
        )
    }

    @Test(
        "linear SVM separates a separable set and converges on a non-separable one",
        arguments: [false, true],
        [LinearSpec.Solver.lbfgs, .dualCoordinateDescent]
    )
    func svmConverges(separable: Bool, solver: LinearSpec.Solver) throws {
        let data = self.blobs(rows: 120, columns: 4, classes: 3, separable: separable, seed: 12)
        let model = try Trainer.train(spec: .svm(LinearSpec(solver: solver)), dataset: data)
        #expect(model.snapshot.training.epochsRun < 1000)
        #expect(model.decisionScores(data.features).columns == 3)
        let trainAccuracy = try accuracy(model, on: data)
        #expect(separable ? trainAccuracy == 1 : trainAccuracy > 0.6)
        let hinge = try Trainer.train(spec: .svm(LinearSpec(svmLoss: .hinge)), dataset: data)  // always dual
        #expect(hinge.snapshot.training.epochsRun < 1000)
    }

    @Test func svmOnBundledData() throws {
        // scikit-learn 1.9 LinearSVC() on the standardised splits: breast_cancer 0.974, digits 0.961.
        let (train, test) = try bundled("breast_cancer")
        let model = try Trainer.train(spec: .svm(LinearSpec()), dataset: train)
        #expect(try accuracy(model, on: test) >= 0.96)
        let (dTrain, dTest) = try bundled("digits")
        let digits = try Trainer.train(spec: .svm(LinearSpec()), dataset: dTrain)
        #expect(try accuracy(digits, on: dTest) >= 0.94)
    }

    @Test func badLinearParametersAreRejected() throws {
        let (train, _) = try bundled("iris")
        let bad: [(LinearSpec, String)] = [
            (LinearSpec(c: 0), "C"), (LinearSpec(c: -1), "C"), (LinearSpec(c: .nan), "C"),
            (LinearSpec(c: .infinity), "C"),
            (LinearSpec(tolerance: 0), "tolerance"), (LinearSpec(maxIterations: 0), "maxIterations"),
            (LinearSpec(solver: .dualCoordinateDescent), "solver"),
        ]
        for (spec, name) in bad {
            let error = #expect(throws: TrainingError.self) { try Trainer.train(spec: .logistic(spec), dataset: train) }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.hasPrefix(name) == true, "\(error?.message ?? "")")
        }
        let svm = #expect(throws: TrainingError.self) {
            try Trainer.train(spec: .svm(LinearSpec(solver: .lbfgs, svmLoss: .hinge)), dataset: train)
        }
        #expect(svm?.message.hasPrefix("solver") == true)
        // A regression target (numeric values, no class labels) for the classifier-only families.
        let numeric = Dataset(featureNames: ["x"], features: [1, 2, 3, 4], targets: .values([0.5, 1, 1.5, 2]))
        for spec in [ModelSpec.svm(LinearSpec()), .logistic(LinearSpec())] {
            let error = #expect(throws: TrainingError.self) { try Trainer.train(spec: spec, dataset: numeric) }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.contains("need class labels") == true, "\(error?.message ?? "")")
        }
    }
}
