// swift-tools-version:6.1
// The gRPC-Swift 2 peer of tools/bench: a server of the reference net and a closed-loop load client,
// kept out of the root package's build. The Swift code in Sources/BenchProto is generated once from
// proto/bench.proto (tools/bench/grpc/generate) and committed: the protoc plugins take minutes to build.
import PackageDescription

let package = Package(
    name: "bench-grpc",
    platforms: [.macOS(.v15)],
    products: [
        // The swift-protobuf messages alone, for Benchmarks/ (codec: protobuf-c vs swift-protobuf).
        .library(name: "BenchMessages", targets: ["BenchMessages"])
    ],
    dependencies: [
        .package(name: "Modelwire", path: "../../.."),
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .target(
            name: "BenchMessages",
            dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")]
        ),
        .target(
            name: "BenchProto",
            dependencies: [
                "BenchMessages",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        .executableTarget(
            name: "grpc-bench-server",
            dependencies: [
                "BenchProto", "BenchMessages",
                .product(name: "ModelwireML", package: "Modelwire"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "grpc-bench-load",
            dependencies: [
                "BenchProto", "BenchMessages",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
    ]
)
