import ModelwireClient
import ModelwireCodec
import Testing

/// Legitimate data that compresses more than the bomb ratio is served (issue 11 item 2).
@Suite("Compressible inputs")
struct CompressibleInputTests {
    @Test("all-zero rows: below ratio_check_min_bytes the server inflates them; above it the client sends them plain")
    func allZeroRows() async throws {
        try await TestServer.with { server in
            try await server.client { client in
                let iris = try Fixtures.dataset("iris")
                _ = try await client.trainToResult(Fixtures.trainRequest(model: "iris", data: iris, epochs: 2))
                for rows in [2_000, 65_536] {  // 32 KB and 1 MiB inflated, each ~1000x compressible
                    let request = V1.PredictRequest(
                        model: V1.ModelRef(name: "iris"),
                        inputs: V1.Tensor(columns: 4, values: [Float](repeating: 0, count: rows * 4))
                    )
                    let response = try await client.predict(request)
                    #expect(response.classIds.count == rows)
                }
            }
        }
    }
}
