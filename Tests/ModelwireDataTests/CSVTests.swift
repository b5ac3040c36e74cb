import Foundation
import ModelwireData
import Testing

/// The repository root, found from this file's path (Tests/ModelwireDataTests/CSVTests.swift).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
/// Malformed inputs, outside the test target so SwiftPM does not treat them as unhandled sources.
let fixtures = repositoryRoot.appendingPathComponent("Tests/Fixtures/CSV")

@Suite struct CSVTests {
    @Test func readsBundledIris() throws {
        let iris = try Dataset(contentsOfCSV: repositoryRoot.appendingPathComponent("data/iris.csv").path)
        #expect(iris.rows == 150)
        #expect(iris.columns == 4)
        #expect(
            iris.featureNames == ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]
        )
        #expect(iris.classNames == ["0", "1", "2"])
        #expect(Array(iris.featureRow(0)) == [5.1, 3.5, 1.4, 0.2])
        #expect(iris.classIDs.filter { $0 == 2 }.count == 50)
    }

    @Test func labelColumnByNameAndSortedClassNames() throws {
        let csv = "label,x,y\nversicolor,1,2\nsetosa,3,4\nversicolor,5,6\n"
        let d = try Dataset(csv: csv, options: .init(labelColumn: "label"))
        #expect(d.featureNames == ["x", "y"])
        #expect(d.classNames == ["setosa", "versicolor"])
        #expect(d.classIDs == [1, 0, 1])
        #expect(d.features == [1, 2, 3, 4, 5, 6])
    }

    @Test func integerLabelsSortNumerically() throws {
        let d = try Dataset(csv: "x,label\n1,10\n2,2\n3,10\r\n\n4, 2 \n")
        #expect(d.classNames == ["2", "10"])
        #expect(d.classIDs == [1, 0, 1, 0])
        #expect(d.rows == 4)
    }

    @Test func regressionTargets() throws {
        let d = try Dataset(csv: "x,y\n1,0.5\n2,1.5\n", options: .init(task: .regression))
        #expect(d.targetValues == [0.5, 1.5])
        #expect(d.classNames.isEmpty)
        #expect(throws: DatasetError.self) { try Dataset(csv: "x,y\n1,a\n", options: .init(task: .regression)) }
    }

    @Test(
        "bad CSV files fail with the line and column",
        arguments: [
            ("empty.csv", DatasetError.Code.emptyFile, nil, nil),
            ("header-only.csv", .emptyFile, nil, nil),
            ("wrong-column-count.csv", .wrongColumnCount, 4, 3),  // column: the first missing field
            ("non-numeric.csv", .nonNumeric, 3, 2),
            ("nan.csv", .nonFinite, 3, 2),
            ("infinite.csv", .nonFinite, 4, 1),
            ("single-class.csv", .singleClass, nil, 3),
        ] as [(String, DatasetError.Code, Int?, Int?)]
    )
    func badFile(name: String, code: DatasetError.Code, line: Int?, column: Int?) throws {
        let error = #expect(throws: DatasetError.self) {
            try Dataset(contentsOfCSV: fixtures.appendingPathComponent(name).path)
        }
        #expect(error?.code == code)
        #expect(error?.line == line)
        #expect(error?.column == column)
        if let line { #expect(error?.message.contains("line \(line)") == true) }
    }

    @Test func missingLabelColumnAndUnreadableFile() {
        let missing = #expect(throws: DatasetError.self) {
            try Dataset(csv: "a,b\n1,2\n", options: .init(labelColumn: "y"))
        }
        #expect(missing?.code == .missingLabelColumn)
        let unreadable = #expect(throws: DatasetError.self) { try Dataset(contentsOfCSV: "/nonexistent/x.csv") }
        #expect(unreadable?.code == .unreadableFile)
    }
}

@Suite struct SplitTests {
    @Test func readsBundledSplit() throws {
        let split = try DatasetSplit(
            contentsOfJSON: repositoryRoot.appendingPathComponent("data/digits_split.json").path,
            rows: 1797
        )
        #expect(split.train.count == 1437)
        #expect(split.test.count == 360)
        #expect(Set(split.train).isDisjoint(with: split.test))
    }

    @Test func rejectsOutOfRangeIndex() {
        let error = #expect(throws: DatasetError.self) {
            try DatasetSplit(contentsOfJSON: fixtures.appendingPathComponent("bad-split.json").path, rows: 5)
        }
        #expect(error?.code == .invalidSplit)
    }

    @Test func stratifiedSplitKeepsClassSharesAndIsSeeded() throws {
        let iris = try Dataset(contentsOfCSV: repositoryRoot.appendingPathComponent("data/iris.csv").path)
        let a = DatasetSplit.stratified(iris, testFraction: 0.2, seed: 7)
        let b = DatasetSplit.stratified(iris, testFraction: 0.2, seed: 7)
        let c = DatasetSplit.stratified(iris, testFraction: 0.2, seed: 8)
        #expect(a == b)
        #expect(a != c)
        #expect(a.test.count == 30)
        for k in 0..<3 { #expect(a.test.filter { iris.classIDs[$0] == k }.count == 10) }
        #expect(Set(a.train + a.test).count == 150)
        let subset = iris.subset(a.test)
        #expect(subset.rows == 30)
        #expect(subset.featureRow(0) == iris.featureRow(a.test[0]))
    }

    @Test func reindexingToAnotherClassList() throws {
        let d = try Dataset(csv: "x,label\n1,b\n2,c\n3,b\n")
        #expect(d.classIDs == [0, 1, 0])
        let r = try d.reindexed(toClassNames: ["a", "b", "c"])
        #expect(r.classNames == ["a", "b", "c"])
        #expect(r.classIDs == [1, 2, 1])
        #expect(r.features == d.features)
        let error = #expect(throws: DatasetError.self) { try d.reindexed(toClassNames: ["a", "b"]) }
        #expect(error?.code == .unknownClass)
    }

    @Test func seededGeneratorIsReproducible() {
        var g1 = SeededGenerator(seed: 42)
        var g2 = SeededGenerator(seed: 42)
        let x = (0..<4).map { _ in g1.next() }
        #expect(x == (0..<4).map { _ in g2.next() })
        #expect(Set(x).count == 4)
        let u = g1.nextUnitFloat()
        #expect(u >= 0 && u < 1)
    }
}
