import ModelwireData
import ModelwireTestSupport
import Testing

@testable import ModelwireML

/// Permutation importance on a model whose dependence on each feature is known.
@Suite(.ownThreads) struct PermutationImportanceTests {
    /// Label = (x0 > 0); x1 is noise. A stump splits on x0 only.
    static func data() -> Dataset {
        var generator = SeededGenerator(seed: 4)
        var features: [Float] = []
        var labels: [Int] = []
        for _ in 0..<400 {
            let x0 = generator.nextUnitFloat() * 2 - 1
            features += [x0, generator.nextUnitFloat()]
            labels.append(x0 > 0 ? 1 : 0)
        }
        return Dataset(
            featureNames: ["signal", "noise"],
            features: features,
            targets: .classes(names: ["0", "1"], ids: labels)
        )
    }

    @Test func theUsedFeatureMattersTheUnusedOneNotAndTheSeedFixesTheResult() throws {
        let dataset = Self.data()
        let stump = try Trainer.train(spec: .tree(TreeSpec(maxDepth: 1)), dataset: dataset)
        let importances = try #require(try stump.permutationImportance(dataset, repeats: 8, seed: 1))
        #expect(importances.map(\.feature) == ["signal", "noise"])
        // Shuffling the signal leaves about half the rows right: a drop of about 0.5.
        #expect(abs(importances[0].mean - 0.5) < 0.1, "\(importances[0])")
        #expect(importances[0].standardDeviation > 0)
        #expect(importances[1] == PermutationImportance(feature: "noise", mean: 0, standardDeviation: 0))
        #expect(try stump.permutationImportance(dataset, repeats: 8, seed: 1) == importances)
        #expect(try stump.permutationImportance(dataset, repeats: 8, seed: 2) != importances)
        #expect(try stump.permutationImportance(dataset, repeats: 8, seed: 1, isCancelled: { true }) == nil)
    }
}
