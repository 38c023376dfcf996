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
        .executableTarget(
            name: "perceptron-digits",
            dependencies: ["Perceptron"],
            // The published CSV and the script that converts it into the .npy
            // files stay in the source tree only.
            exclude: ["Resources/digits.csv.gz", "Resources/make_digits_npy.py"],
            // The attribution and licence note ship beside the data, as CC BY 4.0 asks.
            resources: [
                .copy("Resources/digits-features.npy"), .copy("Resources/digits-labels.npy"),
                .copy("Resources/README.md"),
            ]
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

        // MARK: Tests
        .testTarget(
            name: "PerceptronTests",
            dependencies: ["Perceptron", "CPerceptronCPU", "CAllocationCounter", "CFMAPeak"],
            resources: [.copy("Fixtures")]
        ),
    ]
)
