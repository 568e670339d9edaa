import OpenCLKit
import SENetCore
import TestSupport
import XCTest

@testable import SENetEngine

/// `winograd-f4` and `winograd-f2` (conv_winograd.cl) on every test device, in both kernel
/// families: against the direct reference on shapes that leave partial tiles and partial
/// channel vectors, which layers they take by default, and how `--no-winograd`, fp16 plans, the
/// GPU family and a tuned entry change that, each saying why.
final class WinogradConvolutionTests: XCTestCase {
    private let algorithms = [WinogradConvolution(m: 4), WinogradConvolution(m: 2)]

    /// Odd sizes (tiles cut by the edge), batches of two, channel counts that no vector width
    /// divides, one-pixel maps, and two 14×14 maps with the network's channel count, whose
    /// scratch would pass `scratchLimit`, so they run in chunks of tiles.
    private let shapes = [
        ConvGeometry(batch: 2, inChannels: 13, height: 9, width: 11, outChannels: 18, kernel: 3, padding: 1),
        ConvGeometry(batch: 1, inChannels: 5, height: 7, width: 7, outChannels: 70, kernel: 3, padding: 1),
        ConvGeometry(batch: 3, inChannels: 2, height: 1, width: 3, outChannels: 9, kernel: 3, padding: 1),
        ConvGeometry(batch: 2, inChannels: 256, height: 14, width: 14, outChannels: 256, kernel: 3, padding: 1),
    ]

    private let tilings = [
        ConvTiling(vectors: 4, vectorWidth: 8, pixels: 3, localSize: 2),
        ConvTiling(vectors: 2, vectorWidth: 8, pixels: 5, localSize: 4),
        ConvTiling(vectors: 1, vectorWidth: 4, pixels: 1, localSize: nil),
        ConvTiling(vectors: 1, vectorWidth: 16, pixels: 4, localSize: 8),
    ]

    /// GPU-family GEMM tiles: square, channel-heavy and tile-heavy, a TK that C = 13 leaves
    /// partial, and one work-item per output.
    private let gpuTilings = [
        GPUConvTiling(tileM: 64, tileN: 64, tileK: 16, workM: 4, workN: 4),
        GPUConvTiling(tileM: 128, tileN: 8, tileK: 16, workM: 8, workN: 2),
        GPUConvTiling(tileM: 32, tileN: 16, tileK: 8, workM: 2, workN: 4),
        GPUConvTiling(tileM: 16, tileN: 16, tileK: 8, workM: 1, workN: 1),
    ]

    /// F(4,3)'s rounding grows with the channels and the transforms' factors: 1.2e-5 of the
    /// largest output at 256 channels of unscaled random weights (2–8e-6 with trained-like
    /// ones, WinogradTransformTests), where F(2,3) and the direct kernels stay under 1e-6.
    func testEveryTilingMatchesTheDirectConvolution() throws {
        for runtime in try openTestDevices() {
            for algorithm in algorithms {
                for (index, g) in shapes.enumerated() {
                    for tiling in tilings.map(ConvolutionTiling.cpu) + gpuTilings.map(ConvolutionTiling.gpu) {
                        let result = try XCTUnwrap(
                            try KernelSelfCheck.convolution(
                                on: runtime, g, algorithm: algorithm, tiling: tiling, relu: index % 2 == 0,
                                seed: UInt64(10 + index)))
                        let label = "\(runtime.device.name): \(result.shape)"
                        let shape = WinogradConvolution.Shape(g, algorithm.transform)
                        let chunks = (shape.tiles + shape.chunkTiles - 1) / shape.chunkTiles
                        XCTAssertEqual(chunks > 1, index == 3, "\(label): \(chunks) chunks")
                        let gemm = tiling.family == .gpu ? "winograd_gemm_local" : "winograd_gemm"
                        let launches = Array(repeating: "winograd_input+\(gemm)+winograd_output", count: chunks)
                        XCTAssertEqual(result.kernel, launches.joined(separator: "+"), label)
                        XCTAssertFalse(result.comparison.hasNonFinite, "\(label): an output was never written")
                        let tolerance: Float = algorithm.transform.m == 4 ? 3e-5 : 1e-5
                        XCTAssertLessThanOrEqual(
                            result.comparison.relativeError, tolerance, "\(label): \(result.comparison)")
                    }
                }
            }
        }
    }

