import ModelwireClient
import ModelwireCodec
import Testing

@Suite struct DatasetChunkerTests {
    static func dataset(rows: Int, columns: Int, classification: Bool) -> V1.Dataset {
        var values: [Float] = []
        for r in 0..<rows { for c in 0..<columns { values.append(Float(r * 1000 + c)) } }
        var dataset = V1.Dataset(
            featureNames: (0..<columns).map { "f\($0)" },
            features: V1.Tensor(columns: UInt32(columns), values: values)
        )
        if classification {
            dataset.classNames = ["a", "b", "c"]
            dataset.classIds = (0..<rows).map { UInt32($0 % 3) }
        } else {
            dataset.targets = (0..<rows).map { Float($0) / 2 }
        }
        return dataset
    }

    @Test(
        "chunks stay under the size limit and concatenate to the original",
        arguments: [
            (1000, 16, true, 4096), (1000, 16, false, 4096), (37, 3, true, 200), (5000, 64, true, 65536),
        ]
    )
    func chunks(rows: Int, columns: Int, classification: Bool, limit: Int) throws {
        let dataset = Self.dataset(rows: rows, columns: columns, classification: classification)
        let chunks = DatasetChunker.chunks(name: "ds", dataset: dataset, replace: true, maxChunkBytes: limit)
        #expect(chunks.count > 1)
        var values: [Float] = []
        var ids: [UInt32] = []
        var targets: [Float] = []
        for (index, chunk) in chunks.enumerated() {
            #expect(try chunk.serializedBytes().count <= limit)
            #expect(chunk.name == "ds")
            #expect(chunk.replace == (index == 0))
            let rows = try #require(chunk.rows)
            #expect(rows.featureNames == dataset.featureNames)
            #expect(rows.classNames == dataset.classNames)
            #expect(rows.features?.columns == UInt32(columns))
            values += rows.features?.values ?? []
            ids += rows.classIds
            targets += rows.targets
        }
        #expect(values == dataset.features?.values)
        #expect(ids == dataset.classIds)
        #expect(targets == dataset.targets)
    }

    @Test("a small dataset is one chunk, sent as is")
    func single() {
        let dataset = Self.dataset(rows: 10, columns: 4, classification: true)
        let chunks = DatasetChunker.chunks(name: "x", dataset: dataset, replace: false, maxChunkBytes: 1 << 20)
        #expect(chunks == [V1.UploadDatasetRequest(name: "x", rows: dataset, replace: false)])
    }

    @Test("an empty dataset is one empty chunk (the server names the problem)")
    func empty() {
        let chunks = DatasetChunker.chunks(name: "x", dataset: V1.Dataset(), replace: false, maxChunkBytes: 100)
        #expect(chunks.count == 1)
    }

    @Test("a row wider than the limit still travels, one per chunk")
    func wideRows() {
        let dataset = Self.dataset(rows: 3, columns: 100, classification: true)
        let chunks = DatasetChunker.chunks(name: "x", dataset: dataset, replace: false, maxChunkBytes: 64)
        #expect(chunks.count == 3)
    }
}
