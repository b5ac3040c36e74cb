// swift-tools-version:6.1
// Benchmarks, kept out of the main build and test run. Run: tools/bench-codec
import PackageDescription

let package = Package(
    name: "ModelwireBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Modelwire", path: ".."),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        // Only this trait: the default set adds a runtime interposer that is not mirrored here.
        // The swift-protobuf messages of the same .proto files (generated once, committed there).
        .package(path: "../tools/bench/grpc"),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "CodecBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "ModelwireCodec", package: "Modelwire"),
                .product(name: "ModelwireProtocol", package: "Modelwire"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "CodecBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // protobuf-c (ModelwireCodec) against swift-protobuf on the same Predict messages.
        .executableTarget(
            name: "CodecComparisonBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "ModelwireCodec", package: "Modelwire"),
                .product(name: "BenchMessages", package: "grpc"),
            ],
            path: "CodecComparisonBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
