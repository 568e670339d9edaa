import Foundation
import TestSupport
import XCTest

@testable import OpenCLKit
@testable import SENetCore
@testable import SENetEngine
@testable import SENetImages

/// Resource hygiene, concurrency and driver trouble.
final class HardeningTests: XCTestCase {
    private func smallModel() throws -> SEResNet {
        try SyntheticWeights.model(Architecture(modelName: "seresnet18")!, seed: 1)
    }

    // MARK: - Resources

    func testHundredInferencesKeepOpenCLObjectsFlatAndAllAreReleased() throws {
        let before = CLObjectCount.total
        do {
            let engine = InferenceEngine(model: try smallModel(), runtime: try openTestDevice())
            let input = SyntheticWeights.input(shape: [1, 3, 32, 32], seed: 3)
            for _ in 0..<5 { _ = try engine.run(input) }
            let warm = CLObjectCount.byKind
            for _ in 0..<100 { _ = try engine.run(input) }
            XCTAssertEqual(CLObjectCount.byKind, warm, "no OpenCL object is created per inference")
            XCTAssertGreaterThan(warm["buffer"] ?? 0, 0)
        }
        XCTAssertEqual(CLObjectCount.total, before, "every OpenCL object is released with the engine: \(CLObjectCount.byKind)")
    }

    // MARK: - Concurrency

    func testSharedEngineGivesTheSameResultsFromManyThreads() throws {
        let engine = InferenceEngine(model: try smallModel(), runtime: try openTestDevice())
        let inputs = (0..<8).map {
            SyntheticWeights.input(shape: [1 + $0 % 2, 3, 32 + 8 * ($0 % 3), 40], seed: UInt64(100 + $0))
        }
        let sequential = try inputs.map { try engine.run($0).logits }
        let lock = NSLock()
        var concurrent: [Int: Tensor] = [:]
        var failures: [String] = []
        DispatchQueue.concurrentPerform(iterations: inputs.count * 2) { index in
            let item = index % inputs.count
            do {
                let logits = try engine.run(inputs[item]).logits
                lock.withLock { concurrent[index] = logits }
            } catch {
                lock.withLock { failures.append("\(error)") }
            }
        }
        XCTAssertEqual(failures, [])
        for index in 0..<(inputs.count * 2) {
            XCTAssertEqual(concurrent[index], sequential[index % inputs.count], "run \(index)")
        }
    }

    // MARK: - Driver trouble

    func testFailureMidRunNamesTheLayerAndLeavesTheEngineUsable() throws {
        let runtime = try openTestDevice()
        let model = try smallModel()
        let input = SyntheticWeights.input(shape: [1, 3, 32, 32], seed: 4)
        let broken = InferenceEngine(model: model, runtime: runtime, options: PlanOptions(failLayer: "layer3.0.se"))
        XCTAssertThrowsError(try broken.run(input)) { error in
            guard case EngineError.layerFailed(let layer, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(layer, "layer3.0.se")
        }
        // The same runtime still serves a healthy plan, and compare still works on it.
        let healthy = InferenceEngine(model: model, runtime: runtime)
        assertClose(try healthy.run(input).logits, try Reference.forward(model, input: input), tolerance: 1e-4)
        let comparison = try LayerComparison(
            plan: healthy.plan(for: input.shape), input: input, tolerance: 1e-4)
        XCTAssertTrue(comparison.passed)
    }

    func testPlanThatDoesNotFitSuggestsABatchThatDoes() throws {
        let runtime = try openTestDevice()
        let model = try smallModel()
        var options = PlanOptions()
        // Weights are 44.9 MiB with the direct kernels (Winograd's transformed ones would not fit):
        // room for a few images only.
        options.winograd = false
        options.memoryLimitBytes = 46 << 20
        let engine = InferenceEngine(model: model, runtime: runtime, options: options)
        var suggested = 0
        XCTAssertThrowsError(try engine.plan(for: [8, 3, 64, 64])) { error in
            guard case EngineError.deviceOutOfMemory(_, _, let batch, let suggestion) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(batch, 8)
            suggested = suggestion
        }
        XCTAssertGreaterThanOrEqual(suggested, 1)
        XCTAssertLessThan(suggested, 8)
        XCTAssertNoThrow(try engine.plan(for: [suggested, 3, 64, 64]), "the suggested batch fits")
    }

    // MARK: - Weights

    func testNonFiniteWeightsWarnByTensorName() throws {
        let architecture = Architecture(modelName: "legacy_seresnet18")!
        var parameters = SyntheticWeights.parameters(for: architecture, seed: 1)
        parameters["layer2.1.bn2.running_var"]!.data[3] = .infinity
        parameters["last_linear.bias"]!.data[0] = .nan
        let path = try temporaryDirectory(self).appendingPathComponent("w.safetensors").path
        try SafeTensorsWriter.write(parameters.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, to: path)
        let model = try ModelLoader.load(path: path)
        XCTAssertEqual(model.warnings.count, 2)
        XCTAssertTrue(model.warnings.contains { $0.hasPrefix("tensor layer2.1.bn2.running_var has 1 NaN or infinite") })
        XCTAssertTrue(model.warnings.contains { $0.hasPrefix("tensor last_linear.bias has 1 NaN or infinite") })
    }
}
