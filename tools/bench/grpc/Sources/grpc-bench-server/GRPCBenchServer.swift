import ArgumentParser
import BenchMessages
import BenchProto
import GRPCCore
import GRPCNIOTransportHTTP2
import ModelwireData
import ModelwireML

#if canImport(Glibc)
import Glibc
#endif

/// The gRPC-Swift 2 peer of tools/bench: serves the reference net (100 → 64 relu → 64 relu →
/// 10 softmax, seeded random weights: the same arithmetic as Modelwire's, with the same kernels)
/// over Predictor/Predict, default transport configuration, as a user of gRPC-Swift writes it.
@main
struct GRPCBenchServer: AsyncParsableCommand {
    @Option(help: "Port (0 picks one; the first stdout line says which).")
    var port: Int = 0

    func run() async throws {
        let service = PredictorService()
        let server = GRPCServer(
            transport: .http2NIOPosix(
                address: .ipv4(host: "127.0.0.1", port: self.port),
                transportSecurity: .plaintext
            ),
            services: [service]
        )
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await server.serve() }
            if let address = try await server.listeningAddress?.ipv4 {
                print("grpc-bench-server listening on \(address.host):\(address.port)")
                fflush(nil)  // all streams: stdout is a pipe or a file here, fully buffered
            }
        }
    }
}

struct PredictorService: Modelwire_Bench_Predictor.SimpleServiceProtocol {
    let network: DenseNetwork
    let classNames = (0..<10).map { "class\($0)" }

    init() {
        var network = DenseNetwork(
            inputs: 100,
            layers: [(64, .relu), (64, .relu), (10, .softmax)],
            loss: .sparseCategoricalCrossEntropy
        )
        var generator = SeededGenerator(seed: 1)
        network.initialize(using: &generator)
        self.network = network
    }

    func predict(
        request: Modelwire_V1_PredictRequest,
        context: ServerContext
    ) async throws -> Modelwire_V1_PredictResponse {
        let columns = Int(request.inputs.columns)
        guard columns == self.network.inputs, request.inputs.values.count % columns == 0 else {
            throw RPCError(code: .invalidArgument, message: "expected rows x \(self.network.inputs) features")
        }
        let rows = request.inputs.values.count / columns
        let output = self.network.forward(Matrix(rows: rows, columns: columns, values: request.inputs.values))
        var response = Modelwire_V1_PredictResponse()
        response.model = request.model.name
        response.version = 1
        response.classNames = self.classNames
        response.classIds = output.argmaxPerRow().map { UInt32($0) }
        if request.includeProbabilities {
            response.scores = .with {
                $0.columns = UInt32(output.columns)
                $0.values = output.values
            }
            response.scoresAreProbabilities = true
        }
        return response
    }
}
