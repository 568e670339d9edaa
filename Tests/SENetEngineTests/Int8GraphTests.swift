import Foundation
import SENetCore
import SENetEngine
import TestSupport
import XCTest

/// The graph an int8 plan runs: quantize nodes before the int8 convolutions, and a reference
/// that computes what the int8 simulation computes.
final class Int8GraphTests: XCTestCase {
    private func calibrated(_ name: String, side: Int = 64) throws -> (SEResNet, Int8Calibration) {
        let model = try SyntheticWeights.model(try XCTUnwrap(Architecture(modelName: name)), seed: 4)
        let batches = [1, 2].map { SyntheticWeights.input(shape: [2, 3, side, side], seed: UInt64($0)) }
        let engine = InferenceEngine(model: model, runtime: nil)
        return (model, try Int8Calibrator.calibrate(engine: engine, batches: batches, origin: "test"))
    }

    /// Every int8 op of the file reads a quantize node of its own input scale, and the graph's
    /// reference gives the simulation's logits (integer sums scaled once instead of scaled
    /// products: fp32 rounding apart, the same numbers).
    func testTheInt8GraphComputesWhatTheSimulationComputes() throws {
        for name in ["seresnet18", "seresnext26d_32x4d"] {
            let (model, calibration) = try calibrated(name)
            let input = SyntheticWeights.input(shape: [2, 3, 64, 64], seed: 101)
            let graph = try NetworkGraph(model: model, inputShape: input.shape)
            let int8 = graph.quantizedForInt8(calibration, keepsFP32: { _ in false })
            let int8Ops = calibration.ops.filter { $0.precision == .int8 }
            let converted = int8.nodes.filter { $0.op is Int8Convolution }
            XCTAssertEqual(converted.map(\.name), int8Ops.map(\.name), name)
            for (node, entry) in zip(converted, int8Ops) {
                let producer = try XCTUnwrap(int8.nodes.first { $0.output == node.inputs[0] }?.op as? Quantize, node.name)
                XCTAssertEqual(producer.scale, entry.inputScale, node.name)
                XCTAssertEqual(int8.values[node.inputs[0]].elementType, .int8)
                XCTAssertEqual(int8.values[node.inputs[0]].layout, .nc4hw4)
            }
            let simulated = Int8Simulation(graph: graph, calibration: calibration).run(input).logits
            let comparison = Comparison(actual: int8.runReference(input).logits, expected: simulated)
            print("\(name): int8 graph vs simulation, relative error \(comparison.relativeError)")
            XCTAssertLessThanOrEqual(comparison.relativeError, 1e-4, name)
            let fp32 = graph.runReference(input).logits
            XCTAssertGreaterThan(Comparison(actual: simulated, expected: fp32).relativeError, 1e-3, "int8 changes the logits")
        }
    }

    /// A kept op stays an fp32 convolution, and no quantize node is made for it alone.
    func testKeptOpsStayFP32() throws {
        let (model, calibration) = try calibrated("seresnet18", side: 32)
        let graph = try NetworkGraph(model: model, inputShape: [1, 3, 32, 32])
        let stem = try XCTUnwrap(graph.nodes.first { $0.op is Conv2d })
        let classifier = try XCTUnwrap(graph.nodes.last { $0.op is Linear })
        let kept: Set<String> = [stem.name, classifier.name]
        let int8 = graph.quantizedForInt8(calibration, keepsFP32: { kept.contains($0.name) })
        XCTAssertTrue(try XCTUnwrap(int8.node(named: stem.name)).op is Conv2d)
        XCTAssertTrue(try XCTUnwrap(int8.node(named: classifier.name)).op is Linear)
        XCTAssertFalse(int8.nodes.contains { $0.inputs == [graph.input] && $0.op is Quantize }, "the input is not quantized")
        XCTAssertEqual(
            int8.nodes.filter { $0.op is Int8Convolution }.count,
            calibration.ops.filter { $0.precision == .int8 }.count - kept.count)
    }
}
