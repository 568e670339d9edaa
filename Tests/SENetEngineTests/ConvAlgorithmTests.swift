import OpenCLKit
import SENetCore
import TestSupport
import XCTest

@testable import SENetEngine

/// `ConvAlgorithms.select`: which algorithm runs a geometry in each kernel family, with the
/// reasons for the ones passed over, and that plans record it.
final class ConvAlgorithmTests: XCTestCase {
    private let plain = ConvGeometry(batch: 1, inChannels: 64, height: 14, width: 14, outChannels: 64, kernel: 3, padding: 1)
    private let pointwise = ConvGeometry(batch: 1, inChannels: 64, height: 28, width: 28, outChannels: 128, kernel: 1)
    private let grouped = ConvGeometry(
        batch: 1, inChannels: 64, height: 14, width: 14, outChannels: 64, kernel: 3, padding: 1, groups: 32)

    func testEachFamilyPicksItsAlgorithmAndSaysWhyItPassedTheOthers() throws {
        let runtime = try openTestDevice()
        let gpu = LoweringContext(runtime: runtime, family: .gpu)
        XCTAssertEqual(ConvAlgorithms.select(plain, context: gpu).algorithm.name, "gemm-gpu")
        let groupedOnGPU = ConvAlgorithms.select(grouped, context: gpu)
        XCTAssertEqual(groupedOnGPU.algorithm.name, "tiled")
        XCTAssertEqual(
            groupedOnGPU.passedOver,
            [
                "gemm-gpu: it has no grouped form", "winograd-f4: it has no grouped form",
                "winograd-f2: it has no grouped form", "ocvec: the GPU family runs grouped layers with tiled",
            ])

        // Without Winograd (which takes `plain`; WinogradConvolutionTests), the tiling's kernel
        // decides between the two direct CPU-family algorithms.
        let cpu = LoweringContext(runtime: runtime, family: .cpu, winograd: false)
        for g in [plain, pointwise, grouped] {
            let choice = ConvAlgorithms.select(g, context: cpu)
            XCTAssertEqual(choice.passedOver.first, "gemm-gpu: the plan uses the CPU kernel family")
            guard case .cpu(let tiling) = choice.tiling else { return XCTFail("\(g): a GPU tiling in the CPU family") }
            XCTAssertEqual(choice.algorithm.name, tiling.kernel == .channelVector ? "ocvec" : "tiled", "\(g)")
        }
        if runtime.device.type == .cpu {
            // CPUs' defaults: the channel-vector kernel for 3×3 and 1×1s up to 28×28, the
            // pixel-vector GEMM for a 56×56 1×1.
            let wide = ConvGeometry(batch: 1, inChannels: 64, height: 56, width: 56, outChannels: 128, kernel: 1)
            XCTAssertEqual(ConvAlgorithms.select(plain, context: cpu).algorithm.name, "ocvec")
            XCTAssertEqual(ConvAlgorithms.select(pointwise, context: cpu).algorithm.name, "ocvec")
            XCTAssertEqual(ConvAlgorithms.select(wide, context: cpu).algorithm.name, "tiled")
        }
    }

    func testPlansRecordTheAlgorithmOfEveryConvolution() throws {
        let runtime = try openTestDevice()
        let model = try SyntheticWeights.model(Architecture(modelName: "seresnet18")!, seed: 1)
        for family in [KernelFamily.cpu, .gpu] {
            var options = PlanOptions()
            options.kernelFamily = family
            let plan = try InferenceEngine(model: model, runtime: runtime, options: options).plan(for: [1, 3, 32, 32])
            XCTAssertEqual(plan.convolutionChoices.count, plan.convolutions)
            for choice in plan.convolutionChoices {
                switch choice.tiling {
                case .gpu: XCTAssertEqual(choice.algorithm, "gemm-gpu", choice.name)
                case .cpu(let tiling) where choice.algorithm.hasPrefix("winograd"):
                    XCTAssertEqual(tiling.kernel, .channelVector, choice.name)
                case .cpu(let tiling):
                    XCTAssertEqual(choice.algorithm, tiling.kernel == .channelVector ? "ocvec" : "tiled", choice.name)
                }
            }
            // `plan` prints each one on its convolution's row.
            let rows = plan.textDescription.split(separator: "\n")
            for choice in plan.convolutionChoices {
                let row = rows.first { $0.contains(" \(choice.name) ") } ?? ""
                XCTAssertTrue(row.hasSuffix("  \(choice.summary)"), "\(choice.name): \(row)")
                XCTAssertTrue(choice.summary.hasPrefix("\(choice.algorithm) \(choice.tiling)"), choice.summary)
                XCTAssertEqual(choice.splitK > 1, choice.summary.contains(" split-K \(choice.splitK)"), choice.summary)
            }
            XCTAssertTrue(
                plan.textDescription.contains("convolution tiles: \(plan.tunedConvolutions) of \(plan.convolutions) layers"),
                plan.textDescription)
            let algorithms = Set(plan.convolutionChoices.map(\.algorithm))
            XCTAssertEqual(algorithms.contains("gemm-gpu"), family == .gpu, "\(family): \(algorithms)")
            XCTAssertEqual(algorithms.contains { $0.hasPrefix("winograd") }, family == .cpu, "\(family): \(algorithms)")
        }
    }

