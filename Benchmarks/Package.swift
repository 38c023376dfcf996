// swift-tools-version: 6.1
//
// Perceptron's benchmark and example, a package of their own so that the
// library's users resolve nothing but the library: this package depends on
// the one in the folder above, never the other way round.
//
//   swift run -c release --package-path Benchmarks perceptron-bench --help
//   swift run -c release --package-path Benchmarks perceptron-digits --help
//   swift run -c release --package-path Benchmarks perceptron-moons --help
//   swift test -c release --package-path Benchmarks
//
// (`make bench`, `make train`, `make train-moons` and `make test` run these from the root.)

import PackageDescription

let package = Package(
    name: "PerceptronBenchmarks",
    products: [
        // The benchmark: what BLAS buys over a naive matrix multiply.
        .executable(name: "perceptron-bench", targets: ["perceptron-bench"]),
        // The example: a digit classifier trained on the bundled UCI digits (`make train`).
        .executable(name: "perceptron-digits", targets: ["perceptron-digits"]),
        // Data-parallel training on this machine (`make bench-distributed`).
        .executable(name: "perceptron-distributed-bench", targets: ["perceptron-distributed-bench"]),
        // The binary example: two moons, one logit, BCE with logits (`make train-moons`).
        .executable(name: "perceptron-moons", targets: ["perceptron-moons"]),
    ],
    // `--traits OneDNN` builds the library with its OneDNN trait, for the
    // bfloat16 measurements (--precision bfloat16, --bf16-crossover).
    traits: [
        .trait(name: "OneDNN", description: "Build Perceptron with its OneDNN trait (bfloat16 through oneDNN)."),
    ],
    dependencies: [
        // SwiftPM names a path dependency after its folder, which is whatever
        // the checkout is called; the explicit name lets the targets below say
        // `package: "Perceptron"` from any folder.
        .package(
            name: "Perceptron", path: "..",
            traits: [.trait(name: "OneDNN", condition: .when(traits: ["OneDNN"]))]
        ),
        // Both executables' command lines, with generated --help.
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // MARK: C helpers
        // Counts heap allocations (replaces malloc): for the tests and the benchmark only.
        .target(name: "CAllocationCounter"),
        // Measures the CPU's floating-point peak, the ceiling for every GEMM.
        .target(
            name: "CFMAPeak",
            linkerSettings: [.linkedLibrary("pthread")]
        ),
        // CBLAS, found by pkg-config, for the bare-product baselines.
        .systemLibrary(
            name: "CBLASReference",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),

        // MARK: Executables
        // What both command lines share: the checked value types (whole
        // numbers ≥ 1, positive numbers), --threads, and the start of a run.
        .target(
            name: "CommandLineSupport",
            dependencies: [
                .product(name: "Perceptron", package: "Perceptron"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "perceptron-bench",
            dependencies: [
                .product(name: "Perceptron", package: "Perceptron"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                "CommandLineSupport", "CAllocationCounter", "CFMAPeak", "CBLASReference",
            ]
        ),
        .executableTarget(
            name: "perceptron-digits",
            dependencies: [
                .product(name: "Perceptron", package: "Perceptron"),
                .product(name: "PerceptronDistributed", package: "Perceptron"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                "CommandLineSupport",
            ],
            // The published CSV and the script that converts it into the .npy
            // files stay in the source tree only.
            exclude: ["Resources/digits.csv.gz", "Resources/make_digits_npy.py"],
            // The attribution and licence note ship beside the data, as CC BY 4.0 asks.
            resources: [
                .copy("Resources/digits-features.npy"), .copy("Resources/digits-labels.npy"),
                .copy("Resources/README.md"),
            ]
        ),

        // The two-moons data and classifier, for the example and its test.
        .target(
            name: "MoonsExample",
            dependencies: [.product(name: "Perceptron", package: "Perceptron")],
            // The numpy script behind the accuracies that frame the example's (the source tree only).
            exclude: ["moons_bounds.py"]
        ),
        .executableTarget(
            name: "perceptron-moons",
            dependencies: [
                .product(name: "Perceptron", package: "Perceptron"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                "CommandLineSupport", "MoonsExample",
            ]
        ),
        .executableTarget(
            name: "perceptron-distributed-bench",
            dependencies: [
                .product(name: "Perceptron", package: "Perceptron"),
                .product(name: "PerceptronDistributed", package: "Perceptron"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                "CommandLineSupport",
            ]
        ),

        // MARK: Tests
        // What needs the C helpers: heap-allocation counts (run in release,
        // where they mean what they say) and the FMA-peak probe; the command
        // lines: the value types, and perceptron-bench's options; and the
        // two-moons example's accuracy.
        .testTarget(
            name: "BenchmarkTests",
            dependencies: [
                .product(name: "Perceptron", package: "Perceptron"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                "CAllocationCounter", "CFMAPeak", "CommandLineSupport", "MoonsExample", "perceptron-bench",
            ]
        ),
    ]
)
