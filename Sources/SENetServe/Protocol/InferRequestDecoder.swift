import Foundation

extension InferRequest {
    /// Decodes a request body. `jsonLength` is the `Inference-Header-Content-Length` header of
    /// the binary-data extension: the JSON is the body's first `jsonLength` bytes and each input
    /// with `parameters.binary_data_size` takes that many of the bytes after it, in order.
    public static func decode(body: Data, jsonLength: Int?) throws -> InferRequest {
        let headerEnd = jsonLength ?? body.count
        guard headerEnd >= 0, headerEnd <= body.count else {
            throw RequestError("Inference-Header-Content-Length \(headerEnd) is outside the body of \(body.count) bytes")
        }
        let start = body.startIndex
        let wire: WireRequest
        do {
            wire = try JSONDecoder().decode(WireRequest.self, from: body[start..<(start + headerEnd)])
        } catch let error as DecodingError {
            throw RequestError(error.requestMessage)
        }
        guard let wireInputs = wire.inputs, !wireInputs.isEmpty else { throw RequestError("the request has no 'inputs' array") }
        var binary = BinaryCursor(data: body, offset: start + headerEnd)
        let inputs = try wireInputs.map { try decodeInput($0, binary: &binary) }
        guard binary.remaining == 0 else {
            throw RequestError("\(binary.remaining) bytes of binary data follow the inputs' binary_data_size")
        }
        let parameters = wire.parameters ?? [:]
        var request = InferRequest(
            id: wire.id, inputs: inputs, outputs: nil, topK: try integer(parameters["top_k"], "parameters.top_k"),
            binaryOutput: try boolean(parameters["binary_data_output"], "parameters.binary_data_output") ?? false)
        request.outputs = try wire.outputs?.map { output in
            guard let name = output.name else { throw RequestError("an entry of 'outputs' has no 'name'") }
            let parameters = output.parameters ?? [:]
            return RequestedOutput(
                name: name,
                binary: try boolean(parameters["binary_data"], "output '\(name)' binary_data") ?? request.binaryOutput,
                classification: try integer(parameters["classification"], "output '\(name)' classification"))
        }
        return request
    }

    private static func decodeInput(_ wire: WireInput, binary: inout BinaryCursor) throws -> Input {
        guard let name = wire.name else { throw RequestError("an input has no 'name'") }
        guard let datatype = wire.datatype else { throw RequestError("input '\(name)' has no 'datatype'") }
        guard let rawShape = wire.shape else { throw RequestError("input '\(name)' has no 'shape' array") }
        let shape = try rawShape.map { element -> Int in
            guard let number = element.integer else { throw RequestError("input '\(name)': shape must hold integers") }
            return number
        }
        let count = try elementCount(of: shape, input: name)
        let binarySize = try integer(wire.parameters?["binary_data_size"], "input '\(name)' binary_data_size")
        let content: Content
        switch datatype {
        case "FP32":
            if let binarySize {
                guard binarySize == count * 4 else {
                    throw RequestError(
                        "input '\(name)': binary_data_size \(binarySize) is not 4 bytes × \(count) elements of shape \(shape)")
                }
                content = .floats(try binary.floats(count: count, input: name))
            } else {
                content = .floats(try jsonFloats(wire.data, count: count, input: name))
            }
        case "BYTES":
            if let binarySize {
                content = .bytes(try binary.byteElements(size: binarySize, count: count, input: name))
            } else {
                content = .bytes(try jsonBytes(wire.data, count: count, input: name))
            }
        default:
            throw RequestError("input '\(name)': datatype \(datatype) is not supported; send FP32 tensors or BYTES image files")
        }
        return Input(name: name, shape: shape, datatype: datatype, content: content)
    }

    /// `data` as floats: flat or nested arrays of numbers, `count` of them.
    private static func jsonFloats(_ data: WireData?, count: Int, input: String) throws -> [Float] {
        guard let data else { throw RequestError("input '\(input)' has neither 'data' nor binary_data_size") }
        guard data.invalid == nil, data.strings.isEmpty else { throw RequestError("input '\(input)': FP32 data must be numbers") }
        guard data.numbers.count == count else {
            throw RequestError("input '\(input)': data holds \(data.numbers.count) values, the shape \(count)")
        }
        return try data.numbers.map { number in
            let value = Float(number)
            guard value.isFinite else { throw RequestError("input '\(input)': \(number) is outside FP32's range") }
            return value
        }
    }

    /// BYTES data in JSON: each element a base64 string, or `{"b64": "..."}`.
    private static func jsonBytes(_ data: WireData?, count: Int, input: String) throws -> [Data] {
        guard let data else { throw RequestError("input '\(input)' has neither 'data' nor binary_data_size") }
        guard data.invalid == nil, data.numbers.isEmpty else {
            throw RequestError("input '\(input)': a BYTES element in JSON must be a base64 string (or use binary data)")
        }
        guard data.strings.count == count else {
            throw RequestError("input '\(input)': data holds \(data.strings.count) elements, the shape \(count)")
        }
        return try data.strings.map { text in
            guard let decoded = Data(base64Encoded: text) else {
                throw RequestError("input '\(input)': a BYTES element in JSON must be a base64 string (or use binary data)")
            }
            return decoded
        }
    }

    private static func integer(_ value: JSONValue?, _ what: String) throws -> Int? {
        guard let value else { return nil }
        guard let number = value.integer else { throw RequestError("\(what) is not an integer") }
        return number
    }

    private static func boolean(_ value: JSONValue?, _ what: String) throws -> Bool? {
        guard let value else { return nil }
        guard case .bool(let flag) = value else { throw RequestError("\(what) is not true or false") }
        return flag
    }
}

/// Reads the binary part of a request, one input's bytes after another.
struct BinaryCursor {
    let data: Data
    var offset: Int

    var remaining: Int { data.endIndex - offset }

    mutating func take(_ size: Int, input: String) throws -> Data {
        guard size >= 0, size <= remaining else {
            throw RequestError(
                "input '\(input)': binary_data_size \(size) runs past the end of the body (\(remaining) bytes left)")
        }
        defer { offset += size }
        return data[offset..<(offset + size)]
    }

    mutating func floats(count: Int, input: String) throws -> [Float] {
        let bytes = try take(count * 4, input: input)
        var values = [Float](repeating: 0, count: count)
        _ = values.withUnsafeMutableBytes { bytes.copyBytes(to: $0) }
        for index in values.indices {
            values[index] = Float(bitPattern: UInt32(littleEndian: values[index].bitPattern))
            guard values[index].isFinite else { throw RequestError("input '\(input)': element \(index) is NaN or infinite") }
        }
        return values
    }

    /// Triton's BYTES layout: each element a 4-byte little-endian length, then its bytes.
    mutating func byteElements(size: Int, count: Int, input: String) throws -> [Data] {
        var part = BinaryCursor(data: try take(size, input: input), offset: 0)
        part.offset = part.data.startIndex
        var elements: [Data] = []
        while part.remaining > 0 {
            let header = try part.take(4, input: input)
            let length = header.reversed().reduce(0) { $0 << 8 | Int($1) }
            elements.append(try part.take(length, input: input))
            guard elements.count <= count else { break }
        }
        guard elements.count == count else {
            throw RequestError(
                "input '\(input)': binary data holds \(elements.count > count ? "more than \(count)" : "\(elements.count)") BYTES elements, the shape \(count)"
            )
        }
        return elements
    }
}
