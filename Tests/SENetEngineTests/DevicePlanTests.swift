import Foundation
import TestSupport
import XCTest

@testable import OpenCLKit
@testable import SENetCore
@testable import SENetEngine
@testable import SENetImages

/// The whole network through the plan on the OpenCL device present (PoCL in CI).
final class DevicePlanTests: XCTestCase {
    // MARK: - Against PyTorch

    func testDeviceMatchesPyTorchOnEveryFixtureWithBothKernelFamilies() throws {
        // Building a model is the slow part (SENet-154 has 115 M weights): once per fixture.
        var worst: [String: (Float, String)] = [:]
        for fixture in try ModelFixture.all() {
            let model = try SyntheticWeights.model(fixture.architecture, seed: fixture.weightSeed)
            try forEachDeviceAndFamily { runtime, family in
                var options = PlanOptions()
                options.kernelFamily = family
                let output = try InferenceEngine(model: model, runtime: runtime, options: options).run(fixture.input)
                let label = "\(fixture.name) on \(runtime.device), \(family) kernels"
                assertClose(output.logits, fixture.expectedLogits, tolerance: ModelFixture.tolerance, label)
                let error = Comparison(actual: output.logits, expected: fixture.expectedLogits).relativeError
                let key = "\(runtime.device), \(family) kernels, \(fixture.group)"
                if error > (worst[key]?.0 ?? -1) { worst[key] = (error, fixture.name) }
            }
        }
        for (key, value) in worst.sorted(by: { $0.key < $1.key }) {
            print("\(key): worst relative error vs PyTorch: \(value.0) (\(value.1))")
        }
    }

    // MARK: - Placement

    func testOpsForcedOntoTheCPUGiveTheSameAnswer() throws {
        let runtime = try openTestDevice()
        let fixture = try ModelFixture.load("legacy50_b2_96x128")
        let model = try SyntheticWeights.model(fixture.architecture, seed: fixture.weightSeed)
        let allDevice = try InferenceEngine(model: model, runtime: runtime).run(fixture.input).logits
        for cpuOps in [
            ["linear"], ["*.se*"], ["layer2*", "classifier"], ["stem.conv", "layer3.1.conv2", "layer4.2", "softmax"],
        ] {
            let engine = InferenceEngine(model: model, runtime: runtime, options: PlanOptions(cpuOps: cpuOps))
            let plan = try engine.plan(for: fixture.input.shape)
            XCTAssertFalse(plan.fallbacks.isEmpty, "\(cpuOps)")
            XCTAssertTrue(plan.fallbacks.allSatisfy { $0.reason == "forced onto the CPU" })
            XCTAssertTrue(
                plan.steps.contains { if case .upload = $0 { return true } else { return false } }, "transfers are explicit")
            let logits = try plan.run(fixture.input).logits
            assertClose(logits, allDevice, tolerance: 1e-5, "\(cpuOps)")
            assertClose(logits, fixture.expectedLogits, tolerance: ModelFixture.tolerance, "\(cpuOps)")
        }
    }

    func testUnknownCPUOpIsAnError() throws {
        let model = try SyntheticWeights.model(Architecture(modelName: "seresnet18")!, seed: 1)
        let engine = InferenceEngine(model: model, runtime: nil, options: PlanOptions(cpuOps: ["layer9.0.conv1"]))
        XCTAssertThrowsError(try engine.plan(for: [1, 3, 64, 64])) { XCTAssertTrue("\($0)".contains("matches no op"), "\($0)") }
    }

