import Foundation
import InferenceProto

/// The gRPC `ModelInferRequest` as the same `InferRequest` the REST decoder gives, so both
/// transports share one path from there on; and the outputs back as a `ModelInferResponse`.
/// Tensors arrive as `raw_input_contents` (what `tritonclient.grpc` sends: FP32 little-endian,
/// BYTES as 4-byte little-endian lengths each followed by its bytes) or as typed `contents`.
/// Foundation and the generated messages only, so the fuzzer compiles it alone.
extension InferRequest {
    public init(grpc request: Inference_ModelInferRequest) throws {
        let raw = request.rawInputContents
        guard raw.isEmpty || raw.count == request.inputs.count else {
            throw RequestError(
                "raw_input_contents has \(raw.count) entries for \(request.inputs.count) inputs; send one per input, in order")
        }
        inputs = try request.inputs.enumerated().map { index, tensor in
            try Self.input(tensor, raw: raw.isEmpty ? nil : raw[index])
        }
        outputs =
            request.outputs.isEmpty
            ? nil
            : try request.outputs.map { output in
                RequestedOutput(
                    name: output.name, binary: true,
                    classification: try Self.integer(output.parameters["classification"], "classification"))
            }
        topK = try Self.integer(request.parameters["top_k"], "top_k")
        id = request.id.isEmpty ? nil : request.id
        binaryOutput = true
    }

    private static func input(_ tensor: Inference_ModelInferRequest.InferInputTensor, raw: Data?) throws -> Input {
        var shape: [Int] = []
        for dimension in tensor.shape {
            guard dimension >= 0, dimension <= Int64(RequestLimits.maxElements) else {
                throw RequestError(
                    "input '\(tensor.name)': shape \(tensor.shape) has a dimension outside 0...\(RequestLimits.maxElements)")
            }
            shape.append(Int(dimension))
        }
        let count = try elementCount(of: shape, input: tensor.name)
        if raw != nil && tensor.hasContents {
            throw RequestError("input '\(tensor.name)' has both contents and raw_input_contents; send one")
        }
        let content: Content
        switch tensor.datatype {
        case "FP32":
            if let raw {
                guard raw.count == count * 4 else {
                    throw RequestError(
                        "input '\(tensor.name)': raw_input_contents holds \(raw.count) bytes; shape \(shape) of FP32 needs \(count * 4)"
                    )
                }
                content = .floats(littleEndianFloats(raw))
            } else {
                let values = tensor.contents.fp32Contents
                guard values.count == count else {
                    throw RequestError(
                        "input '\(tensor.name)': fp32_contents holds \(values.count) values; shape \(shape) needs \(count)")
                }
                content = .floats(values)
            }
        case "BYTES":
            let elements = try raw.map { try lengthPrefixedElements($0, input: tensor.name) } ?? tensor.contents.bytesContents
            guard elements.count == count else {
                throw RequestError("input '\(tensor.name)' holds \(elements.count) BYTES elements; shape \(shape) needs \(count)")
            }
            content = .bytes(elements)
        default:
            throw RequestError(
                "input '\(tensor.name)': datatype \(tensor.datatype) is not supported; send FP32 tensors or BYTES image files")
        }
        return Input(name: tensor.name, shape: shape, datatype: tensor.datatype, content: content)
    }

    private static func littleEndianFloats(_ data: Data) -> [Float] {
        var values = [Float](repeating: 0, count: data.count / 4)
        values.withUnsafeMutableBytes { _ = data.copyBytes(to: $0) }
        if Int(littleEndian: 1) != 1 { values = values.map { Float(bitPattern: $0.bitPattern.byteSwapped) } }
        return values
    }

    /// Triton's serialized BYTES tensor: per element a little-endian UInt32 length, then that
    /// many bytes.
    static func lengthPrefixedElements(_ data: Data, input: String) throws -> [Data] {
        var elements: [Data] = []
        var offset = data.startIndex
        while offset < data.endIndex {
            guard data.endIndex - offset >= 4 else {
                throw RequestError("input '\(input)': raw_input_contents ends inside a BYTES element's 4-byte length")
            }
            let length = data[offset..<offset + 4].reversed().reduce(0) { $0 << 8 | Int($1) }
            offset += 4
            guard length <= data.endIndex - offset else {
                throw RequestError(
                    "input '\(input)': a BYTES element declares \(length) bytes; only \(data.endIndex - offset) follow")
            }
            elements.append(data.subdata(in: offset..<offset + length))
            offset += length
        }
        return elements
    }

    private static func integer(_ parameter: Inference_InferParameter?, _ name: String) throws -> Int? {
        guard let parameter else { return nil }
        switch parameter.parameterChoice {
        case .int64Param(let value) where abs(value) <= Int64(Int32.max): return Int(value)
        case .uint64Param(let value) where value <= UInt64(Int32.max): return Int(value)
        default: throw RequestError("parameter '\(name)' must be an integer between 0 and \(Int32.max)")
        }
    }
}

extension Inference_ModelInferResponse {
    /// Every output as `raw_output_contents` (FP32 little-endian, BYTES length-prefixed), the
    /// form `tritonclient.grpc`'s `as_numpy` reads.
    public init(model: String, version: String, id: String?, outputs: [ResponseOutput]) {
        self.init()
        modelName = model
        modelVersion = version
        self.id = id ?? ""
        for output in outputs {
            var tensor = Inference_ModelInferResponse.InferOutputTensor()
            tensor.name = output.name
            tensor.datatype = output.datatype
            tensor.shape = output.shape.map(Int64.init)
            self.outputs.append(tensor)
            switch output.content {
            case .floats(let values):
                rawOutputContents.append(values.withUnsafeBufferPointer { Data(buffer: $0) })
            case .strings(let strings):
                var data = Data()
                for string in strings {
                    let bytes = Data(string.utf8)
                    withUnsafeBytes(of: UInt32(bytes.count).littleEndian) { data.append(contentsOf: $0) }
                    data.append(bytes)
                }
                rawOutputContents.append(data)
            }
        }
    }
}
