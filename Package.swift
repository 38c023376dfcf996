// swift-tools-version: 6.1
//
// Perceptron: neural-network building blocks for Swift on the CPU, backed by
// OpenBLAS through CBLAS.
//
// The manifest is split the way the sources are: the public library, the C
// boundaries it is built on, and the tests. Library users resolve no package
// dependency at all. The benchmark, the example and the C helpers only they
// use (an allocation counter, an FMA-peak probe) are a package of their own in
// Benchmarks/, which depends on this one.

import PackageDescription

let package = Package(
    name: "Perceptron",
    products: [
        // Public API.
        .library(name: "Perceptron", targets: ["Perceptron"]),
        // Data-parallel training over Open MPI: a product of its own, so that
        // users of Perceptron alone neither build nor link MPI.
        .library(name: "PerceptronDistributed", targets: ["PerceptronDistributed"]),
    ],
    traits: [
        // Off by default: the default build needs OpenBLAS alone.
        .trait(
            name: "OneDNN",
            description: "Mixed precision (bfloat16 products with float32 accumulation) through oneDNN; needs libdnnl-dev."
        ),
    ],
    targets: [
        // MARK: Public API
        .target(
            name: "Perceptron",
            dependencies: [
                "COpenBLAS", "CPerceptronCPU",
                .target(name: "COneDNN", condition: .when(traits: ["OneDNN"])),
            ]
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

        // oneDNN, the second backend, for bfloat16 products (the OneDNN trait).
        // Debian's libdnnl-dev ships no pkg-config file: the module map links
        // dnnl, and gomp for the OpenMP runtime it is built on.
        .systemLibrary(
            name: "COneDNN",
            providers: [.apt(["libdnnl-dev"])]
        ),

        // MARK: Distributed training (the PerceptronDistributed product)
        .target(
            name: "PerceptronDistributed",
            dependencies: ["Perceptron", "CMPI"]
        ),
        // Open MPI's C API, found by pkg-config; its handle macros (MPI_COMM_WORLD,
        // MPI_FLOAT, MPI_SUM: addresses of globals) reach Swift as inline functions.
        .systemLibrary(
            name: "CMPI",
            pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]
        ),
        // The program the distributed tests start under mpirun. No product: a test tool.
        .executableTarget(
            name: "perceptron-distributed-worker",
            dependencies: ["PerceptronDistributed"]
        ),

        // MARK: Fuzzing
        // The .npy reader's libFuzzer target (`make fuzz`); built normally, a corpus replayer.
        // No product: it is a development tool, not something to install.
        .executableTarget(
            name: "perceptron-npy-fuzz",
            dependencies: ["Perceptron", "FuzzDriver"],
            // libFuzzer's dictionary of .npy tokens, read by `make fuzz`, not built.
            exclude: ["npy.dict"]
        ),
        // What both fuzz targets share: libFuzzer's driver, and the corpus replayer.
        .target(name: "FuzzDriver"),
        // The safetensors reader's libFuzzer target (`make fuzz FUZZ_TARGET=safetensors`), likewise.
        .executableTarget(
            name: "perceptron-safetensors-fuzz",
            dependencies: ["Perceptron", "FuzzDriver"],
            exclude: ["safetensors.dict"]
        ),

        // MARK: Tests
        // The tests that count allocations or probe the FMA peak need the
        // benchmark's C helpers: they are in Benchmarks/Tests.
        .testTarget(
            name: "PerceptronTests",
            dependencies: ["Perceptron", "CPerceptronCPU"],
            resources: [.copy("Fixtures")]
        ),
        // The distributed tests: they start the worker above under mpirun.
        .testTarget(
            name: "PerceptronDistributedTests",
            dependencies: ["Perceptron", "PerceptronDistributed", "perceptron-distributed-worker"]
        ),
    ]
)
