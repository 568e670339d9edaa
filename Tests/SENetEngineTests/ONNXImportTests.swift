import Foundation
import ONNXProto
import SwiftProtobuf
import TestSupport
import XCTest

@testable import SENetCore
@testable import SENetEngine

/// ONNX files as PyTorch's exporters write them (TorchScript opsets 13–17, dynamo opset 18,
/// external data, Softmax ending) against ONNX Runtime's output, on the CPU reference and on
/// every device. Pass mark: relative error ≤ 1e-4 on the graph's output.
final class ONNXImportTests: XCTestCase {
    static let tolerance: Float = 1e-4

    /// The graph's own output: probabilities when it ends in Softmax, else logits.
    static func output(_ result: ExecutionPlan.Output, _ model: SEResNet) -> Tensor {
        model.outputsProbabilities ? result.probabilities : result.logits
    }

    // MARK: - Against ONNX Runtime

    func testEveryExportMatchesONNXRuntimeOnTheReferenceAndEveryDevice() throws {
        let folder = try temporaryDirectory(self)
        let fixtures = try ONNXFixture.all()
        XCTAssertEqual(Set(fixtures.map(\.exporter)), ["torchscript", "dynamo"])
        XCTAssertTrue(fixtures.contains { $0.outputsProbabilities } && fixtures.contains { $0.inputShape[0] > 1 })
        var worst: [String: (Float, String)] = [:]
        for fixture in fixtures {
            let model = try ModelLoader.load(path: try fixture.install(in: folder))
            XCTAssertEqual(model.outputsProbabilities, fixture.outputsProbabilities, fixture.name)
            XCTAssertEqual(model.architecture.family, fixture.family, "\(fixture.name): \(model.summary)")
            let reference = Self.output(try InferenceEngine(model: model, runtime: nil).run(fixture.input), model)
            assertClose(reference, fixture.expectedOutput, tolerance: Self.tolerance, "\(fixture.name) on the CPU reference")
            var errors = [Comparison(actual: reference, expected: fixture.expectedOutput).relativeError]
            try forEachDeviceAndFamily { runtime, family in
                var options = PlanOptions()
                options.kernelFamily = family
                let output = Self.output(
                    try InferenceEngine(model: model, runtime: runtime, options: options).run(fixture.input), model)
                assertClose(
                    output, fixture.expectedOutput, tolerance: Self.tolerance, "\(fixture.name) on \(runtime.device), \(family)")
                errors.append(Comparison(actual: output, expected: fixture.expectedOutput).relativeError)
            }
            let key = "\(fixture.exporter) opset \(fixture.opset)"
            if errors.max()! > (worst[key]?.0 ?? -1) { worst[key] = (errors.max()!, fixture.name) }
        }
        for (key, value) in worst.sorted(by: { $0.key < $1.key }) {
            print("ONNX \(key): worst relative error vs ONNX Runtime: \(value.0) (\(value.1))")
        }
    }

    func testEmbeddedWeightsAndAnyFileNameLoadTheSame() throws {
        let folder = try temporaryDirectory(self)
        let fixture = try ONNXFixture.load("seresnext26d_ts17_b2_64x96")
        let external = try ModelLoader.load(path: try fixture.install(in: folder))
        // The same model with every tensor inlined as raw_data, saved under a name without .onnx.
        var proto = try Onnx_ModelProto(
            serializedBytes: try Data(
                contentsOf: URL(fileURLWithPath: folder.appendingPathComponent("\(fixture.name).onnx").path)))
        let data = try Data(contentsOf: folder.appendingPathComponent(fixture.dataFile))
        for index in proto.graph.initializer.indices where proto.graph.initializer[index].dataLocation == .external {
            let fields = Dictionary(uniqueKeysWithValues: proto.graph.initializer[index].externalData.map { ($0.key, $0.value) })
            let (offset, length) = (Int(fields["offset"] ?? "0")!, Int(fields["length"]!)!)
            proto.graph.initializer[index].rawData = data.subdata(in: offset..<(offset + length))
            proto.graph.initializer[index].externalData = []
            proto.graph.initializer[index].dataLocation = .default
        }
        let inlined = try temporaryDirectory(self).appendingPathComponent("model.bin")
        try proto.serializedData().write(to: inlined)
        let embedded = try ModelLoader.load(path: inlined.path)
        let input = fixture.input
        let a = try InferenceEngine(model: external, runtime: nil).run(input).logits
        let b = try InferenceEngine(model: embedded, runtime: nil).run(input).logits
        XCTAssertEqual(a.data, b.data)
        assertClose(b, fixture.expectedOutput, tolerance: Self.tolerance, "inlined")
    }

