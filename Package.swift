// swift-tools-version: 6.0
import PackageDescription

// seedflow: tree-search reasoning with scheduled speculative decoding on the CPU.
// No package dependencies: libyaml and OpenBLAS come in as system libraries.
let package = Package(
    name: "seedflow",
    products: [
        .executable(name: "seedflow", targets: ["seedflow"]),
        .library(name: "SeedEngine", targets: ["SeedEngine"]),
    ],
    targets: [
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1",
                       providers: [.apt(["libyaml-dev"])]),
        // Innermost kernels only (f16 dot products, conversions): Swift does not lower
        // f16→f32 vector conversion to one instruction, clang does. Runtime-dispatched.
        .target(name: "CKernels"),
        .target(name: "SeedModel", dependencies: ["CBLAS", "CKernels"]),
        .target(name: "SeedEngine", dependencies: ["SeedModel", "CKernels"]),
        .target(name: "SeedFlow", dependencies: ["SeedEngine", "SeedModel", "CKernels", "CYAML"]),
        .executableTarget(name: "seedflow", dependencies: ["SeedEngine", "SeedFlow", "SeedModel"]),
        .testTarget(name: "SeedModelTests", dependencies: ["SeedModel", "CKernels"],
                    resources: [.copy("Resources")]),
        .testTarget(name: "SeedEngineTests", dependencies: ["SeedEngine"]),
        .testTarget(name: "CLITests", dependencies: ["SeedModel"]),
        .testTarget(name: "SeedFlowTests", dependencies: ["SeedFlow"]),
    ]
)
