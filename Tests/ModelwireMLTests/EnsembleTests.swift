import ModelwireData
import ModelwireTestSupport
import Testing

@testable import ModelwireML

/// Random forests and gradient-boosted trees.
@Suite(.ownThreads) struct EnsembleTests {
    @Test func forestIsTheSameForEveryThreadCount() throws {
        let (train, test) = try bundled("breast_cancer")
        let one = try Trainer.train(spec: .forest(ForestSpec(trees: 12, threads: 1)), dataset: train)
        let two = try Trainer.train(spec: .forest(ForestSpec(trees: 12, threads: 2)), dataset: train)
        let three = try Trainer.train(spec: .forest(ForestSpec(trees: 12, threads: 3)), dataset: train)
        #expect(one.snapshot.parameters == two.snapshot.parameters)
        #expect(one.snapshot.parameters == three.snapshot.parameters)
        let reseeded = try Trainer.train(
            spec: .forest(ForestSpec(trees: 12)),
            options: .defaults { $0.seed = 1 },
            dataset: train
        )
        #expect(reseeded.snapshot.parameters != one.snapshot.parameters)
        let acc = try accuracy(one, on: test)
        #expect(acc >= 0.92, "\(acc)")
        guard case .forest(let f) = one.snapshot.parameters else {
            Issue.record("not a forest")
            return
        }
        #expect(f.trees.count == 12)
        // Bootstrap: the root weight is n (rows drawn with replacement), over fewer distinct rows.
        #expect(f.trees.allSatisfy { $0.weight[0] == Float(train.rows) })
        #expect(f.trees[0].feature != f.trees[1].feature)
    }

    @Test func forestBeatsOneTreeOnDigits() throws {
        let (train, test) = try bundled("digits")
        let forest = try Trainer.train(spec: .forest(ForestSpec(trees: 30, threads: 2)), dataset: train)
        #expect(try accuracy(forest, on: test) >= 0.95)
        let p = try #require(forest.predictProbabilities(Array(test.features.prefix(test.columns))))
        #expect(abs(p.values.reduce(0, +) - 1) < 1e-5)
    }

    @Test func forestRegression() throws {
        var g = SeededGenerator(seed: 4)
        let rows = 300
        let x = (0..<rows * 3).map { _ in g.nextUnitFloat() * 4 - 2 }
        let y = (0..<rows).map { (r: Int) -> Float in
            let a = x[3 * r]
            let b = x[3 * r + 1]
            return a * a - b
        }
        let data = Dataset(featureNames: ["a", "b", "c"], features: x, targets: .values(y))
        let model = try Trainer.train(spec: .forest(ForestSpec(trees: 20)), dataset: data)
        guard case .regression(let m) = try model.evaluate(data) else {
            Issue.record("not a regressor")
            return
        }
        #expect(m.r2 > 0.9)
        let boosted = try Trainer.train(spec: .gbdt(GradientBoostingSpec(minSamplesLeaf: 5)), dataset: data)
        guard case .regression(let b) = try boosted.evaluate(data) else {
            Issue.record("not a regressor")
            return
        }
        #expect(b.r2 > 0.9)
    }

    @Test("gbdt training loss decreases", arguments: ["breast_cancer", "iris"])
    func gbdtLossDecreases(name: String) throws {
        let (train, test) = try bundled(name)
        var losses = [Float]()
        let model = try Trainer.train(
            spec: .gbdt(GradientBoostingSpec(iterations: 30)),
            dataset: train,
            progress: { losses.append($0.loss) }
        )
        losses.removeLast()  // the summary's report repeats the last loss
        #expect(losses.count == 30)
        #expect(zip(losses, losses.dropFirst()).allSatisfy { $1 <= $0 + 1e-6 })
        #expect(losses.last! < losses.first! / 2)
        #expect(try accuracy(model, on: test) >= 0.9)
        guard case .gbdt(let p) = model.snapshot.parameters else {
            Issue.record("not gbdt")
            return
        }
        let classes = train.classNames.count
        #expect(p.outputs == (classes == 2 ? 1 : classes))
        #expect(p.trees.count == 30 * p.outputs)
        #expect(p.trees.allSatisfy { $0.feature.filter { $0 < 0 }.count <= 31 })
    }

    @Test func gbdtStopsEarly() throws {
        let (train, _) = try bundled("breast_cancer")
        let model = try Trainer.train(
            spec: .gbdt(
                GradientBoostingSpec(
                    iterations: 500,
                    learningRate: 0.5,
                    earlyStopping: .on,
                    validationFraction: 0.2,
                    iterationsWithoutChange: 5
                )
            ),
            dataset: train
        )
        #expect(model.snapshot.training.earlyStopped)
        #expect(model.snapshot.training.epochsRun < 500)
        #expect(GradientBoosting.shouldStop([-3, -2, -2, -2], patience: 2, tolerance: 0))
        #expect(!GradientBoosting.shouldStop([-3, -2, -1.5, -2], patience: 2, tolerance: 0))
    }

