import Foundation
import ONNXProto
import SwiftProtobuf

/// A parsed ONNX model: its graph's nodes and every constant tensor (initializers and
/// `Constant` nodes), with external data read from the files next to the model. Every claim
/// the file makes (data types, shapes, byte counts, external offsets) is checked before a
/// byte is used: a file that lies gives `InputError.invalidONNX`, never a crash.
public struct ONNXFile {
    public let path: String
    /// The graph's nodes in file order (ONNX requires a topological order).
    public let nodes: [Onnx_NodeProto]
    /// Graph input and output value names (initializers excluded from the inputs).
    public let inputs: [String], outputs: [String]
    /// The first input's declared dimensions: a number, or nil where the file names a symbol
    /// (`batch`, `height`) or says nothing.
    public let inputDims: [Int?]
    /// Producer and opset (`pytorch 2.15.0, opset 17`), for messages.
    public let producer: String
    /// The default-domain opset the graph was written for.
    public let opset: Int
    private let constants: [String: Onnx_TensorProto]
    private let directory: URL

    /// Largest model file accepted (protobuf's own limit is 2 GiB; weights beyond it are external).
    static let maxFileBytes = 2 << 30

    /// Reads and parses `path`.
    public init(path: String) throws {
        try self.init(data: try mappedFile(path), path: path)
    }

    /// Parses `data` (the whole file); `path` names it in errors and locates external data.
    public init(data: Data, path: String) throws {
        self.path = path
        directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        let fail = { (reason: String) in InputError.invalidONNX(path: path, reason: reason) }
        guard data.count <= Self.maxFileBytes else { throw fail("file is over 2 GiB") }
        let model: Onnx_ModelProto
        do {
            var options = BinaryDecodingOptions()
            options.messageDepthLimit = 64
            model = try Onnx_ModelProto(serializedBytes: data, options: options)
        } catch {
            throw fail("not an ONNX protobuf (\(error))")
        }
        guard model.hasGraph, !model.graph.node.isEmpty else { throw fail("the file holds no graph nodes") }
        let graph = model.graph
        let opset = Int(model.opsetImport.first { $0.domain.isEmpty || $0.domain == "ai.onnx" }?.version ?? 0)
        self.opset = opset
        producer =
            "\(model.producerName.isEmpty ? "unknown producer" : model.producerName) \(model.producerVersion), opset \(opset)"
            .escapingLineBreaks
        nodes = graph.node
        var constants: [String: Onnx_TensorProto] = [:]
        for tensor in graph.initializer { constants[tensor.name] = tensor }
        for node in graph.node where node.opType == "Constant" {
            guard node.output.count == 1, let value = node.attribute.first(where: { $0.name == "value" }), value.hasT else {
                throw fail(
                    "Constant node '\(node.name.escapingLineBreaks)' has no tensor 'value' (only tensor constants are read)")
            }
            constants[node.output[0]] = value.t
        }
        self.constants = constants
        inputs = graph.input.map(\.name).filter { constants[$0] == nil }
        outputs = graph.output.map(\.name)
        let input = graph.input.first { constants[$0.name] == nil }
        inputDims = (input?.type.tensorType.shape.dim ?? []).map { dim in
            if case .dimValue(let value)? = dim.value, value > 0, value <= 1 << 20 { return Int(value) }
            return nil
        }
    }

    /// True when `name` is a constant (initializer or `Constant` output).
    public func isConstant(_ name: String) -> Bool { constants[name] != nil }

