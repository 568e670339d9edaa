// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "senet-gpu",
    products: [
        .executable(name: "senet-gpu", targets: ["senet-gpu"]),
        .library(name: "SENetGPU", targets: ["SENetGPU"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.0.0"..<"5.0.0"),
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
        .target(
            name: "SENetGPU",
            dependencies: [
                "COpenCL",
                "CTurboJPEG",
                "CPNG",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            plugins: ["EmbedKernels"]
        ),
        .executableTarget(
            name: "senet-gpu",
            dependencies: [
                "SENetGPU",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Shared by the test targets: fixtures, assertClose, running the binary.
        .target(name: "TestSupport", dependencies: ["SENetGPU"], path: "Tests/TestSupport"),
        .testTarget(name: "SENetGPUTests", dependencies: ["SENetGPU", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["senet-gpu", "SENetGPU", "TestSupport"]),
    ],
    swiftLanguageModes: [.v5]
)