    func testUploadsAreKeyedByLayerAndPacking() throws {
        let runtime = try openTestDevice()
        let model = DeviceModel(runtime: runtime)
        let (cpu, gpu) = (
            LoweringContext(runtime: runtime, family: .cpu, winograd: false), LoweringContext(runtime: runtime, family: .gpu)
        )
        // One packing (oc64) in both families: ocvec or tiled, and gemm-gpu share one upload.
        let g = ConvGeometry(batch: 1, inChannels: 4, height: 6, width: 6, outChannels: 8, kernel: 3, padding: 1)
        let layer = ConvLayer(
            name: "conv", weight: Tensor.random(shape: g.weightShape, seed: 1), bias: Tensor.random(shape: [8], seed: 2),
            stride: 1, padding: 1, relu: false)
        let conv = Conv2d(layer: layer, geometry: g)
        XCTAssertEqual(conv.parameterLayout(cpu), conv.parameterLayout(gpu))
        let shared = try model.weights(for: conv, context: cpu)
        XCTAssertEqual(model.uploadCount, 2)
        XCTAssertTrue(try model.weights(for: conv, context: gpu)[0] === shared[0])
        XCTAssertEqual(model.uploadCount, 2)
        // An op whose layout differs by family gets an upload per layout, counted in the plan's bytes.
        let probe = LayoutProbe(parameters: [Tensor.random(shape: [3, 5], seed: 3)])
        let first = try model.weights(for: probe, context: cpu)
        let second = try model.weights(for: probe, context: gpu)
        XCTAssertFalse(first[0] === second[0], "two layouts of one layer shared a buffer")
        XCTAssertEqual(model.uploadCount, 4)
        let probeBytes = 3 * 5 * 4
        XCTAssertEqual(model.weightBytes - 2 * probeBytes, DeviceModel.bytes(of: [conv], context: cpu))
        XCTAssertEqual(DeviceModel.bytes(of: [probe, probe, conv], context: cpu), model.weightBytes - probeBytes)
    }

    func testSelfCheckRunsEveryRegisteredAlgorithmWithItsOwnTilings() throws {
        let runtime = try openTestDevice()
        let g = ConvGeometry(batch: 2, inChannels: 13, height: 9, width: 11, outChannels: 18, kernel: 3, padding: 1)
        let results = try KernelSelfCheck.algorithms(on: runtime, g, relu: true, seed: 7, precision: .fp32)
        for algorithm in ConvAlgorithms.registered {
            let rows = results.filter { $0.shape.hasPrefix("\(algorithm.name) ") }
            XCTAssertEqual(rows.count, algorithm.selfCheckTilings(device: runtime.device, precision: .fp32).count, algorithm.name)
            XCTAssertFalse(rows.isEmpty, algorithm.name)
            for row in rows { XCTAssertTrue(row.passed, "\(row.shape): \(row.comparison)") }
        }
        // Each row ran its algorithm's kernels, whatever the selector would have picked.
        let kernels = { (name: String) in Set(results.filter { $0.shape.hasPrefix("\(name) ") }.map(\.kernel)) }
        XCTAssertEqual(kernels("ocvec"), ["conv_ocvec"])
        // Winograd's tilings of both families, each run in its own family's GEMM.
        let winograd: Set = [
            "winograd_input+winograd_gemm+winograd_output", "winograd_input+winograd_gemm_local+winograd_output",
        ]
        XCTAssertEqual(kernels("winograd-f4"), winograd)
        XCTAssertEqual(kernels("winograd-f2"), winograd)
        XCTAssertEqual(kernels("tiled"), ["im2col+conv1x1_gemm", "conv_tiled"])
        XCTAssertTrue(kernels("gemm-gpu").allSatisfy { $0.hasPrefix("conv_gemm") }, "\(kernels("gemm-gpu"))")
    }

    func testTunerTimesEachAlgorithmThatCanRunTheLayer() throws {
        let runtime = try openTestDevice()
        let (cpu, gpu) = (LoweringContext(runtime: runtime, family: .cpu), LoweringContext(runtime: runtime, family: .gpu))
        let algorithms = { (g: ConvGeometry, context: LoweringContext) in
            Set(ConvTuner.candidates(g, context: context).map(\.algorithm))
        }
        XCTAssertEqual(algorithms(plain, cpu), ["winograd-f4", "winograd-f2", "ocvec", "tiled"])
        XCTAssertEqual(algorithms(plain, gpu), ["gemm-gpu", "winograd-f4", "winograd-f2"])
        XCTAssertEqual(algorithms(grouped, cpu), ["tiled"])
        XCTAssertEqual(algorithms(grouped, gpu), ["tiled"])
        // Each candidate is its algorithm's own, and the winner is stored under its algorithm.
        for context in [cpu, gpu] {
            for entry in ConvTuner.candidates(plain, context: context) {
                let algorithm = try XCTUnwrap(ConvAlgorithms.named(entry.algorithm))
                XCTAssertNil(algorithm.invalidReason(entry.tiling, plain, context: context), "\(entry)")
                XCTAssertEqual(entry.tiling.family, context.family, "\(entry)")
            }
        }
        let small = ConvGeometry(batch: 1, inChannels: 8, height: 6, width: 6, outChannels: 16, kernel: 3, padding: 1)
        let result = try ConvTuner.tune(small, context: cpu, repeats: 1)
        XCTAssertEqual(result.rejected, [])
        XCTAssertTrue(ConvTuner.candidates(small, context: cpu).contains(result.best) || result.best == result.fallback)
        let chosen = ConvAlgorithms.select(small, context: cpu)
        XCTAssertEqual(result.fallback, TunedConvolution(algorithm: chosen.algorithm.name, tiling: chosen.tiling))
    }
}

/// A parameterised op whose device layout is named after the kernel family.
private struct LayoutProbe: DeviceLowerable {
    static let kind = OpKind(rawValue: "LayoutProbe")
    let name = "probe"
    let parameters: [Tensor]
    func reference(_ inputs: [Tensor]) -> Tensor { inputs[0] }
    func parameterLayout(_ context: LoweringContext) -> String { context.family.rawValue }
    func makeDeviceOp(_ binding: DeviceBinding) throws -> DeviceOp { DeviceOp([]) }
}
