// swift-tools-version:6.1
import PackageDescription

// Release builds of the numeric modules: no bounds checks in the inner loops, and on x86-64
// AVX2 + FMA (every x86-64 CPU since 2013) so SIMD16<Float> code becomes vector instructions.
#if arch(x86_64)
let cpuFlags = ["-target-cpu", "haswell"]
#else
let cpuFlags: [String] = []
#endif
// The C kernels of the CPU backend: AVX2 + FMA + F16C on x86-64 (the same baseline), plain C elsewhere.
#if arch(x86_64)
let cKernelFlags = ["-O3", "-mavx2", "-mfma", "-mf16c"]
#else
let cKernelFlags = ["-O3"]
#endif
let optimize: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"] + cpuFlags, .when(configuration: .release))]

let package = Package(
    name: "LlamaCL",
    platforms: [.macOS(.v14)],  // Hummingbird 2 needs macOS 14
    products: [
        .executable(name: "llamacl", targets: ["llamacl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-atomics", from: "1.2.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
        // The HTTP server of `llamacl serve`. Without the ConfigurationSupport trait, which would
        // build swift-configuration for nothing.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: ["FullFoundation"]),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
    ],
    targets: [
        .target(name: "GGUF", swiftSettings: optimize),
        // The release number and the git revision this build comes from (for result provenance).
        .plugin(name: "SourceRevisionPlugin", capability: .buildTool(), path: "Sources/SourceRevisionPlugin"),
        .target(name: "BuildInfo", plugins: ["SourceRevisionPlugin"]),
        .target(name: "Tokenizers", dependencies: ["GGUF"]),
        .target(name: "LlamaCore", dependencies: ["GGUF"]),
        // The few hot loops Swift cannot express with x86 vector instructions (see its header).
        .target(name: "CPUKernels", cSettings: [.unsafeFlags(cKernelFlags)]),
        .target(name: "CPUBackend", dependencies: ["LlamaCore", "GGUF", "CPUKernels", .product(name: "Atomics", package: "swift-atomics")], swiftSettings: optimize),
        .target(name: "Generation", dependencies: ["LlamaCore", "Tokenizers"]),
        .systemLibrary(name: "COpenCL", pkgConfig: "OpenCL", providers: [.apt(["ocl-icd-opencl-dev", "opencl-headers"])]),
        .systemLibrary(name: "CCLBlast", pkgConfig: "clblast", providers: [.apt(["libclblast-dev"])]),
        // OpenCL C sources, compiled into the binary (never looked up on disk at run time).
        .target(name: "Kernels", path: "kernels", resources: [
            .embedInCode("common.cl"), .embedInCode("embed.cl"), .embedInCode("rmsnorm.cl"), .embedInCode("rope.cl"),
            .embedInCode("swiglu.cl"), .embedInCode("add.cl"), .embedInCode("attention.cl"), .embedInCode("dequantize.cl"),
            .embedInCode("matvec.cl"), .embedInCode("kv.cl"), .embedInCode("gather.cl"), .embedInCode("convert.cl"),
            .embedInCode("qkv.cl"), .embedInCode("ffn.cl"), .embedInCode("argmax.cl"),
        ]),
        .target(name: "OpenCLBackend", dependencies: ["LlamaCore", "GGUF", "COpenCL", "CCLBlast", "Kernels"]),
        // OpenCL vs the CPU reference, op by op and model-wide: shared by `llamacl verify` and the tests.
        .target(name: "OpenCLVerification", dependencies: ["OpenCLBackend", "CPUBackend", "LlamaCore", "GGUF"]),
        .executableTarget(
            name: "llamacl",
            dependencies: [
                "GGUF", "Tokenizers", "LlamaCore", "CPUBackend", "Generation", "OpenCLBackend", "OpenCLVerification", "Experiments", "Training", "BuildInfo", "Serving",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        // Experiments as library calls: tasks and verifiers, best-of-N runs, statistics and fits,
        // result files, reports and plots. Built on Generation's one decoding loop.
        .target(name: "Experiments", dependencies: ["Generation", "LlamaCore", "Tokenizers", "GGUF", "CPUBackend", "BuildInfo",
                                                  .product(name: "Crypto", package: "swift-crypto")]),
        // Training tiny LLaMA-architecture models on the CPU; checkpoints are GGUF.
        .target(name: "Training", dependencies: ["GGUF", "LlamaCore", "Experiments"], swiftSettings: optimize),
        // The OpenAI-compatible HTTP server: request decoding and validation, SSE, metrics, and the
        // engine thread that runs Generation's decoding loop.
        .target(name: "Serving", dependencies: [
            "Generation", "LlamaCore", "Tokenizers",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
        ]),
        .target(name: "TestSupport", dependencies: ["GGUF"], path: "Tests/TestSupport"),
        .testTarget(name: "GGUFTests", dependencies: ["GGUF", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers", "GGUF", "TestSupport"]),
        .testTarget(name: "CPUBackendTests", dependencies: ["CPUBackend", "CPUKernels", "LlamaCore", "GGUF"]),
        .testTarget(name: "LlamaCoreTests", dependencies: ["LlamaCore", "CPUBackend", "GGUF", "Tokenizers", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "GenerationTests", dependencies: ["Generation", "LlamaCore", "CPUBackend", "GGUF", "Tokenizers", "TestSupport"]),
        .testTarget(name: "OpenCLBackendTests", dependencies: ["OpenCLBackend", "OpenCLVerification", "CPUBackend", "LlamaCore", "GGUF", "TestSupport"]),
        .testTarget(name: "ExperimentsTests", dependencies: ["Experiments", "Generation", "LlamaCore", "CPUBackend", "GGUF", "Tokenizers", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Experiments", "LlamaCore", "CPUBackend", "GGUF", "Tokenizers", "TestSupport"]),
        .testTarget(name: "ServingTests", dependencies: ["Serving", "Generation", "LlamaCore", "CPUBackend", "GGUF", "Tokenizers", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["TestSupport", "GGUF", "LlamaCore"]),
    ]
)

// Tools version 6.1 (for package traits) would make Swift 6 the language mode; the code is
// written for Swift 5 mode, so every target keeps it.
for target in package.targets where target.type != .system && target.type != .plugin {
    target.swiftSettings = (target.swiftSettings ?? []) + [.swiftLanguageMode(.v5)]
}