    func testItTakesThe3x3StrideOneLayersOfFP32CPUFamilyPlans() throws {
        let runtime = try openTestDevice()
        let plain = shapes[3]
        let strided = ConvGeometry(
            batch: 1, inChannels: 64, height: 14, width: 14, outChannels: 64, kernel: 3, stride: 2, padding: 1)
        let cpu = LoweringContext(runtime: runtime, family: .cpu)
        let chosen = ConvAlgorithms.select(plain, context: cpu)
        XCTAssertEqual(chosen.algorithm.name, "winograd-f4")
        XCTAssertEqual(chosen.passedOver, ["gemm-gpu: the plan uses the CPU kernel family"])
        XCTAssertEqual(Conv2d(layer: layer(plain), geometry: plain).parameterLayout(cpu), "wino4-oc64")
        let stridedChoice = ConvAlgorithms.select(strided, context: cpu)
        XCTAssertFalse(stridedChoice.algorithm.name.hasPrefix("winograd"))
        XCTAssertTrue(
            stridedChoice.passedOver.contains("winograd-f4: it runs only 3×3 stride-1 padding-1 convolutions"),
            "\(stridedChoice.passedOver)")

        let contexts: [(LoweringContext, String)] = [
            (LoweringContext(runtime: runtime, family: .cpu, winograd: false), "--no-winograd turned it off"),
            (
                LoweringContext(runtime: runtime, family: .cpu, precision: .fp16),
                "its transforms amplify half rounding; fp16 plans run the direct kernels"
            ),
        ]
        for (context, reason) in contexts {
            for algorithm in algorithms { XCTAssertEqual(algorithm.unsupportedReason(plain, context: context), reason) }
            let choice = ConvAlgorithms.select(plain, context: context)
            XCTAssertFalse(choice.algorithm.name.hasPrefix("winograd"), reason)
            if context.family == .cpu {
                // The plan says why (`plan -v`: "passed over ...").
                XCTAssertTrue(choice.passedOver.contains("winograd-f4: \(reason)"), "\(choice.passedOver)")
            }
            XCTAssertFalse(ConvTuner.candidates(plain, context: context).contains { $0.algorithm.hasPrefix("winograd") })
        }
        XCTAssertEqual(
            Set(ConvTuner.candidates(plain, context: cpu).map(\.algorithm)), ["winograd-f4", "winograd-f2", "ocvec", "tiled"])

        // The GPU family runs it only where `tune` chose it, and says so.
        let gpu = LoweringContext(runtime: runtime, family: .gpu)
        let onGPU = ConvAlgorithms.select(plain, context: gpu)
        XCTAssertEqual(onGPU.algorithm.name, "gemm-gpu")
        let declined = "not a GPU-family default until timed on a GPU (`tune` may choose it)"
        for algorithm in algorithms {
            XCTAssertNil(algorithm.unsupportedReason(plain, context: gpu))
            XCTAssertEqual(algorithm.defaultDeclinedReason(plain, context: gpu), declined)
        }
        let gpuCandidates = ConvTuner.candidates(plain, context: gpu).filter { $0.algorithm.hasPrefix("winograd") }
        XCTAssertFalse(gpuCandidates.isEmpty)
        XCTAssertTrue(gpuCandidates.allSatisfy { $0.tiling.family == .gpu && $0.tiling.description.contains("split") == false })
    }

    /// A tuned GPU-family entry runs in the GPU family; the same tiling in a CPU-family table
    /// (or a CPU tiling in a GPU-family one) is set aside, saying why.
    func testATunedGPUFamilyEntryRunsOnlyInTheGPUFamily() throws {
        let runtime = try openTestDevice()
        let g = shapes[0]
        let tiling = ConvolutionTiling.gpu(gpuTilings[2])
        var table = try TuningTable(for: runtime)
        table.entries[ConvShapeKey(g, precision: .fp32, family: .gpu)] = TunedConvolution(
            algorithm: "winograd-f4", tiling: tiling)
        table.entries[ConvShapeKey(g, precision: .fp32, family: .cpu)] = TunedConvolution(
            algorithm: "winograd-f4", tiling: tiling)
        let gpu = ConvAlgorithms.select(g, context: LoweringContext(runtime: runtime, family: .gpu, tuning: table))
        XCTAssertEqual(gpu.algorithm.name, "winograd-f4")
        XCTAssertEqual(gpu.tiling, tiling)
        let cpu = ConvAlgorithms.select(g, context: LoweringContext(runtime: runtime, family: .cpu, tuning: table))
        XCTAssertNil(cpu.tuned)
        XCTAssertEqual(cpu.substitutions.count, 1)
        XCTAssertTrue(
            cpu.substitutions[0].contains("a GPU-family tiling in a CPU-family plan; the default runs"), cpu.substitutions[0])
        XCTAssertEqual(cpu.algorithm.name, "winograd-f4", "the CPU family's default for this layer")
    }

