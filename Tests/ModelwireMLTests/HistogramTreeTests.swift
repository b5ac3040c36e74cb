import ModelwireData
import ModelwireTestSupport
import Testing

@testable import ModelwireML

/// Histogram split finding against the exact sort-based search, binning, node weights, limits.
@Suite(.ownThreads) struct HistogramTreeTests {
    /// Small integer features (0...9) and a label that depends on some of them, with noise.
    func integerData(rows: Int, regression: Bool, seed: UInt64) -> Dataset {
        var g = SeededGenerator(seed: seed)
        var x = [Float]()
        var ids = [Int]()
        var values = [Float]()
        for _ in 0..<rows {
            let row = (0..<5).map { _ in Float(g.next() % 10) }
            x += row
            let noise = Int(g.next() % 4)
            ids.append((Int(row[0]) + Int(row[2]) + noise) % 3)
            values.append(row[0] * 2 - row[3] + Float(noise))
        }
        let names = (0..<5).map { "f\($0)" }
        return Dataset(
            featureNames: names,
            features: x,
            targets: regression ? .values(values) : .classes(names: ["a", "b", "c"], ids: ids)
        )
    }

    @Test(
        "histogram tree equals the exact tree on small integer data",
        arguments: [TreeParameters.Criterion.gini, .entropy, .mse]
    )
    func equalsExactTree(criterion: TreeParameters.Criterion) throws {
        let data = self.integerData(rows: 300, regression: criterion == .mse, seed: 7)
        for spec in [TreeSpec(criterion: criterion), TreeSpec(criterion: criterion, maxDepth: 4, minSamplesLeaf: 3)] {
            var exactSpec = spec
            exactSpec.maxBins = nil
            let exact = try Trainer.train(spec: .tree(exactSpec), dataset: data)
            let histogram = try Trainer.train(spec: .tree(spec), dataset: data)
            guard case .tree(let e) = exact.snapshot.parameters, case .tree(let h) = histogram.snapshot.parameters
            else {
                Issue.record("not trees")
                return
            }
            #expect(e.feature.count > 20)
            #expect(h == e)
        }
    }

    @Test func nodeWeightsCountTrainingRows() throws {
        let (train, _) = try bundled("breast_cancer")
        let model = try Trainer.train(spec: .tree(TreeSpec(maxDepth: 6)), dataset: train)
        guard case .tree(let t) = model.snapshot.parameters else {
            Issue.record("not a tree")
            return
        }
        #expect(t.weight.count == t.feature.count)
        #expect(t.weight[0] == Float(train.rows))
        for i in t.feature.indices where t.feature[i] >= 0 {
            #expect(t.weight[i] == t.weight[Int(t.left[i])] + t.weight[Int(t.right[i])])
        }
    }

    @Test func radixSortOfBinningKeysEqualsSort() {
        var g = SeededGenerator(seed: 5)
        // Values with repeats, negatives and both zeros, row indices ascending as FeatureBins builds them.
        let values: [Float] = (0..<5000).map { i in
            i % 7 == 0 ? -0.0 : i % 11 == 0 ? 0 : Float(Int(g.next() % 200) - 100) * (i % 3 == 0 ? 1e-3 : 1e3)
        }
        var keys = values.enumerated().map { r, v -> UInt64 in
            let bits = (v + 0).bitPattern
            let ordered = bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000
            return UInt64(ordered) << 32 | UInt64(r)
        }
        let expected = keys.sorted()
        var scratch = [UInt64](repeating: 0, count: keys.count)
        FeatureBins.sortByValue(&keys, scratch: &scratch)
        #expect(keys == expected)
    }

    @Test func quantileBinsRespectMaxBins() {
        var g = SeededGenerator(seed: 2)
        let rows = 1000
        let x = (0..<rows * 2).map { i in i % 2 == 0 ? g.nextUnitFloat() : Float(i / 2 % 3) }
        let bins = FeatureBins(features: x, rows: rows, columns: 2, maxBins: 16)
        #expect(bins.upper[0].count <= 16 && bins.upper[0].count >= 12)
        #expect(bins.upper[1] == [0, 1, 2])
        for f in 0..<2 {
            for r in 0..<rows {
                let b = Int(bins.bins[f * rows + r])
                let v = x[r * 2 + f]
                #expect(bins.lower[f][b] <= v && v <= bins.upper[f][b])
            }
            #expect(zip(bins.upper[f], bins.lower[f].dropFirst()).allSatisfy { $0 < $1 })
        }
    }

    @Test func histogramTreeOnBundledData() throws {
        let (train, test) = try bundled("digits")
        let model = try Trainer.train(spec: .tree(TreeSpec()), dataset: train)
        #expect(try accuracy(model, on: test) >= 0.82)
        #expect(try accuracy(model, on: train) == 1)
        let coarse = try Trainer.train(spec: .tree(TreeSpec(maxDepth: 8, maxBins: 4)), dataset: train)
        #expect(try accuracy(coarse, on: test) >= 0.6)
    }

    @Test func badTreeParametersAreRejected() throws {
        let (train, _) = try bundled("iris")
        for (spec, name) in [
            (TreeSpec(maxBins: 1), "maxBins"), (TreeSpec(maxBins: 65536), "maxBins"),
            (TreeSpec(minSamplesSplit: 1), "minSamplesSplit"), (TreeSpec(minSamplesLeaf: 0), "minSamplesLeaf"),
            (TreeSpec(maxDepth: -1), "maxDepth"),
        ] {
            let error = #expect(throws: TrainingError.self) { try Trainer.train(spec: .tree(spec), dataset: train) }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.hasPrefix(name) == true, "\(error?.message ?? "")")
        }
    }
}
