// swift-tools-version:5.9
import PackageDescription

let optimize: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]

let package = Package(
    name: "LlamaCL",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "llamacl", targets: ["llamacl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .target(name: "GGUF"),
        .target(name: "Tokenizers", dependencies: ["GGUF"]),
        .target(name: "LlamaCore", dependencies: ["GGUF"]),
        .target(name: "CPUBackend", dependencies: ["LlamaCore", "GGUF"]),
        .target(name: "Generation", dependencies: ["LlamaCore", "Tokenizers"]),
        .executableTarget(
            name: "llamacl",
            dependencies: [
                "GGUF", "Tokenizers", "LlamaCore", "CPUBackend", "Generation",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .target(name: "TestSupport", dependencies: ["GGUF"], path: "Tests/TestSupport"),
        .testTarget(name: "GGUFTests", dependencies: ["GGUF", "TestSupport"]),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers", "GGUF", "TestSupport"]),
        .testTarget(name: "LlamaCoreTests", dependencies: ["LlamaCore", "CPUBackend", "GGUF", "Tokenizers", "TestSupport"]),
        .testTarget(name: "GenerationTests", dependencies: ["Generation", "LlamaCore", "CPUBackend", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["TestSupport", "GGUF"]),
    ]
)