    func testATunedF2EntryRunsAndNoWinogradSetsItAsideSayingWhy() throws {
        let runtime = try openTestDevice()
        let g = shapes[0]
        var table = try TuningTable(for: runtime)
        let tiling = ConvolutionTiling.cpu(tilings[1])
        table.entries[ConvShapeKey(g, precision: .fp32, family: .cpu)] = TunedConvolution(
            algorithm: "winograd-f2", tiling: tiling)
        let tuned = ConvAlgorithms.select(g, context: LoweringContext(runtime: runtime, family: .cpu, tuning: table))
        XCTAssertEqual(tuned.algorithm.name, "winograd-f2")
        XCTAssertEqual(tuned.tiling, tiling)
        XCTAssertNotNil(tuned.tuned)
        let off = ConvAlgorithms.select(
            g, context: LoweringContext(runtime: runtime, family: .cpu, tuning: table, winograd: false))
        XCTAssertFalse(off.algorithm.name.hasPrefix("winograd"))
        XCTAssertNil(off.tuned)
        XCTAssertEqual(off.substitutions.count, 1)
        XCTAssertTrue(off.substitutions[0].contains("--no-winograd turned it off; the default runs"), off.substitutions[0])
    }

    /// A whole network in the CPU family, with and without Winograd, against the reference:
    /// within 1e-4 on the logits, and every 3×3 stride-1 layer (and only those) ran Winograd.
    func testNetworkLogitsStayWithin1e4OfTheReference() throws {
        let runtime = try openTestDevice()
        let model = try SyntheticWeights.model(Architecture(modelName: "seresnet18")!, seed: 3)
        let input = Tensor.random(shape: [2, 3, 40, 48], seed: 4)
        let expected = try InferenceEngine(model: model, runtime: nil).run(input).logits
        for winograd in [true, false] {
            var options = PlanOptions()
            options.kernelFamily = .cpu
            options.winograd = winograd
            let engine = InferenceEngine(model: model, runtime: runtime, options: options)
            let plan = try engine.plan(for: input.shape)
            let ran = plan.convolutionChoices.filter { $0.algorithm.hasPrefix("winograd") }.map(\.name)
            let eligible = plan.graph.convolutions.filter { _, g in g.kernelHeight == 3 && g.stride == 1 }.map(\.0)
            XCTAssertEqual(ran, winograd ? eligible : [])
            XCTAssertFalse(eligible.isEmpty)
            let comparison = Comparison(actual: try engine.run(input).logits, expected: expected)
            XCTAssertLessThanOrEqual(comparison.relativeError, 1e-4, "winograd \(winograd): \(comparison)")
        }
    }

    /// The GPU family runs Winograd where a tuning table says so: every 3×3 stride-1 layer of a
    /// network given to winograd-f4 or winograd-f2 (alternately) runs it, within 1e-4 of the
    /// reference on the logits.
    func testGPUFamilyPlansRunTunedWinogradWithin1e4OfTheReference() throws {
        let model = try SyntheticWeights.model(Architecture(modelName: "seresnet18")!, seed: 5)
        let shape = [2, 3, 40, 48]
        let graph = try NetworkGraph(model: model, inputShape: shape)
        for runtime in try openTestDevices() {
            var table = try TuningTable(for: runtime)
            var given: [String: String] = [:]
            for (index, (name, g)) in graph.convolutions.enumerated() where g.kernelHeight == 3 && g.stride == 1 {
                let algorithm = index % 2 == 0 ? "winograd-f4" : "winograd-f2"
                table.entries[ConvShapeKey(g, precision: .fp32, family: .gpu)] = TunedConvolution(
                    algorithm: algorithm, tiling: .gpu(gpuTilings[index % gpuTilings.count]))
                given[name] = algorithm
            }
            XCTAssertGreaterThan(given.count, 4)
            var options = PlanOptions()
            options.kernelFamily = .gpu
            let plan = try ExecutionPlan(
                graph: graph, runtime: runtime, weights: DeviceModel(runtime: runtime), options: options, tuning: table)
            // Layers of one shape share an entry, so each ran the algorithm of the last one given.
            let ran = Dictionary(uniqueKeysWithValues: plan.convolutionChoices.map { ($0.name, $0.algorithm) })
            for name in given.keys { XCTAssertTrue(ran[name]?.hasPrefix("winograd-f") == true, "\(name): \(ran[name] ?? "")") }
            XCTAssertEqual(ran.values.filter { $0.hasPrefix("winograd") }.count, given.count)
            let error = try ConvTuner.verifyNetwork(model, inputShape: shape, runtime: runtime, family: .gpu, table: table)
            XCTAssertLessThanOrEqual(error, 1e-4, runtime.device.name)
        }
    }

    private func layer(_ g: ConvGeometry) -> ConvLayer {
        ConvLayer(
            name: "conv", weight: Tensor.random(shape: g.weightShape, seed: 1),
            bias: Tensor.random(shape: [g.outChannels], seed: 2),
            stride: g.stride, padding: g.padding, relu: false)
    }
}
