// swift-tools-version:6.0
import PackageDescription

// Layers the compiler enforces (README, "How it is built"): each target may import only the
// ones named in its dependencies, so the reference can never see OpenCL and the OpenCL wrapper
// can never see a network.
let package = Package(
    name: "senet-gpu",
    products: [
        .executable(name: "senet-gpu", targets: ["senet-gpu"]),
        .library(name: "SENetGPU", targets: ["OpenCLKit", "SENetCore", "SENetImages", "SENetEngine"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.0.0"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        // The OpenCL C API from the system (ocl-icd-opencl-dev + opencl-headers).
        .systemLibrary(
            name: "COpenCL",
            pkgConfig: "OpenCL",
            providers: [.apt(["ocl-icd-opencl-dev", "opencl-headers"])]
        ),
        // Image decoding with the field's own libraries: libjpeg-turbo's TurboJPEG API and libpng.
        .systemLibrary(
            name: "CTurboJPEG",
            pkgConfig: "libturbojpeg",
            providers: [.apt(["libturbojpeg0-dev"])]
        ),
        .systemLibrary(
            name: "CPNG",
            pkgConfig: "libpng",
            providers: [.apt(["libpng-dev"])]
        ),
        // Turns Kernels/*.cl into Swift string literals so an installed binary needs no files.
        .executableTarget(name: "embed-kernels"),
        .plugin(
            name: "EmbedKernels",
            capability: .buildTool(),
            dependencies: ["embed-kernels"]
        ),
        // Thin owners of OpenCL handles: the only importer of COpenCL; no network words.
        .target(name: "OpenCLKit", dependencies: ["COpenCL"]),
        // Tensors, weight files, the network graph and the CPU reference that runs it: no OpenCL.
        .target(name: "SENetCore"),
        // JPEG/PNG decoding and preprocessing on the CPU.
        .target(name: "SENetImages", dependencies: ["SENetCore", "CTurboJPEG", "CPNG"]),
        // Plans, device ops, kernels, the device-resident model, program cache and tuner.
        .target(
            name: "SENetEngine",
            dependencies: [
                "OpenCLKit", "SENetCore", "SENetImages",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            plugins: ["EmbedKernels"]
        ),
        .executableTarget(
            name: "senet-gpu",
            dependencies: [
                "OpenCLKit", "SENetCore", "SENetImages", "SENetEngine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Shared by the test targets: fixtures, assertClose, running the binary.
        .target(name: "TestSupport", dependencies: ["SENetCore", "SENetEngine"], path: "Tests/TestSupport"),
        .testTarget(
            name: "SENetGPUTests", dependencies: ["OpenCLKit", "SENetCore", "SENetImages", "SENetEngine", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["senet-gpu", "SENetCore", "SENetEngine", "TestSupport"]),
    ],
    swiftLanguageModes: [.v5]
)
