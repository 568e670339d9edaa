import Foundation
import SENetCore
import SENetEngine
import TestSupport
import XCTest

/// `senet-gpu calibrate`'s measurement on the CPU reference, the file it writes, and the int8
/// simulation that shows what the calibration costs the logits.
final class Int8CalibrationTests: XCTestCase {
    private func model(_ name: String) throws -> SEResNet {
        try SyntheticWeights.model(try XCTUnwrap(Architecture(modelName: name)), seed: 4)
    }

    private func batches(seeds: [UInt64], side: Int = 64) -> [Tensor] {
        seeds.map { SyntheticWeights.input(shape: [2, 3, side, side], seed: $0) }
    }

    func testEveryOpIsListedWithItsPrecisionAndTheScalesAreTheWeightsAndMapsOwn() throws {
        let model = try model("seresnet18")
        let engine = InferenceEngine(model: model, runtime: nil)
        let inputs = batches(seeds: [1, 2])
        let calibration = try Int8Calibrator.calibrate(engine: engine, batches: inputs, origin: "test")
        let graph = try engine.plan(for: inputs[0].shape).graph
        XCTAssertEqual(calibration.ops.map(\.name), graph.nodes.map(\.name))
        XCTAssertEqual(calibration.calibration.images, 4)
        for (op, node) in zip(calibration.ops, graph.nodes) {
            let int8 = node.op is Conv2d || node.output == graph.logits
            XCTAssertEqual(op.precision, int8 ? .int8 : .fp32, op.name)
            XCTAssertFalse(op.reason.isEmpty, op.name)
        }
        XCTAssertTrue(calibration.ops.contains { $0.name.contains(".se.") && $0.reason.hasPrefix("squeeze-excite FC") })
        // Weight scales: each output channel's largest magnitude over 127.
        let conv = try XCTUnwrap(graph.nodes.first { $0.name == "layer2.0.conv1" }?.op as? Conv2d)
        let entry = try XCTUnwrap(calibration.ops.first { $0.name == "layer2.0.conv1" })
        let perChannel = conv.layer.weight.count / conv.layer.outChannels
        let expected = (0..<conv.layer.outChannels).map { channel in
            conv.layer.weight.data[(channel * perChannel)..<((channel + 1) * perChannel)].map(abs).max()! / 127
        }
        XCTAssertEqual(entry.weightScales, expected)
        XCTAssertLessThan(try XCTUnwrap(entry.weightError), 0.02)
        XCTAssertEqual(entry.inputNonNegative, true, "a block's first conv reads a ReLU's output")
        // The stem reads the normalised image: signed, and clipped at most at its largest value.
        let stem = try XCTUnwrap(calibration.ops.first { $0.kind == "conv" })
        let largest = inputs.flatMap(\.data).map(abs).max()!
        XCTAssertEqual(stem.inputNonNegative, false)
        XCTAssertLessThanOrEqual(try XCTUnwrap(stem.inputScale) * 127, largest * (1 + 1e-6))
        XCTAssertGreaterThan(try XCTUnwrap(stem.inputScale) * 127, largest * 0.5)
        // What calibrate writes is what it reads back, and it fits the model.
        let decoded = try Int8Calibration.decode(try calibration.encoded(), path: "c.json")
        XCTAssertEqual(decoded, calibration)
        XCTAssertNoThrow(
            try decoded.validate(model: "seresnet18", ops: Int8Calibrator.expectedOps(graph), path: "c.json"))
    }

    /// Calibrated on one set of seeded inputs, evaluated on another: int8 as simulated keeps the
    /// logits' cosine similarity with fp32 at 0.99 or more, and does change them.
    func testInt8KeepsTheLogitsOfOtherInputsCloseToFP32() throws {
        for name in ["seresnet18", "seresnext26d_32x4d"] {
            let model = try model(name)
            let engine = InferenceEngine(model: model, runtime: nil)
            let calibration = try Int8Calibrator.calibrate(engine: engine, batches: batches(seeds: [1, 2, 3]), origin: "test")
            let input = SyntheticWeights.input(shape: [2, 3, 64, 64], seed: 101)
            let graph = try NetworkGraph(model: model, inputShape: input.shape)
            let fp32 = graph.runReference(input).logits
            let int8 = Int8Simulation(graph: graph, calibration: calibration).run(input).logits
            let similarity = cosine(int8, fp32)
            print(
                "\(name): int8 simulation cosine \(similarity), relative error \(Comparison(actual: int8, expected: fp32).relativeError)"
            )
            XCTAssertGreaterThanOrEqual(similarity, 0.99, name)
            XCTAssertNotEqual(int8.data, fp32.data, "\(name): the simulation rounds something")
        }
    }

