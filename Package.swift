// swift-tools-version: 6.1
//
// Perceptron: neural-network building blocks for Swift on the CPU, backed by
// OpenBLAS through CBLAS.
//
// The manifest is split the way the sources are: the public library, the C
// boundaries it is built on, and what only tests and benchmarks use. Library
// users resolve no package dependency at all: the benchmark's helpers are
// targets of this package, not packages of their own.

import PackageDescription

let package = Package(
    name: "Perceptron",
    products: [
        // Public API.
        .library(name: "Perceptron", targets: ["Perceptron"]),
        // The benchmark: what BLAS buys over a naive matrix multiply.
        .executable(name: "perceptron-bench", targets: ["perceptron-bench"]),
        // The example: a digit classifier trained on the bundled UCI digits (`make train`).
        .executable(name: "perceptron-digits", targets: ["perceptron-digits"]),
    ],
    targets: [
        // MARK: Public API
        .target(
            name: "Perceptron",
            dependencies: ["COpenBLAS", "CPerceptronCPU"]
        ),

        // MARK: Implementation (the C boundaries)
        // CPU features, and switching OpenBLAS's kernel in a running process.
        .target(
            name: "CPerceptronCPU",
            linkerSettings: [.linkedLibrary("dl"), .linkedLibrary("pthread")]
        ),
        // OpenBLAS itself, found by pkg-config.
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),

        // MARK: Benchmarks
        // Counts heap allocations (replaces malloc): for the tests and the benchmark only.
        .target(name: "CAllocationCounter"),
        // Measures the CPU's floating-point peak, the ceiling for every GEMM.
        .target(
            name: "CFMAPeak",
            dependencies: ["CPerceptronCPU"],
            path: "Benchmarks/CFMAPeak",
            linkerSettings: [.linkedLibrary("pthread")]
        ),
        .executableTarget(
            name: "perceptron-bench",
            dependencies: ["Perceptron", "CAllocationCounter", "CFMAPeak", "COpenBLAS"],
            path: "Benchmarks/perceptron-bench"
        ),

        // MARK: Examples
        // zlib, found by pkg-config: the example reads its gzip-compressed data set.
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .executableTarget(
            name: "perceptron-digits",
            dependencies: ["Perceptron", "CZlib"],
            // The attribution and licence note ship beside the data, as CC BY 4.0 asks.
            resources: [.copy("Resources/digits.csv.gz"), .copy("Resources/README.md")]
        ),

        // MARK: Fuzzing
        // The .npy reader's libFuzzer target (`make fuzz`); built normally, a corpus replayer.
        // No product: it is a development tool, not something to install.
        .executableTarget(
            name: "perceptron-npy-fuzz",
            dependencies: ["Perceptron"],
            // libFuzzer's dictionary of .npy tokens, read by `make fuzz`, not built.
            exclude: ["npy.dict"]
        ),
        // The safetensors reader's libFuzzer target (`make fuzz FUZZ_TARGET=safetensors`), likewise.
        .executableTarget(
            name: "perceptron-safetensors-fuzz",
            dependencies: ["Perceptron"],
            exclude: ["safetensors.dict"]
        ),

        // MARK: Tests
        .testTarget(
            name: "PerceptronTests",
            dependencies: ["Perceptron", "CPerceptronCPU", "CAllocationCounter", "CFMAPeak"],
            resources: [.copy("Fixtures")]
        ),
    ]
)