    func testBatchNormalizationNodesFoldIntoTheirConv() throws {
        // Exporters of torch 2.15 fold BatchNorm themselves; older ones and other tools leave
        // BatchNormalization nodes. Insert one after the stem conv and check the folded layer.
        let folder = try temporaryDirectory(self)
        let path = try ONNXFixture.load("timm_seresnet18_ts13").install(in: folder)
        let plain = try ModelLoader.load(path: path)
        var proto = try Onnx_ModelProto(serializedBytes: try Data(contentsOf: URL(fileURLWithPath: path)))
        let channels = plain.stem[0].outChannels
        func constant(_ name: String, _ value: Float) -> Onnx_TensorProto {
            var t = Onnx_TensorProto()
            (t.name, t.dataType, t.dims) = (name, Int32(Onnx_TensorProto.DataType.float.rawValue), [Int64(channels)])
            t.floatData = Array(repeating: value, count: channels)
            return t
        }
        proto.graph.initializer += [constant("bn.g", 2), constant("bn.b", 0.5), constant("bn.m", 0.25), constant("bn.v", 3)]
        let convOutput = proto.graph.node[0].output[0]
        proto.graph.node[0].output[0] = "conv.raw"
        var bn = Onnx_NodeProto()
        (bn.name, bn.opType, bn.input, bn.output) = (
            "/bn1/BatchNormalization", "BatchNormalization", ["conv.raw", "bn.g", "bn.b", "bn.m", "bn.v"], [convOutput]
        )
        var epsilon = Onnx_AttributeProto()
        (epsilon.name, epsilon.type, epsilon.f) = ("epsilon", .float, 1e-3)
        bn.attribute = [epsilon]
        proto.graph.node.insert(bn, at: 1)
        try proto.serializedData().write(to: URL(fileURLWithPath: path))
        let folded = try ModelLoader.load(path: path).stem[0]
        let scale = 2 / (3 + 1e-3 as Double).squareRoot()
        for (index, value) in plain.stem[0].weight.data.enumerated().prefix(500) {
            XCTAssertEqual(Double(folded.weight.data[index]), Double(value) * scale, accuracy: 1e-6)
        }
        for (index, value) in plain.stem[0].bias.data.enumerated() {
            XCTAssertEqual(Double(folded.bias.data[index]), (Double(value) - 0.25) * scale + 0.5, accuracy: 1e-5)
        }
        XCTAssertTrue(folded.relu, "the Relu after the BatchNormalization is fused")
    }

    // MARK: - Names from the file

    func testLayersAreNamedAfterTheFilesNodes() throws {
        let folder = try temporaryDirectory(self)
        let torchScript = try ModelLoader.load(path: try ONNXFixture.load("seresnext26d_ts17_b2_64x96").install(in: folder))
        let graph = try NetworkGraph(model: torchScript, inputShape: [1, 3, 64, 64])
        let names = graph.nodes.map(\.name)
        for expected in [
            "/conv1/conv1.0/Conv", "/maxpool/MaxPool", "/layer1/layer1.0/conv2/Conv",
            "/layer2/layer2.0/downsample/downsample.0/AveragePool",
            "/layer1/layer1.0/se/fc1/Conv", "/fc/Gemm",
        ] {
            XCTAssertTrue(names.contains(expected), "\(expected) in \(names.prefix(12))")
        }
        XCTAssertEqual(Set(names).count, names.count, "node names are unique")
        XCTAssertTrue(torchScript.summary.contains("seresnext26d_32x4d-shaped graph (ONNX, pytorch"), torchScript.summary)
        let conv = try XCTUnwrap(torchScript.weightNames["/layer1/layer1.0/conv2/Conv"])
        XCTAssertTrue(conv.hasPrefix("onnx::Conv_"), conv)
    }

    // MARK: - Errors

    /// The fixture's graph edited by `edit`, saved next to its data; the load error's text.
    private func loadError(_ name: String, _ edit: (inout Onnx_ModelProto) -> Void) throws -> String {
        let folder = try temporaryDirectory(self)
        let path = try ONNXFixture.load(name).install(in: folder)
        var proto = try Onnx_ModelProto(serializedBytes: try Data(contentsOf: URL(fileURLWithPath: path)))
        edit(&proto)
        try proto.serializedData().write(to: URL(fileURLWithPath: path))
        do {
            _ = try ModelLoader.load(path: path)
            XCTFail("\(name): edited graph loaded")
            return ""
        } catch let error as InputError {
            XCTAssertEqual("\(error)".split(separator: "\n").count, 1, "\(error)")
            return "\(error)"
        }
    }

    func testUnknownOpIsNamedWithItsNode() throws {
        let text = try loadError("timm_seresnet18_ts13") { $0.graph.node[1].opType = "HardSwish" }
        XCTAssertTrue(text.contains("node '/act1/Relu' has op type HardSwish, which senet-gpu does not run"), text)
    }

    func testGraphThatIsNotAnSEResNetIsRefusedAtTheNodeWhereItStopsMatching() throws {
        let text = try loadError("timm_seresnet18_ts13") { proto in
            let index = proto.graph.node.firstIndex { $0.opType == "Sigmoid" }!
            proto.graph.node[index].opType = "Relu"
        }
        XCTAssertTrue(text.contains("is not an SE-ResNet graph senet-gpu can map: at node '/layer1/layer1.0/se/fc2/Conv'"), text)
    }