    /// Every fixture (each family and depth): calibrated on a seeded input of another seed,
    /// the simulated int8 logits of the fixture's input keep a cosine of 0.99 or more with
    /// PyTorch's fp32 logits. Prints the table docs/PRECISION.md quotes.
    func testInt8KeepsEveryFixturesLogitsCloseToPyTorchs() throws {
        for fixture in try ModelFixture.all() {
            let model = try SyntheticWeights.model(fixture.architecture, seed: fixture.weightSeed)
            let engine = InferenceEngine(model: model, runtime: nil)
            let other = SyntheticWeights.input(shape: fixture.inputShape, seed: fixture.inputSeed + 1000)
            let calibration = try Int8Calibrator.calibrate(engine: engine, batches: [other], origin: "seed")
            let graph = try engine.plan(for: fixture.inputShape).graph
            let int8 = Int8Simulation(graph: graph, calibration: calibration).run(fixture.input).logits
            let similarity = cosine(int8, fixture.expectedLogits)
            let error = Comparison(actual: int8, expected: fixture.expectedLogits).relativeError
            print(String(format: "| %@ | %@ | %.5f | %.1e |", fixture.name, fixture.architecture.modelName, similarity, error))
            XCTAssertGreaterThanOrEqual(similarity, 0.99, fixture.name)
        }
    }

    func testFilesThatDoNotFitTheModelAreRefusedNamingWhy() throws {
        let model = try model("seresnet18")
        let engine = InferenceEngine(model: model, runtime: nil)
        let good = try Int8Calibrator.calibrate(engine: engine, batches: batches(seeds: [1], side: 32), origin: "test")
        let expected = Int8Calibrator.expectedOps(try engine.plan(for: [2, 3, 32, 32]).graph)
        let conv = try XCTUnwrap(good.ops.firstIndex { $0.name == "layer1.0.conv1" })
        let pool = try XCTUnwrap(good.ops.firstIndex { $0.kind == "maxpool" })
        var cases: [(String, (inout Int8Calibration) -> Void)] = [
            ("it calibrates seresnet34, not seresnet18", { $0.model = "seresnet34" }),
            ("op layer1.0.conv1 is missing", { $0.ops.remove(at: conv) }),
            ("is listed twice", { $0.ops.append($0.ops[conv]) }),
            ("op layer9.conv is not in seresnet18's graph", { $0.ops[conv].name = "layer9.conv" }),
            ("op layer1.0.conv1 is a conv, not a linear", { $0.ops[conv].kind = "linear" }),
            ("has no int8 form; make it fp32", { $0.ops[pool].precision = .int8 }),
            ("has 3 weight scales for its 64 output channels", { $0.ops[conv].weightScales = [1, 1, 1] }),
            ("weight scale 2 is 0.0, not a finite positive number", { $0.ops[conv].weightScales![2] = 0 }),
            ("input_scale is missing", { $0.ops[conv].inputScale = nil }),
            ("input_scale is -1.0", { $0.ops[conv].inputScale = -1 }),
        ]
        cases.append(("calibration.images is 0", { $0.calibration.images = 0 }))
        for (message, change) in cases {
            var file = good
            change(&file)
            XCTAssertThrowsError(
                try Int8Calibration.decode(try file.encoded(), path: "c.json").validate(
                    model: "seresnet18", ops: expected, path: "c.json"), message
            ) { error in
                XCTAssertTrue("\(error)".hasPrefix("int8 calibration c.json: "), "\(error)")
                XCTAssertTrue("\(error)".contains(message), "«\(error)» lacks «\(message)»")
            }
        }
        let text = String(decoding: try good.encoded(), as: UTF8.self)
        for (bytes, message) in [
            ("{}", "not a senet-gpu int8 calibration file"),
            ("[1, 2", "not a senet-gpu int8 calibration file"),
            (text.replacingOccurrences(of: "\"version\" : 1", with: "\"version\" : 2"), "version 2 is not 1"),
            (text.replacingOccurrences(of: "\"ops\"", with: "\"opz\""), "ops is missing"),
            (
                text.replacingOccurrences(of: "\"images\" : 2", with: "\"images\" : \"two\""),
                "calibration.images has the wrong type"
            ),
        ] {
            XCTAssertThrowsError(try Int8Calibration.decode(Data(bytes.utf8), path: "c.json"), message) { error in
                XCTAssertTrue("\(error)".contains(message), "«\(error)» lacks «\(message)»")
            }
        }
    }
}
