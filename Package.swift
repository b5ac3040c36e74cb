// swift-tools-version:6.1
import PackageDescription

let nioCore = Target.Dependency.product(name: "NIOCore", package: "swift-nio")
let nioPosix = Target.Dependency.product(name: "NIOPosix", package: "swift-nio")
let nioEmbedded = Target.Dependency.product(name: "NIOEmbedded", package: "swift-nio")
let logging = Target.Dependency.product(name: "Logging", package: "swift-log")
let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")
let nioTestUtils = Target.Dependency.product(name: "NIOTestUtils", package: "swift-nio")

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "Modelwire",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "ModelwireCodec", targets: ["ModelwireCodec"]),
        .library(name: "ModelwireProtocol", targets: ["ModelwireProtocol"]),
        .library(name: "ModelwireData", targets: ["ModelwireData"]),
        .library(name: "ModelwireML", targets: ["ModelwireML"]),
        .library(name: "ModelwireClient", targets: ["ModelwireClient"]),
        .executable(name: "modelwire", targets: ["modelwire"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        // C: system libraries and the committed protoc-c output.
        .systemLibrary(name: "CProtobufC", pkgConfig: "libprotobuf-c", providers: [.apt(["libprotobuf-c-dev"])]),
        .target(name: "CModelwireZlib", linkerSettings: [.linkedLibrary("z")]),
        .target(name: "CModelwireKernels", linkerSettings: [.linkedLibrary("m")]),
        .target(name: "CModelwireProtobuf", dependencies: ["CProtobufC"]),

        // Swift libraries, in dependency order (DESIGN.md §1).
        .target(name: "ModelwireCodec", dependencies: ["CModelwireProtobuf", "CProtobufC", "CModelwireZlib"],
                swiftSettings: strict),
        .target(name: "ModelwireProtocol", dependencies: ["ModelwireCodec", nioCore], swiftSettings: strict),
        .target(name: "ModelwireData", swiftSettings: strict),
        .target(name: "ModelwireML", dependencies: ["ModelwireData", "CModelwireKernels"], swiftSettings: strict),
        .target(name: "ModelwireClient", dependencies: ["ModelwireCodec", "ModelwireProtocol", nioCore, nioPosix, logging],
                swiftSettings: strict),
        .executableTarget(name: "modelwire",
                          dependencies: ["ModelwireClient", "ModelwireData", argumentParser, logging, "ModelwireCodec"],
                          path: "Sources/modelwire", swiftSettings: strict),

        // Tests: one target per library.
        .testTarget(name: "ModelwireCodecTests", dependencies: ["ModelwireCodec"], swiftSettings: strict),
        .testTarget(name: "ModelwireProtocolTests",
                    dependencies: ["ModelwireProtocol", "ModelwireCodec", nioCore, nioEmbedded, nioTestUtils],
                    swiftSettings: strict),
        .testTarget(name: "ModelwireDataTests", dependencies: ["ModelwireData"], swiftSettings: strict),
        .testTarget(name: "ModelwireMLTests", dependencies: ["ModelwireML", "ModelwireData"],
                    resources: [.copy("Fixtures")], swiftSettings: strict),
        .testTarget(name: "ModelwireClientTests",
                    dependencies: ["ModelwireClient", "ModelwireProtocol", "ModelwireCodec", nioCore, nioEmbedded, logging],
                    swiftSettings: strict),
    ]
)