    func testCPUPlanMatchesPyTorch() throws {
        // The CPU plan walks the graph's reference ops, so it is checked against PyTorch's
        // logits, not against the reference (the same code).
        let fixture = try ModelFixture.load("classic34_48x40")
        let model = try SyntheticWeights.model(fixture.architecture, seed: fixture.weightSeed)
        let plan = try InferenceEngine(model: model, runtime: nil).plan(for: fixture.input.shape)
        XCTAssertTrue(plan.placements.allSatisfy { !$0.onDevice && $0.reason == "the CPU reference was chosen" })
        let output = try plan.run(fixture.input)
        assertClose(output.logits, fixture.expectedLogits, tolerance: ModelFixture.tolerance)
        // Softmax of PyTorch's logits, in doubles here.
        let classes = fixture.expectedLogits.shape[1]
        var expected = fixture.expectedLogits
        for row in 0..<expected.shape[0] {
            let logits = (0..<classes).map { Double(fixture.expectedLogits.data[row * classes + $0]) }
            let top = logits.max()!
            let sum = logits.reduce(0) { $0 + exp($1 - top) }
            for c in 0..<classes { expected.data[row * classes + c] = Float(exp(logits[c] - top) / sum) }
        }
        assertClose(output.probabilities, expected, tolerance: 1e-4)
    }

    // MARK: - Buffers

    func testArenaPlacesLiveValuesApartAndStaysSmall() throws {
        let runtime = try openTestDevice()
        let model = try SyntheticWeights.model(Architecture(modelName: "seresnet50")!, seed: 1)
        let plan = try ExecutionPlan(model: model, runtime: runtime, inputShape: [1, 3, 224, 224])
        let graph = plan.graph
        // Issue 11's bound: twice the largest layer's input plus output (the stem: 3×224×224 in,
        // 64×112×112 out), and issue 34's 7.3 MiB with scratch: on CPUs only Winograd's, one
        // chunk of tiles (no im2col with the default tiles).
        let stem = (3 * 224 * 224 + 64 * 112 * 112) * 4
        XCTAssertLessThanOrEqual(plan.activationBytes, 2 * stem)
        XCTAssertLessThanOrEqual(plan.activationBytes, 7_654_604)
        XCTAssertLessThanOrEqual(plan.scratchBytes, WinogradConvolution.scratchLimit)
        XCTAssertEqual(plan.activationBytes, plan.arena.byteCount)
        // Winograd's weights are the transformed ones (36/9 or 16/9 the size): 161 MiB, not 107.
        let weights = runtime.device.type == .cpu ? "161.1" : "107.0"
        XCTAssertTrue(
            plan.textDescription.contains("activations 6.9 MiB for this plan, weights \(weights) MiB"), plan.textDescription)
        // Values alive at the same step never share bytes, unless one is written in place over
        // the other.
        let values = plan.arena.offsets.keys.sorted()
        for (i, a) in values.enumerated() {
            for b in values[(i + 1)...] where plan.arena.lifetimes[a]!.overlaps(plan.arena.lifetimes[b]!) {
                if plan.arena.aliases[a] == b || plan.arena.aliases[b] == a { continue }
                let (ra, rb) = (plan.arena.offsets[a]!, plan.arena.offsets[b]!)
                let apart = ra + graph.values[a].byteCount <= rb || rb + graph.values[b].byteCount <= ra
                XCTAssertTrue(apart, "\(graph.values[a].name) and \(graph.values[b].name) overlap while both are alive")
            }
        }
        // scale + add + ReLU writes over the branch it reads (elementwise), so the block output
        // takes the last convolution's place.
        let offsets = Dictionary(plan.placements.map { ($0.name, $0.arenaOffset) }, uniquingKeysWith: { a, _ in a })
        for block in model.blocks {
            XCTAssertEqual(offsets[block.name]!, offsets[block.convs.last!.name]!, "\(block.name) in place")
        }
        let input = SyntheticWeights.input(shape: [1, 3, 224, 224], seed: 2)
        assertClose(try plan.run(input).logits, try Reference.forward(model, input: input), tolerance: 1e-4)
    }

