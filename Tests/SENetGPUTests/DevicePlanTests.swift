import Foundation
import TestSupport
import XCTest

@testable import SENetGPU

/// The whole network through the plan on the OpenCL device present (PoCL in CI).
final class DevicePlanTests: XCTestCase {
    // MARK: - Against PyTorch

    func testDeviceMatchesPyTorchOnEveryFixture() throws {
        let runtime = try openTestDevice()
        var worst: (Float, String) = (0, "")
        for fixture in try ModelFixture.all() {
            let model = try SyntheticWeights.model(fixture.architecture, seed: fixture.weightSeed)
            let output = try InferenceEngine(model: model, runtime: runtime).run(fixture.input)
            assertClose(output.logits, fixture.expectedLogits, tolerance: ModelFixtureTests.tolerance, fixture.name)
            let error = Comparison(actual: output.logits, expected: fixture.expectedLogits).relativeError
            if error > worst.0 { worst = (error, fixture.name) }
        }
        print("device: worst relative error vs PyTorch: \(worst.0) (\(worst.1))")
    }

    // MARK: - Placement

    func testOpsForcedOntoTheCPUGiveTheSameAnswer() throws {
        let runtime = try openTestDevice()
        let fixture = try ModelFixture.load("legacy50_b2_96x128")
        let model = try SyntheticWeights.model(fixture.architecture, seed: fixture.weightSeed)
        let allDevice = try InferenceEngine(model: model, runtime: runtime).run(fixture.input).logits
        for cpuOps in [["excite"], ["layer2*", "classifier"], ["stem.conv", "layer3.1.conv2", "layer4.2", "softmax"]] {
            let engine = InferenceEngine(model: model, runtime: runtime, options: PlanOptions(cpuOps: cpuOps))
            let plan = try engine.plan(for: fixture.input.shape)
            XCTAssertFalse(plan.fallbacks.isEmpty, "\(cpuOps)")
            XCTAssertTrue(plan.fallbacks.allSatisfy { $0.reason == "forced by --cpu-ops" })
            XCTAssertTrue(
                plan.steps.contains { if case .upload = $0 { return true } else { return false } }, "transfers are explicit")
            let logits = try plan.run(fixture.input).logits
            assertClose(logits, allDevice, tolerance: 1e-5, "\(cpuOps)")
            assertClose(logits, fixture.expectedLogits, tolerance: ModelFixtureTests.tolerance, "\(cpuOps)")
        }
    }

    func testUnknownCPUOpIsAnError() throws {
        let model = try SyntheticWeights.model(Architecture(modelName: "seresnet18")!, seed: 1)
        let engine = InferenceEngine(model: model, runtime: nil, options: PlanOptions(cpuOps: ["layer9.0.conv1"]))
        XCTAssertThrowsError(try engine.plan(for: [1, 3, 64, 64])) { XCTAssertTrue("\($0)".contains("matches no op"), "\($0)") }
    }

    func testCPUPlanIsTheReference() throws {
        let model = try SyntheticWeights.model(Architecture(modelName: "senet34")!, seed: 3)
        let input = SyntheticWeights.input(shape: [2, 3, 48, 56], seed: 4)
        let output = try InferenceEngine(model: model, runtime: nil).run(input)
        XCTAssertEqual(output.logits, Reference.forward(model, input: input))
        assertClose(output.probabilities, Reference.softmax(output.logits), tolerance: 1e-6)
    }

    // MARK: - Buffers

    func testBuffersAreReusedAndPeakMemoryIsReported() throws {
        let runtime = try openTestDevice()
        let model = try SyntheticWeights.model(Architecture(modelName: "seresnet50")!, seed: 1)
        let plan = try ExecutionPlan(model: model, runtime: runtime, inputShape: [1, 3, 224, 224])
        // 89 ops share a handful of buffers; the largest activation is 256×56×56 floats.
        XCTAssertLessThanOrEqual(plan.bufferBytes.count, 8)
        let largest = 256 * 56 * 56 * 4
        XCTAssertEqual(plan.bufferBytes.max(), largest)
        XCTAssertLessThanOrEqual(plan.bufferBytes.reduce(0, +), 4 * largest)
        // The im2col scratch is sized for the largest unfolded layer: the stem, 3·7·7 × 112·112.
        XCTAssertEqual(plan.scratchBytes, 3 * 7 * 7 * 112 * 112 * 4)
        XCTAssertEqual(plan.activationBytes, plan.bufferBytes.reduce(0, +) + plan.scratchBytes)
        XCTAssertTrue(plan.textDescription.contains("peak activation memory"))
        // Convolutions never write over their input; scale + add + ReLU may (it is elementwise),
        // so the block output takes the branch's buffer.
        let buffers = Dictionary(plan.placements.map { ($0.name, $0.buffer) }, uniquingKeysWith: { a, _ in a })
        for block in model.blocks {
            for (previous, next) in zip(block.convs, block.convs.dropFirst()) {
                XCTAssertNotEqual(buffers[previous.name]!, buffers[next.name]!, next.name)
            }
            XCTAssertEqual(buffers[block.name]!, buffers[block.convs.last!.name]!, "\(block.name) in place")
        }
    }

    // MARK: - compare

    func testCompareNamesThePerturbedLayer() throws {
        let runtime = try openTestDevice()
        let model = try SyntheticWeights.model(Architecture(modelName: "legacy_seresnet34")!, seed: 1)
        let input = SyntheticWeights.input(shape: [1, 3, 64, 64], seed: 2)
        let clean = try LayerComparison(
            plan: ExecutionPlan(model: model, runtime: runtime, inputShape: input.shape), model: model, input: input,
            tolerance: 1e-4)
        XCTAssertTrue(clean.passed)
        XCTAssertNil(clean.firstDiverging)
        for layer in ["layer2.1.conv2", "layer3.0.se", "layer4.2", "stem.pool"] {
            let plan = try ExecutionPlan(
                model: model, runtime: runtime, inputShape: input.shape, options: PlanOptions(perturbLayer: layer))
            let result = try LayerComparison(plan: plan, model: model, input: input, tolerance: 1e-4)
            XCTAssertEqual(result.firstDiverging?.name, layer)
            XCTAssertFalse(result.passed, layer)
        }
    }
}