    /// The constant `name` as floats (FLOAT, FLOAT16, BFLOAT16, DOUBLE).
    public func floats(_ name: String) throws -> Tensor {
        let t = try constant(name)
        let count = try elementCount(t)
        let shape = t.dims.map { Int($0) }
        let fail = { (reason: String) in
            InputError.invalidONNX(path: self.path, reason: "tensor \(name.escapingLineBreaks): \(reason)")
        }
        switch Onnx_TensorProto.DataType(rawValue: Int(t.dataType)) {
        case .float:
            if !t.floatData.isEmpty || (t.rawData.isEmpty && t.dataLocation != .external) {
                guard t.floatData.count == count else { throw fail("holds \(t.floatData.count) floats for shape \(shape)") }
                return Tensor(shape: shape, data: t.floatData)
            }
            return Tensor(shape: shape, data: try bytes(t, name: name, count: count, width: 4).decoded(as: .f32))
        case .float16, .bfloat16:
            let half = t.dataType == Onnx_TensorProto.DataType.float16.rawValue
            if !t.int32Data.isEmpty {  // 16-bit floats may be stored one per int32
                guard t.int32Data.count == count else { throw fail("holds \(t.int32Data.count) values for shape \(shape)") }
                let bits = t.int32Data.map { UInt16(truncatingIfNeeded: $0) }
                return Tensor(
                    shape: shape, data: bits.map { half ? Float(Float16(bitPattern: $0)) : Float(bitPattern: UInt32($0) << 16) })
            }
            return Tensor(shape: shape, data: try bytes(t, name: name, count: count, width: 2).decoded(as: half ? .f16 : .bf16))
        case .double:
            if !t.doubleData.isEmpty {
                guard t.doubleData.count == count else { throw fail("holds \(t.doubleData.count) doubles for shape \(shape)") }
                return Tensor(shape: shape, data: t.doubleData.map { Float($0) })
            }
            return Tensor(shape: shape, data: try bytes(t, name: name, count: count, width: 8).decoded(as: .f64))
        default:
            throw fail("has data type \(t.dataType), not a float type")
        }
    }

    /// The constant `name` as integers (INT64 or INT32): shapes and axes.
    public func integers(_ name: String) throws -> [Int] {
        let t = try constant(name)
        let count = try elementCount(t)
        switch Onnx_TensorProto.DataType(rawValue: Int(t.dataType)) {
        case .int64:
            if !t.int64Data.isEmpty || t.rawData.isEmpty { return t.int64Data.map { Int($0) } }
            return try bytes(t, name: name, count: count, width: 8).withUnsafeBytes { raw in
                (0..<count).map { Int(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self))) }
            }
        case .int32:
            if !t.int32Data.isEmpty || t.rawData.isEmpty { return t.int32Data.map { Int($0) } }
            return try bytes(t, name: name, count: count, width: 4).withUnsafeBytes { raw in
                (0..<count).map { Int(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self))) }
            }
        default:
            throw InputError.invalidONNX(path: path, reason: "tensor \(name.escapingLineBreaks) is not an integer tensor")
        }
    }

    /// The shape of constant `name`.
    public func shape(_ name: String) throws -> [Int] { try constant(name).dims.map { Int($0) } }

    private func constant(_ name: String) throws -> Onnx_TensorProto {
        guard let t = constants[name] else {
            throw InputError.invalidONNX(path: path, reason: "no initializer or Constant named '\(name.escapingLineBreaks)'")
        }
        return t
    }

    /// Elements of `t`'s shape; every dimension non-negative, the product bounded.
    private func elementCount(_ t: Onnx_TensorProto) throws -> Int {
        var count = 1
        for dim in t.dims {
            guard dim >= 0, dim <= Int64(Int32.max) else {
                throw InputError.invalidONNX(path: path, reason: "tensor \(t.name.escapingLineBreaks) has dimension \(dim)")
            }
            let (product, overflow) = count.multipliedReportingOverflow(by: Int(dim))
            guard !overflow, product <= 1 << 34 else {
                throw InputError.invalidONNX(path: path, reason: "tensor \(t.name.escapingLineBreaks) has too many elements")
            }
            count = product
        }
        return count
    }

    /// The tensor's bytes: `raw_data`, or the external file's range; exactly count × width.
    private func bytes(_ t: Onnx_TensorProto, name: String, count: Int, width: Int) throws -> Data {
        let path = self.path
        let fail = { (reason: String) in
            InputError.invalidONNX(path: path, reason: "tensor \(name.escapingLineBreaks): \(reason)")
        }
        let data: Data
        if t.dataLocation == .external {
            data = try ExternalData.read(t.externalData, directory: directory, fail: fail)
        } else {
            data = t.rawData
        }
        guard data.count == count * width else {
            throw fail("has \(data.count) bytes of data for \(count) elements of \(width) bytes")
        }
        return data
    }
}