    func testScratchLivesInTheArenaBesideTheValuesOfItsStep() throws {
        let runtime = try openTestDevice()
        let model = try SyntheticWeights.model(Architecture(modelName: "legacy_seresnet34")!, seed: 3)
        let shape = [2, 3, 64, 48]
        let graph = try NetworkGraph(model: model, inputShape: shape)
        var table = try TuningTable(for: runtime)
        for (_, g) in graph.convolutions {
            table.entries[ConvShapeKey(g)] = TunedConvolution(cpu: ConvTiling(channels: 8, pixels: 8, im2col: true))
        }
        let plan = try ExecutionPlan(
            graph: graph, runtime: runtime, weights: DeviceModel(runtime: runtime), options: PlanOptions(), tuning: table)
        XCTAssertGreaterThan(plan.scratchBytes, 0)
        let scratchOps = plan.arena.scratchOffsets
        XCTAssertEqual(
            scratchOps.count, graph.convolutions.filter { $0.geometry.kernelHeight > 1 || $0.geometry.stride > 1 }.count)
        for (step, action) in plan.steps.enumerated() {
            guard case .device(let op) = action, let offset = scratchOps[op] else { continue }
            let bytes =
                TiledConvolution.scratchCount(
                    graph.convolutions.first { $0.name == graph.nodes[op].name }!.geometry,
                    tiling: ConvTiling(channels: 8, pixels: 8, im2col: true)) * 4
            for (value, life) in plan.arena.lifetimes where life.contains(step) {
                let start = plan.arena.offsets[value]!
                let apart = offset + bytes <= start || start + graph.values[value].byteCount <= offset
                XCTAssertTrue(apart, "\(graph.nodes[op].name)'s scratch overlaps \(graph.values[value].name)")
            }
        }
        let input = SyntheticWeights.input(shape: shape, seed: 4)
        assertClose(try plan.run(input).logits, try Reference.forward(model, input: input), tolerance: 1e-4)
    }

    // MARK: - compare

    func testCompareNamesThePerturbedLayer() throws {
        let runtime = try openTestDevice()
        let model = try SyntheticWeights.model(Architecture(modelName: "legacy_seresnet34")!, seed: 1)
        let input = SyntheticWeights.input(shape: [1, 3, 64, 64], seed: 2)
        let clean = try LayerComparison(
            plan: ExecutionPlan(model: model, runtime: runtime, inputShape: input.shape), input: input, tolerance: 1e-4)
        XCTAssertTrue(clean.passed)
        XCTAssertNil(clean.firstDiverging)
        // One row per graph node, the softmax included: device probabilities are checked too.
        XCTAssertEqual(clean.rows.map(\.name), try NetworkGraph(model: model, inputShape: input.shape).nodes.map(\.name))
        XCTAssertEqual(clean.rows.last?.kind, Softmax.kind)
        XCTAssertTrue(clean.probabilities.passes(tolerance: 1e-4))
        // The perturbation is a plan step after the layer, wherever the layer runs.
        let cases: [(String, [String])] = [
            ("layer2.1.conv2", []), ("layer3.0.se", []), ("layer4.2", []), ("stem.pool", []), ("softmax", []),
            ("layer3.1.conv1", ["layer3.1.conv1"]),
        ]
        for (layer, cpuOps) in cases {
            let plan = try ExecutionPlan(
                model: model, runtime: runtime, inputShape: input.shape, options: PlanOptions(cpuOps: cpuOps, perturbLayer: layer)
            )
            let result = try LayerComparison(plan: plan, input: input, tolerance: 1e-4)
            XCTAssertEqual(result.firstDiverging?.name, layer)
            XCTAssertFalse(result.passed, layer)
        }
    }

    // MARK: - The model on the device

