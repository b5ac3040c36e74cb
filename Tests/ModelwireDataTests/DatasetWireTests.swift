import ModelwireCodec
import ModelwireData
import ModelwireDataWire
import Testing

/// ModelwireDataWire: the one Dataset <-> V1.Dataset and FeatureRows -> V1.Tensor mapping.
@Suite struct DatasetWireTests {
    @Test("a classification and a regression dataset survive the round trip")
    func roundTrip() throws {
        let classes = try Dataset(csv: "x,y,label\n1,2,b\n3,4,a\n5,6,b\n")
        let wire = V1.Dataset(classes)
        #expect(wire.featureNames == ["x", "y"])
        #expect(wire.features == V1.Tensor(columns: 2, values: [1, 2, 3, 4, 5, 6]))
        #expect(wire.classNames == ["a", "b"])
        #expect(wire.classIds == [1, 0, 1])
        #expect(wire.targets.isEmpty)
        #expect(try Dataset(validating: wire) == classes)
        let values = try Dataset(csv: "x,y\n1,0.5\n2,1.5\n", options: .init(task: .regression))
        #expect(V1.Dataset(values).targets == [0.5, 1.5])
        #expect(V1.Dataset(values).classNames.isEmpty)
        #expect(try Dataset(validating: V1.Dataset(values)) == values)
    }

    @Test("validation refuses what the server refuses, with its messages")
    func validation() {
        func message(_ wire: V1.Dataset, requireTwoClasses: Bool = true) -> String? {
            do {
                _ = try Dataset(validating: wire, requireTwoClasses: requireTwoClasses)
                return nil
            } catch {
                return error.message
            }
        }
        let t = V1.Tensor(columns: 2, values: [1, 2, 3, 4])
        #expect(message(V1.Dataset()) == "the dataset is empty")
        #expect(
            message(V1.Dataset(features: V1.Tensor(columns: 2, values: [1, 2, 3]), targets: [1]))
                == "3 feature values do not fill rows of 2 columns"
        )
        #expect(
            message(V1.Dataset(features: V1.Tensor(columns: 2, values: [1, .nan, 3, 4]), targets: [1, 2]))
                == "row 1, column 2 is NaN or infinite"
        )
        #expect(
            message(V1.Dataset(featureNames: ["a"], features: t, targets: [1, 2])) == "1 feature names for 2 columns"
        )
        #expect(message(V1.Dataset(features: t, targets: [1])) == "1 targets for 2 rows (and no class names)")
        #expect(message(V1.Dataset(features: t, targets: [1, .infinity])) == "a target is NaN or infinite")
        #expect(message(V1.Dataset(features: t, classNames: ["a", "b"], classIds: [0])) == "1 class ids for 2 rows")
        #expect(
            message(V1.Dataset(features: t, classNames: ["a"], classIds: [0, 1])) == "class id 1 but only 1 class names"
        )
        #expect(
            message(V1.Dataset(features: t, classNames: ["a", "b"], classIds: [1, 1]))
                == "the dataset has only one class; classification needs at least two"
        )
        #expect(
            message(V1.Dataset(features: t, classNames: ["a", "b"], classIds: [1, 1]), requireTwoClasses: false) == nil
        )
        #expect((try? Dataset(validating: V1.Dataset(features: t, targets: [1, 2])))?.featureNames == ["f0", "f1"])
    }

    @Test("feature rows become a tensor, whole or a range of rows")
    func tensor() {
        let rows = FeatureRows(names: ["a", "b"], values: [1, 2, 3, 4, 5, 6])
        #expect(V1.Tensor(rows) == V1.Tensor(columns: 2, values: [1, 2, 3, 4, 5, 6]))
        #expect(V1.Tensor(rows, rows: 1..<3) == V1.Tensor(columns: 2, values: [3, 4, 5, 6]))
    }
}