    func testWeightsThatDoNotChainAreRefusedBeforeAnythingRuns() throws {
        // Group 16 instead of 32 makes the [128, 4, 3, 3] weight take 64 channels; 128 arrive.
        let text = try loadError("seresnext26d_ts17_b2_64x96") { proto in
            let index = proto.graph.node.firstIndex { node in node.attribute.contains { $0.name == "group" && $0.i == 32 } }!
            let attribute = proto.graph.node[index].attribute.firstIndex { $0.name == "group" }!
            proto.graph.node[index].attribute[attribute].i = 16
        }
        XCTAssertTrue(text.contains("layer /layer1/layer1.0/conv2/Conv takes 64 channels but is given 128"), text)
    }

    /// The classic class's views (`gate.view(gate.shape[0], gate.shape[1], 1, 1)`) exported
    /// with a dynamic batch are Shape subgraphs, folded at load; its fixed AvgPool2d squeeze
    /// and head are global pools at the size they were written for and refused at others.
    func testShapeSubgraphsFoldAndFixedPoolsHoldTheirSize() throws {
        let folder = try temporaryDirectory(self)
        let fixture = try ONNXFixture.load("classic_senet34_fixedpool_ts17_b2_224")
        let file = try ONNXFile(path: try fixture.install(in: folder))
        let shapeOps = file.nodes.filter { ["Shape", "Gather", "Unsqueeze", "Concat"].contains($0.opType) }
        XCTAssertGreaterThanOrEqual(shapeOps.count, 16 * 4, "one view per SE block")
        let folding = try ONNXShapeFolding(file: file)
        XCTAssertEqual(folding.probe, [1, 3, 224, 224], "the symbolic batch is probed as 1")
        XCTAssertTrue(shapeOps.allSatisfy { op in folding.folded[op.output[0]] != nil })
        let model = try ONNXImporter.importModel(file)
        XCTAssertEqual(model.fixedPoolWindows.count, 17, "16 SE squeezes and the head")
        XCTAssertEqual(model.fixedPoolWindows["layer1.0.se.pool"], [56, 56])
        XCTAssertEqual(model.fixedPoolWindows["pool"], [7, 7])
        XCTAssertNoThrow(try NetworkGraph(model: model, inputShape: [3, 3, 224, 224]))
        XCTAssertThrowsError(try NetworkGraph(model: model, inputShape: [1, 3, 160, 160])) { error in
            guard case InputError.fixedPoolDoesNotFit(let node, [56, 56], [40, 40]) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(node, model.displayName("layer1.0.se.pool"))
            XCTAssertTrue(node.hasSuffix("AveragePool"), node)
        }
    }

    /// A Reshape whose target would move the batch (here [C, 1, 1, 1] for a [1, C] gate) is
    /// refused at the node: the network runs Reshapes as [N, C] ↔ [N, C, 1, 1] only.
    func testReshapeThatIsNotAPassThroughIsRefused() throws {
        let text = try loadError("classic_senet50_ts17_softmax") { proto in
            let reshape = proto.graph.node.first { $0.opType == "Reshape" }!
            let constant = proto.graph.node.firstIndex { $0.output == [reshape.input[1]] }!
            var tensor = proto.graph.node[constant].attribute[0].t
            let channels =
                tensor.int64Data.isEmpty
                ? tensor.rawData.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 8, as: Int64.self) } : tensor.int64Data[1]
            (tensor.rawData, tensor.int64Data) = (Data(), [channels, 1, 1, 1])
            proto.graph.node[constant].attribute[0].t = tensor
        }
        XCTAssertTrue(text.contains("only [N, C] ↔ [N, C, 1, 1] reshapes are run"), text)
    }

    func testNodeWithoutOutputIsAnError() throws {
        let text = try loadError("timm_seresnet18_ts13") { $0.graph.node[3].output = [] }
        XCTAssertTrue(text.contains("has no named output"), text)
    }

    func testBrokenExternalDataIsAnErrorNamingTheTensor() throws {
        for (location, fragment) in [
            ("../escape.weights", "leaves the model's folder"), ("missing.weights", "cannot read external data file"),
        ] {
            let text = try loadError("legacy_seresnet18_ts15") { proto in
                let index = proto.graph.initializer.firstIndex { $0.dataLocation == .external }!
                proto.graph.initializer[index].externalData = proto.graph.initializer[index].externalData.map {
                    var entry = $0
                    if entry.key == "location" { entry.value = location }
                    return entry
                }
            }
            XCTAssertTrue(text.contains(fragment) && text.contains("tensor "), text)
        }
        let text = try loadError("legacy_seresnet18_ts15") { proto in
            let index = proto.graph.initializer.firstIndex { $0.dataLocation == .external }!
            proto.graph.initializer[index].externalData = proto.graph.initializer[index].externalData.map {
                var entry = $0
                if entry.key == "offset" { entry.value = "99999999999" }
                return entry
            }
        }
        XCTAssertTrue(text.contains("lies outside"), text)
    }

    func testTruncatedFileIsAnError() throws {
        let folder = try temporaryDirectory(self)
        let path = try ONNXFixture.load("timm_seresnet18_ts13").install(in: folder)
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try ModelLoader.load(path: path)) { error in
            XCTAssertTrue("\(error)".hasPrefix("ONNX model \(path):"), "\(error)")
        }
    }
}