    func testPlansOfDifferentBatchSizesShareOneUploadOfTheWeights() throws {
        let runtime = try openTestDevice()
        let model = try SyntheticWeights.model(Architecture(modelName: "seresnet18")!, seed: 5)
        let engine = InferenceEngine(model: model, runtime: runtime)
        let deviceModel = try XCTUnwrap(engine.deviceModel)
        XCTAssertEqual(deviceModel.uploadCount, 0, "nothing is uploaded before a plan needs it")
        let first = try engine.plan(for: [4, 3, 32, 32])
        let uploads = deviceModel.uploadCount
        let bytes = deviceModel.weightBytes
        XCTAssertGreaterThan(uploads, 0)
        XCTAssertEqual(first.weightBytes, bytes)
        // The smaller last batch of a folder run, and another image size: no upload.
        let second = try engine.plan(for: [1, 3, 32, 32])
        let third = try engine.plan(for: [2, 3, 48, 40])
        XCTAssertEqual(deviceModel.uploadCount, uploads)
        XCTAssertEqual(deviceModel.weightBytes, bytes)
        XCTAssertEqual(second.weightBytes, bytes)
        XCTAssertLessThan(second.activationBytes, first.activationBytes, "activations scale with the batch; weights do not")
        // And every plan still computes the network.
        for (plan, seed) in [(first, UInt64(1)), (second, 2), (third, 3)] {
            let input = SyntheticWeights.input(shape: plan.inputShape, seed: seed)
            assertClose(try plan.run(input).logits, try Reference.forward(model, input: input), tolerance: 1e-4)
        }
        XCTAssertEqual(deviceModel.uploadCount, uploads)
    }

    func testWeightBytesCountThePackedWeightsTheDeviceHolds() throws {
        let runtime = try openTestDevice()
        // seresnext26t's deep stem has 24 and 32 output channels: packed into blocks of 64.
        let model = try SyntheticWeights.model(Architecture(modelName: "seresnext26t_32x4d")!, seed: 6)
        let stem = try XCTUnwrap(model.stem.first)
        XCTAssertEqual(stem.weight.shape, [24, 3, 3, 3])
        XCTAssertEqual(ConvTiling.packWeights(stem.weight).shape, [1, 27, 64])
        let calibration = try Int8Calibrator.calibrate(
            engine: InferenceEngine(model: model, runtime: nil),
            batches: [SyntheticWeights.input(shape: [1, 3, 32, 32], seed: 1)], origin: "test")
        for precision in Precision.allCases {
            var options = PlanOptions()
            options.precision = precision
            // Int8 weights: a byte per weight, packed four input channels to a word.
            options.int8Calibration = calibration
            let engine = InferenceEngine(model: model, runtime: runtime, options: options)
            let plan = try engine.plan(for: [1, 3, 32, 32])
            // The estimate (made before uploading, for the memory check) against the bytes of
            // the buffers the plan's ops then uploaded.
            XCTAssertEqual(plan.weightBytes, try XCTUnwrap(engine.deviceModel).weightBytes, "\(precision)")
            XCTAssertTrue(plan.textDescription.contains("(\(plan.weightBytes) bytes;"), plan.textDescription)
        }
    }

    // MARK: - Launches

    func testLaunchSizesAreCheckedAgainstTheKernelAndTheDevice() throws {
        let runtime = try openTestDevice()
        let kernel = try runtime.kernel("softmax_rows", file: "head.cl", defines: ["SOFTMAX_WG": 64])
        let buffer = try runtime.buffer(floats: 64)
        let arguments: [KernelArgument] = [.buffer(buffer), .buffer(buffer), .int(64)]
        XCTAssertNoThrow(try KernelLaunch(kernel, arguments, global: [64], local: [64]))
        let tooLarge = max(runtime.device.maxWorkGroupSize, kernel.maxWorkGroupSize) * 2
        for (global, local, fragment) in [
            ([tooLarge], [tooLarge], "exceed"), ([96], [64], "does not divide"), ([64], [8, 8], "rank"),
        ] {
            XCTAssertThrowsError(try KernelLaunch(kernel, arguments, global: global, local: local)) { error in
                guard case EngineError.invalidLaunch(let name, _, _, let reason) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(name, "softmax_rows")
                XCTAssertTrue(reason.contains(fragment), reason)
            }
        }
        XCTAssertThrowsError(try KernelLaunch(kernel, [.buffer(buffer), .buffer(buffer), .int(1 << 40)], global: [64])) {
            XCTAssertTrue("\($0)".contains("does not fit an OpenCL int"), "\($0)")
        }
    }
}
