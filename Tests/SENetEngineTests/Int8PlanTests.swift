import OpenCLKit
import SENetCore
import SENetEngine
import TestSupport
import XCTest

/// Int8 plans on every device: the int8 convolutions on the device, the logits those of the
/// int8 graph's reference, and what the plan keeps in fp32 and why.
///
/// The reference, not `Int8Simulation`, is the kernels' oracle: both sum the same integers and
/// scale them once, while the simulation scales each product. That fp32 difference moves a
/// value on a rounding boundary to the neighbouring code now and then, and on random weights
/// such flips grow layer after layer (1.6e-2 at seresnext26d's logits), so the simulation only
/// judges accuracy (cosine with fp32).
final class Int8PlanTests: XCTestCase {
    private func calibrated(_ name: String) throws -> (SEResNet, Int8Calibration) {
        let model = try SyntheticWeights.model(try XCTUnwrap(Architecture(modelName: name)), seed: 4)
        let batches = [1, 2].map { SyntheticWeights.input(shape: [2, 3, 48, 48], seed: UInt64($0)) }
        let engine = InferenceEngine(model: model, runtime: nil)
        return (model, try Int8Calibrator.calibrate(engine: engine, batches: batches, origin: "test"))
    }

    private func int8Options(_ calibration: Int8Calibration?) -> PlanOptions {
        var options = PlanOptions()
        options.precision = .int8
        options.int8Calibration = calibration
        return options
    }

    func testInt8PlansGiveTheInt8ReferencesLogitsOnEveryDevice() throws {
        for name in ["seresnet18", "seresnext26d_32x4d"] {
            let (model, calibration) = try calibrated(name)
            let input = SyntheticWeights.input(shape: [2, 3, 56, 48], seed: 77)
            let fp32 = try NetworkGraph(model: model, inputShape: input.shape).runReference(input).logits
            let int8Ops = calibration.ops.filter { $0.precision == .int8 }.map(\.name)
            for runtime in try openTestDevices() {
                let plan = try InferenceEngine(model: model, runtime: runtime, options: int8Options(calibration))
                    .plan(for: input.shape)
                let label = "\(name) on \(runtime.device.description)"
                XCTAssertEqual(plan.precision, .int8)
                XCTAssertEqual(plan.int8Convolutions.map(\.name), int8Ops, label)
                XCTAssertTrue(plan.placements.allSatisfy(\.onDevice), label)
                let logits = try plan.run(input).logits
                let comparison = Comparison(actual: logits, expected: plan.graph.runReference(input).logits)
                print(
                    "\(label): int8 plan vs its reference, relative error \(comparison.relativeError); "
                        + "cosine with fp32 \(cosine(logits, fp32))")
                XCTAssertLessThanOrEqual(comparison.relativeError, Precision.int8.tolerance, label)
                XCTAssertGreaterThanOrEqual(cosine(logits, fp32), 0.99, label)
            }
        }
    }

    func testKeptLayersAndMissingCalibrationAreSaid() throws {
        let (model, calibration) = try calibrated("seresnet18")
        let runtime = try openTestDevice()
        XCTAssertThrowsError(
            try InferenceEngine(model: model, runtime: runtime, options: int8Options(nil)).plan(for: [1, 3, 32, 32])
        ) {
            XCTAssertEqual($0 as? EngineError, .int8NeedsCalibration)
        }
        var options = int8Options(calibration)
        options.fp32Layers = ["layer1*": "named by --fp32-layers"]
        let plan = try InferenceEngine(model: model, runtime: runtime, options: options).plan(for: [1, 3, 32, 32])
        let kept = plan.fp32Layers.map(\.name)
        XCTAssertFalse(kept.isEmpty)
        XCTAssertTrue(kept.allSatisfy { $0.hasPrefix("layer1") }, "\(kept)")
        XCTAssertTrue(plan.fp32Layers.allSatisfy { $0.reason == "named by --fp32-layers" })
        XCTAssertFalse(plan.int8Convolutions.contains { $0.name.hasPrefix("layer1") })
        XCTAssertEqual(
            plan.int8Convolutions.count + kept.count, calibration.ops.filter { $0.precision == .int8 }.count)
    }
}