    @Test func badEnsembleParametersAreRejected() throws {
        let (train, _) = try bundled("iris")
        let forests: [(ForestSpec, String)] = [
            (ForestSpec(trees: 0), "trees"), (ForestSpec(trees: 1_000_000), "trees"),
            (ForestSpec(threads: 0), "threads"),
            (ForestSpec(tree: TreeSpec(maxBins: 1)), "maxBins"), (ForestSpec(maxFeatures: .fraction(0)), "maxFeatures"),
        ]
        for (spec, name) in forests {
            let error = #expect(throws: TrainingError.self) { try Trainer.train(spec: .forest(spec), dataset: train) }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.hasPrefix(name) == true, "\(error?.message ?? "")")
        }
        let boosted: [(GradientBoostingSpec, String)] = [
            (GradientBoostingSpec(iterations: 0), "iterations"),
            (GradientBoostingSpec(learningRate: .nan), "learningRate"),
            (GradientBoostingSpec(maxLeafNodes: 1), "maxLeafNodes"), (GradientBoostingSpec(maxBins: 65536), "maxBins"),
            (GradientBoostingSpec(l2: -1), "l2"), (GradientBoostingSpec(validationFraction: 1), "validationFraction"),
        ]
        for (spec, name) in boosted {
            let error = #expect(throws: TrainingError.self) { try Trainer.train(spec: .gbdt(spec), dataset: train) }
            #expect(error?.message.hasPrefix(name) == true, "\(error?.message ?? "")")
        }
    }

    /// Every split of a boosting tree is the best (feature, bin) a naive search over the node's rows
    /// finds (min rows and hessian per child, first best wins), and every leaf holds −rate·G/(H + λ):
    /// checks the packed-bin histogram kernel, the subtraction trick and the node totals. 5 features
    /// (one padded group of four), byte bins and, with 600 values in feature 1, 2-byte bins.
    @Test("gbdt trees split where a naive search does", arguments: [false, true])
    func gradientTreeMatchesNaiveSearch(wide: Bool) {
        var g = SeededGenerator(seed: 21)
        let (rows, columns) = (900, 5)
        var x = [Float]()
        let distinct: [UInt64] = (0..<columns).map { f in f == 1 && wide ? 600 : UInt64(7 + 40 * f) }
        for _ in 0..<rows {
            for f in 0..<columns { x.append(Float(g.next() % distinct[f])) }
        }
        let bins = FeatureBins(features: x, rows: rows, columns: columns, maxBins: wide ? 1000 : 255)
        #expect((bins.maxBinCount > 256) == wide)
        var gradients = [Float]()
        var hessians = [Float]()
        for r in 0..<rows {
            let signal: Float = x[r * columns] / 10 - x[r * columns + 2] / 90
            gradients.append(signal + g.nextUnitFloat() - 0.5)
            hessians.append(0.05 + g.nextUnitFloat() / 5)
        }
        let (minLeaf, lambda, rate) = (10, 0.5, 0.1)
        let grower = GradientTreeGrower(
            bins: bins,
            maxLeafNodes: 12,
            maxDepth: nil,
            minSamplesLeaf: minLeaf,
            l2: lambda,
            learningRate: rate
        )
        let tree = grower.grow(gradients: gradients, hessians: hessians).tree
        #expect(tree.feature.filter { $0 < 0 }.count == 12)
        func visit(_ node: Int, _ members: [Int]) {
            let G = members.reduce(0.0) { $0 + Double(gradients[$1]) }
            let H = members.reduce(0.0) { $0 + Double(hessians[$1]) }
            guard tree.feature[node] >= 0 else {
                #expect(abs(Double(tree.value[node]) + rate * G / (H + lambda)) < 1e-5)
                return
            }
            var best: (gain: Double, feature: Int, threshold: Float)?
            for f in 0..<columns {
                let present = Set(members.map { Int(bins.bins[f * rows + $0]) }).sorted()
                for (k, bin) in present.dropLast().enumerated() {
                    let left = members.filter { Int(bins.bins[f * rows + $0]) <= bin }
                    let gl = left.reduce(0.0) { $0 + Double(gradients[$1]) }
                    let hl = left.reduce(0.0) { $0 + Double(hessians[$1]) }
                    guard left.count >= minLeaf, members.count - left.count >= minLeaf else { continue }
                    let (gr, hr) = (G - gl, H - hl)
                    let scoreLeft: Double = gl * gl / (hl + lambda)
                    let scoreRight: Double = gr * gr / (hr + lambda)
                    let gain = scoreLeft + scoreRight - G * G / (H + lambda)
                    if gain > (best?.gain ?? 0) + 1e-9 {
                        best = (gain, f, bins.threshold(feature: f, left: bin, right: present[k + 1]))
                    }
                }
            }
            #expect(best?.feature == Int(tree.feature[node]) && best?.threshold == tree.threshold[node])
            let f = Int(tree.feature[node])
            let goLeft = members.filter { x[$0 * columns + f] <= tree.threshold[node] }
            visit(Int(tree.left[node]), goLeft)
            visit(Int(tree.right[node]), members.filter { x[$0 * columns + f] > tree.threshold[node] })
        }
        visit(0, Array(0..<rows))
    }
}
