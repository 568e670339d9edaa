import Foundation
import ONNXProto
import SwiftProtobuf
import XCTest

@testable import SENetCore

/// Shape computations evaluated at load (`ONNXShapeFolding`) on small hand-made graphs: every
/// folded op against values worked out by hand from the ONNX operator specification.
final class ONNXShapeFoldingTests: XCTestCase {
    private func attribute(_ name: String, _ value: Int) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        (a.name, a.type, a.i) = (name, .int, Int64(value))
        return a
    }

    private func node(_ op: String, _ inputs: [String], _ output: String, _ attributes: [Onnx_AttributeProto] = [])
        -> Onnx_NodeProto
    {
        var n = Onnx_NodeProto()
        (n.opType, n.name, n.input, n.output, n.attribute) = (op, output, inputs, [output], attributes)
        return n
    }

    private func integers(_ name: String, _ values: [Int], shape: [Int]? = nil) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.name = name
        t.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue)
        t.dims = (shape ?? [values.count]).map(Int64.init)
        t.int64Data = values.map(Int64.init)
        return t
    }

    /// A graph reading input `x` of `dims` (nil: a named symbol) with these nodes and constants.
    private func folding(_ nodes: [Onnx_NodeProto], _ constants: [Onnx_TensorProto], dims: [Int?]) throws
        -> ONNXShapeFolding
    {
        var model = Onnx_ModelProto()
        var input = Onnx_ValueInfoProto()
        input.name = "x"
        input.type.tensorType.elemType = 1
        input.type.tensorType.shape.dim = dims.map { d in
            var dim = Onnx_TensorShapeProto.Dimension()
            if let d { dim.dimValue = Int64(d) } else { dim.dimParam = "batch" }
            return dim
        }
        model.graph.input = [input]
        model.graph.node = nodes
        model.graph.initializer = constants
        let file = try ONNXFile(data: try model.serializedData(), path: "shapes.onnx")
        return try ONNXShapeFolding(file: file)
    }

    func testShapeSubgraphOpsFoldToTheValuesTheSpecificationGives() throws {
        let nodes = [
            node("Shape", ["x"], "s"),
            node("Gather", ["s", "one"], "c"),  // scalar index: a scalar
            node("Unsqueeze", ["c", "axis0"], "cu"),
            node("Slice", ["s", "two", "four"], "hw"),
            node("Concat", ["cu", "hw"], "cat", [attribute("axis", 0)]),
            node("Mul", ["cat", "scalarTwo"], "doubled"),
            node("Shape", ["x"], "tail", [attribute("start", -2)]),
            node("ConstantOfShape", ["pair"], "sevens", [sevenValue()]),
            node("Sub", ["tail", "sevens"], "less"),
            node("Slice", ["s", "minusOne", "minusFive", "axis0", "minusOne"], "reversed"),
            node("Squeeze", ["cu", "axis0"], "squeezed"),
            node("Cast", ["hw"], "cast", [attribute("to", 7)]),
            node("Reshape", ["cat", "threeByOne"], "column"),
        ]
        let constants = [
            integers("one", [1], shape: []), integers("axis0", [0]), integers("two", [2]), integers("four", [4]),
            integers("scalarTwo", [2], shape: []), integers("pair", [2]), integers("minusOne", [-1]),
            integers("minusFive", [-5]), integers("threeByOne", [3, 1]),
        ]
        let f = try folding(nodes, constants, dims: [2, 3, 10, 12])
        XCTAssertEqual(f.probe, [2, 3, 10, 12])
        let expected: [String: FoldedTensor] = [
            "s": FoldedTensor(vector: [2, 3, 10, 12]),
            "c": FoldedTensor(shape: [], values: [3]),
            "cu": FoldedTensor(vector: [3]),
            "hw": FoldedTensor(vector: [10, 12]),
            "cat": FoldedTensor(vector: [3, 10, 12]),
            "doubled": FoldedTensor(vector: [6, 20, 24]),
            "tail": FoldedTensor(vector: [10, 12]),
            "sevens": FoldedTensor(vector: [7, 7]),
            "less": FoldedTensor(vector: [3, 5]),
            "reversed": FoldedTensor(vector: [12, 10, 3, 2]),
            "squeezed": FoldedTensor(shape: [], values: [3]),
            "cast": FoldedTensor(vector: [10, 12]),
            "column": FoldedTensor(shape: [3, 1], values: [3, 10, 12]),
        ]
        for (name, value) in expected { XCTAssertEqual(f.folded[name], value, name) }
        XCTAssertEqual(f.foldedNodes, Set(nodes.indices))
    }

    /// A symbolic batch is probed as 1, symbolic sizes as 224; data ops get their shapes.
    func testSymbolicDimensionsAreProbedAndDataOpsGetShapes() throws {
        var conv = node("Conv", ["x", "w"], "y", [attribute("group", 1)])
        var strides = Onnx_AttributeProto()
        (strides.name, strides.type, strides.ints) = ("strides", .ints, [2, 2])
        var pads = Onnx_AttributeProto()
        (pads.name, pads.type, pads.ints) = ("pads", .ints, [3, 3, 3, 3])
        conv.attribute += [strides, pads]
        var weight = Onnx_TensorProto()
        (weight.name, weight.dataType, weight.dims) = ("w", 1, [8, 3, 7, 7])
        weight.floatData = Array(repeating: 0, count: 8 * 3 * 49)
        let nodes = [conv, node("GlobalAveragePool", ["y"], "p"), node("Shape", ["p"], "ps")]
        let f = try folding(nodes, [weight], dims: [nil, 3, nil, nil])
        XCTAssertEqual(f.probe, [1, 3, 224, 224])
        XCTAssertEqual(f.shape("y"), [1, 8, 112, 112])
        XCTAssertEqual(f.folded["ps"], FoldedTensor(vector: [1, 8, 1, 1]))
        XCTAssertEqual(f.foldedNodes, [2])
    }

    /// Expand passes only as the SE gate's [N, C, 1, 1] → [N, C, H, W] (what its Mul would
    /// broadcast anyway); one that grows the batch or the channels is refused.
    func testExpandPassesOnlyAsTheGatesSpatialBroadcast() throws {
        let nodes = [
            node("Expand", ["x", "maps"], "gate"), node("Expand", ["x", "batch"], "batch3"),
            node("Expand", ["x", "unknown"], "late"),
        ]
        let f = try folding(
            nodes, [integers("maps", [1, 4, 5, 5]), integers("batch", [3, 4, 5, 5])] + [floats("unknown")],
            dims: [1, 4, 1, 1])
        XCTAssertEqual(f.shape("gate"), [1, 4, 5, 5])
        XCTAssertNil(f.passThroughProblem(0))
        XCTAssertEqual(
            f.passThroughProblem(1),
            "it expands a [1, 4, 1, 1] value to [3, 4, 5, 5]; only a [N, C, 1, 1] gate's spatial broadcast is run")
        XCTAssertEqual(f.passThroughProblem(2), "its shapes are not known at load")
    }

    func testAGatherOutsideTheShapeIsAnErrorNamingTheNode() throws {
        let nodes = [node("Shape", ["x"], "s"), node("Gather", ["s", "nine"], "bad")]
        XCTAssertThrowsError(try folding(nodes, [integers("nine", [9])], dims: [1, 3, 32, 32])) { error in
            XCTAssertEqual(
                "\(error)", "ONNX model shapes.onnx: node 'bad': index 9 is outside 4 values")
        }
    }

    /// A ConstantOfShape too large to be a shape computation is left to the importer, which
    /// refuses the op; nothing is allocated.
    func testHugeConstantOfShapeIsNotFolded() throws {
        let nodes = [node("ConstantOfShape", ["huge"], "k")]
        let f = try folding(nodes, [integers("huge", [1 << 40])], dims: [1, 3, 32, 32])
        XCTAssertTrue(f.foldedNodes.isEmpty)
    }

    /// A float tensor: not a shape computation's value.
    private func floats(_ name: String) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        (t.name, t.dataType, t.dims, t.floatData) = (name, 1, [4], [1, 4, 5, 5])
        return t
    }

    private func sevenValue() -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        (a.name, a.type, a.t) = ("value", .tensor, integers("", [7]))
        return a
    }
}
