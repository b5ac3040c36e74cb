// swift-tools-version:6.1
import PackageDescription

let nioCore = Target.Dependency.product(name: "NIOCore", package: "swift-nio")
let nioPosix = Target.Dependency.product(name: "NIOPosix", package: "swift-nio")
let nioEmbedded = Target.Dependency.product(name: "NIOEmbedded", package: "swift-nio")
let logging = Target.Dependency.product(name: "Logging", package: "swift-log")
let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")
let serviceLifecycle = Target.Dependency.product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
let nioHTTP1 = Target.Dependency.product(name: "NIOHTTP1", package: "swift-nio")
let metrics = Target.Dependency.product(name: "Metrics", package: "swift-metrics")
let prometheus = Target.Dependency.product(name: "Prometheus", package: "swift-prometheus")
let nioTestUtils = Target.Dependency.product(name: "NIOTestUtils", package: "swift-nio")
let nioSSL = Target.Dependency.product(name: "NIOSSL", package: "swift-nio-ssl")

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]
/// `strict`, and a plain `import` is internal: what a library's public API needs from another
/// module is marked `public import`, so nothing else leaks into its interface.
let strictInternalImports: [SwiftSetting] = strict + [.enableUpcomingFeature("InternalImportsByDefault")]

let package = Package(
    name: "Modelwire",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "ModelwireCodec", targets: ["ModelwireCodec"]),
        .library(name: "ModelwireProtocol", targets: ["ModelwireProtocol"]),
        .library(name: "ModelwireData", targets: ["ModelwireData"]),
        .library(name: "ModelwireDataWire", targets: ["ModelwireDataWire"]),
        .library(name: "ModelwireML", targets: ["ModelwireML"]),
        .library(name: "ModelwireOnnx", targets: ["ModelwireOnnx"]),
        .library(name: "ModelwireServer", targets: ["ModelwireServer"]),
        .executable(name: "modelwire-server", targets: ["modelwire-server"]),
        .library(name: "ModelwireClient", targets: ["ModelwireClient"]),
        .executable(name: "modelwire", targets: ["modelwire"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        // SHA-256 of bearer tokens (issue 12): the token file holds hashes, never tokens.
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        // TLS and mutual TLS on the binary port (issue 12).
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        // HTTP port (issue 13): metrics handles everywhere, the Prometheus backend only in the server.
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // A caller's W3C trace context continued in a server span (issue 13).
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.3"),
    ],
    targets: [
        // C: system libraries and the committed protoc-c output.
        .systemLibrary(name: "CProtobufC", pkgConfig: "libprotobuf-c", providers: [.apt(["libprotobuf-c-dev"])]),
        .target(name: "CModelwireZlib", linkerSettings: [.linkedLibrary("z")]),
        .target(name: "CModelwireKernels", linkerSettings: [.linkedLibrary("m")]),
        .target(name: "CModelwireProtobuf", dependencies: ["CProtobufC"]),
        // protoc-c output of the vendored ONNX schema (proto/third_party/onnx), apart from the contract.
        .target(name: "CModelwireOnnx", dependencies: ["CProtobufC"]),
        .target(name: "CModelwireAllocator"),

        // Swift libraries, in dependency order (DESIGN.md §1).
        .target(
            name: "ModelwireCodec",
            dependencies: ["CModelwireProtobuf", "CProtobufC", "CModelwireZlib"],
            swiftSettings: strict
        ),
        .target(
            name: "ModelwireProtocol",
            dependencies: ["ModelwireCodec", nioCore],
            swiftSettings: strictInternalImports
        ),
        .target(name: "ModelwireData", swiftSettings: strict),
        // Dataset <-> V1.Dataset and feature rows -> V1.Tensor: the one mapping the server and the CLI share.
        .target(name: "ModelwireDataWire", dependencies: ["ModelwireData", "ModelwireCodec"], swiftSettings: strict),
        .target(name: "ModelwireML", dependencies: ["ModelwireData", "CModelwireKernels"], swiftSettings: strict),
        // ONNX import (protobuf-c reader, converter) and export, between ModelSnapshot and onnx.ModelProto.
        .target(
            name: "ModelwireOnnx",
            dependencies: ["ModelwireML", "CModelwireOnnx", "CProtobufC"],
            swiftSettings: strictInternalImports
        ),

        .target(
            name: "ModelwireServer",
            dependencies: [
                "ModelwireCodec", "ModelwireProtocol", "ModelwireML", "ModelwireData", "ModelwireDataWire",
                "ModelwireOnnx", "CModelwireAllocator", nioCore, nioPosix, nioSSL, logging, serviceLifecycle,
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Crypto", package: "swift-crypto"),
                nioHTTP1, metrics, prometheus,
            ],
            swiftSettings: strict
        ),
        .target(
            name: "ModelwireClient",
            dependencies: ["ModelwireCodec", "ModelwireProtocol", nioCore, nioPosix, nioSSL, logging, metrics],
            swiftSettings: strictInternalImports
        ),
        // The command-line flags `modelwire` and `modelwire-load` share (TLS).
        .target(
            name: "ModelwireCommandLine",
            dependencies: ["ModelwireClient", argumentParser],
            swiftSettings: strictInternalImports
        ),

        // Executables: wiring only.
        .executableTarget(
            name: "modelwire-server",
            dependencies: [
                "ModelwireServer", "ModelwireProtocol", nioCore, argumentParser, logging, serviceLifecycle,
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "modelwire",
            dependencies: [
                "ModelwireClient", "ModelwireCommandLine", "ModelwireData", "ModelwireDataWire", argumentParser,
                logging, "ModelwireCodec",
            ],
            path: "Sources/modelwire",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "modelwire-load",
            dependencies: [
                "ModelwireClient", "ModelwireCommandLine", "ModelwireCodec", "ModelwireProtocol", "ModelwireData",
                argumentParser, logging, .product(name: "Histogram", package: "hdrhistogram-swift"), nioCore, nioPosix,
            ],
            path: "Sources/modelwire-load",
            swiftSettings: strict
        ),

        // Tests: one target per library.
        .testTarget(name: "ModelwireCodecTests", dependencies: ["ModelwireCodec"], swiftSettings: strict),
        .testTarget(
            name: "ModelwireProtocolTests",
            dependencies: ["ModelwireProtocol", "ModelwireCodec", nioCore, nioEmbedded, nioTestUtils],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ModelwireDataTests",
            dependencies: ["ModelwireData", "ModelwireDataWire", "ModelwireCodec"],
            swiftSettings: strict
        ),
        // Test-only helpers the test targets share (the OwnThreads trait).
        .target(name: "ModelwireTestSupport", path: "Tests/ModelwireTestSupport", swiftSettings: strict),
        .testTarget(
            name: "ModelwireMLTests",
            dependencies: ["ModelwireML", "ModelwireData", "ModelwireTestSupport"],
            resources: [.copy("Fixtures")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ModelwireOnnxTests",
            dependencies: ["ModelwireOnnx", "ModelwireML"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ModelwireClientTests",
            dependencies: [
                "ModelwireClient", "ModelwireProtocol", "ModelwireCodec", "ModelwireData", "modelwire", nioCore,
                nioEmbedded, nioPosix, logging, argumentParser, "ModelwireTestSupport",
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ModelwireServerTests",
            dependencies: [
                "ModelwireServer", "ModelwireProtocol", "ModelwireCodec", "ModelwireML", "ModelwireData",
                "ModelwireDataWire", logging, nioCore, nioEmbedded, nioPosix,
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ModelwireEndToEndTests",
            dependencies: [
                "ModelwireServer", "ModelwireClient", "ModelwireCodec", "ModelwireProtocol", "ModelwireData",
                "modelwire-server", "modelwire-load", "ModelwireTestSupport", logging, nioCore, nioPosix,
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: strict
        ),
        // Replays Fuzz/Crashes/<target>/ through the fuzz targets' own bodies (FuzzHarness.swift: a symlink).
        .testTarget(
            name: "FuzzRegressionTests",
            dependencies: ["ModelwireProtocol", "ModelwireCodec", "ModelwireOnnx", "ModelwireML", nioCore],
            swiftSettings: strict
        ),
    ]
)
