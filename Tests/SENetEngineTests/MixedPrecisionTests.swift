import CoreTestSupport
import Foundation
import TestSupport
import XCTest

@testable import SENetCore
@testable import SENetEngine

/// Mixed precision (issue #26 item 2): fp16 plans with named or searched layers kept in fp32,
/// casts inserted where they meet, against the fp32 reference within fp16's 2e-2.
final class MixedPrecisionTests: XCTestCase {
    private func overflowModel() throws -> SEResNet {
        let path = try temporaryDirectory(self).appendingPathComponent("overflow.safetensors").path
        try OverflowFixture.write(to: path)
        return try ModelLoader.load(path: path)
    }

    private func fp16Options(family: KernelFamily? = nil) -> PlanOptions {
        var options = PlanOptions()
        options.precision = .fp16
        options.kernelFamily = family
        return options
    }

    /// Plain fp16 fails on the overflow fixture; the search keeps exactly the overflowing layer
    /// and its reader in fp32, and that plan passes, on every device in both kernel families.
    func testSearchKeepsExactlyTheOverflowingLayerAndItsReader() throws {
        let model = try overflowModel()
        let input = SyntheticWeights.input(shape: [2, 3, 64, 64], seed: 31)
        let reference = try Reference.forward(model, input: input)
        try forEachDeviceAndFamily { runtime, family in
            let engine = InferenceEngine(model: model, runtime: runtime, options: fp16Options(family: family))
            let plain = Comparison(actual: try engine.run(input).logits, expected: reference)
            XCTAssertFalse(plain.passes(tolerance: Precision.fp16.tolerance), "plain fp16 must fail: \(plain)")

            let search = try MixedPrecisionSearch(engine: engine, calibration: input, tolerance: Precision.fp16.tolerance)
            XCTAssertEqual(search.fp32Layers.map(\.name), [OverflowFixture.overflowing, OverflowFixture.reader], "\(family)")
            XCTAssertTrue(search.fp32Layers[0].reason.contains("its output reaches"), search.fp32Layers[0].reason)
            XCTAssertTrue(search.fp32Layers[1].reason.contains("reads \(OverflowFixture.overflowing)"))
            XCTAssertEqual(search.rounds, 1, "the overflow rule alone suffices")
            XCTAssertTrue(search.mixed.passed)
            guard case .logitsRelativeError(let plainError) = search.plainFP16 else { return XCTFail("plain fp16 ran") }
            let device = runtime.device.description
            XCTAssertFalse(plainError <= Precision.fp16.tolerance)

            // The same choice as plan options, on another input: within fp16's bound.
            var options = fp16Options(family: family)
            options.fp32Layers = Dictionary(uniqueKeysWithValues: search.fp32Layers.map { ($0.name, $0.reason) })
            let mixed = InferenceEngine(model: model, runtime: runtime, options: options)
            let other = SyntheticWeights.input(shape: [1, 3, 64, 64], seed: 32)
            let error = Comparison(actual: try mixed.run(other).logits, expected: try Reference.forward(model, input: other))
            XCTAssertTrue(error.passes(tolerance: Precision.fp16.tolerance), "\(device) \(family): \(error)")
            print("overflow fixture, \(device) \(family): plain fp16 \(plainError), mixed \(error.relativeError)")
        }
    }

    /// Named layers: their convolutions store fp32 weights and feature maps, casts sit where they
    /// meet fp16 layers (one per value and direction), and the plan says so.
    func testNamedLayersRunInFP32WithCastsAtTheBoundaries() throws {
        let fixture = try ModelFixture.load("legacy18_67x83")
        let model = try SyntheticWeights.model(fixture.architecture, seed: fixture.weightSeed)
        let runtime = try openTestDevice()
        var options = fp16Options()
        options.fp32Layers = ["layer2*": "named by the test"]
        let plan = try InferenceEngine(model: model, runtime: runtime, options: options).plan(for: fixture.inputShape)
        let plain = try InferenceEngine(model: model, runtime: runtime, options: fp16Options()).plan(for: fixture.inputShape)

        let kept = plan.fp32Layers.map(\.name)
        XCTAssertFalse(kept.isEmpty)
        XCTAssertTrue(kept.allSatisfy { $0.hasPrefix("layer2") }, "\(kept)")
        for choice in plan.convolutionChoices {
            XCTAssertEqual(choice.precision, choice.name.hasPrefix("layer2") ? .fp32 : .fp16, choice.name)
        }
        for node in plan.graph.nodes where node.kind != Cast.kind {
            for value in node.inputs + [node.output] where plan.graph.values[value].shape.count == 4 {
                let want: ElementType = node.name.hasPrefix("layer2") ? .float32 : .float16
                XCTAssertEqual(
                    plan.graph.values[value].elementType, want, "\(node.name) reads or writes \(plan.graph.values[value].name)")
            }
        }
        // layer2 starts with one fp16 → fp32 cast of layer1's output (read by conv1 and the
        // downsample) and ends with one fp32 → fp16 cast of its output, read by layer3.
        let casts = plan.graph.nodes.filter { $0.kind == Cast.kind }.map(\.name)
        XCTAssertEqual(casts, ["layer1.1.to_fp32", "layer2.1.to_fp16"])
        XCTAssertGreaterThan(plan.weightBytes, plain.weightBytes, "layer2's weights are fp32")
        XCTAssertTrue(plan.textDescription.contains("kept in fp32 (\(kept.count)"), plan.textDescription)

        let input = fixture.input
        let error = Comparison(actual: try plan.run(input).logits, expected: try Reference.forward(model, input: input))
        XCTAssertTrue(error.passes(tolerance: Precision.fp16.tolerance), "\(error)")
        let comparison = try LayerComparison(plan: plan, input: input, tolerance: Precision.fp16.tolerance)
        // A layer kept in fp32 reads the fp16 map exactly widened, so its own error stays fp16-sized.
        XCTAssertTrue(comparison.passed)
    }

    func testUnmatchedFP32LayerIsAnError() throws {
        let fixture = try ModelFixture.load("legacy18_67x83")
        let model = try SyntheticWeights.model(fixture.architecture, seed: fixture.weightSeed)
        var options = fp16Options()
        options.fp32Layers = ["layer9*": "named by the test"]
        XCTAssertThrowsError(
            try InferenceEngine(model: model, runtime: try openTestDevice(), options: options).plan(for: fixture.inputShape)
        ) { error in
            guard case EngineError.unmatchedFP32Layer(let pattern) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(pattern, "layer9*")
        }
    }

    /// Rule 3 alone: at a bound plain fp16 misses on an ordinary network, the search keeps the
    /// layers that add the most error round by round until the logits pass, or says it could not.
    func testSearchByErrorKeepsLayersUntilTheLogitsPass() throws {
        let fixture = try ModelFixture.load("legacy18_67x83")
        let model = try SyntheticWeights.model(fixture.architecture, seed: fixture.weightSeed)
        let engine = InferenceEngine(model: model, runtime: try openTestDevice(), options: fp16Options())
        let input = fixture.input
        let plain = Comparison(actual: try engine.run(input).logits, expected: try Reference.forward(model, input: input))
        let bound = plain.relativeError / 2
        do {
            let search = try MixedPrecisionSearch(engine: engine, calibration: input, tolerance: bound, maxRounds: 40)
            XCTAssertTrue(search.mixed.passed)
            XCTAssertLessThanOrEqual(search.mixed.logits.relativeError, bound)
            XCTAssertGreaterThanOrEqual(search.fp32Layers.count, search.rounds - 1, "at least one layer kept per failing round")
            XCTAssertTrue(search.fp32Layers.allSatisfy { $0.reason.contains("relative error of its own") })
            print("bound \(bound): kept \(search.fp32Layers.map(\.name)) in \(search.rounds) rounds")
        } catch EngineError.autoPrecisionFailed(let kept, let error, let tolerance) {
            XCTAssertEqual(kept, 39)
            XCTAssertGreaterThan(error, tolerance)
        }
    }
}
