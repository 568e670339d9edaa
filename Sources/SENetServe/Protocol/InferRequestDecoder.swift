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
        let json = body[start..<(start + headerEnd)]
        guard let object = try? JSONSerialization.jsonObject(with: json), let root = object as? [String: Any] else {
            throw RequestError("the request body is not a JSON object (malformed JSON)")
        }
        var binary = BinaryCursor(data: body, offset: start + headerEnd)
        guard let rawInputs = root["inputs"] as? [Any], !rawInputs.isEmpty else {
            throw RequestError("the request has no 'inputs' array")
        }
        let inputs = try rawInputs.map { try decodeInput($0, binary: &binary) }
        guard binary.remaining == 0 else {
            throw RequestError("\(binary.remaining) bytes of binary data follow the inputs' binary_data_size")
        }
        let parameters = try dictionary(root["parameters"], "parameters") ?? [:]
        var request = InferRequest(
            id: root["id"] as? String, inputs: inputs, outputs: nil,
            topK: try integer(parameters["top_k"], "parameters.top_k"),
            binaryOutput: try boolean(parameters["binary_data_output"], "parameters.binary_data_output") ?? false)
        if let rawOutputs = root["outputs"] {
            guard let list = rawOutputs as? [Any] else { throw RequestError("'outputs' is not an array") }
            request.outputs = try list.map { try decodeOutput($0, binaryDefault: request.binaryOutput) }
        }
        return request
    }

    private static func decodeInput(_ value: Any, binary: inout BinaryCursor) throws -> Input {
        guard let object = value as? [String: Any] else { throw RequestError("an entry of 'inputs' is not an object") }
        guard let name = object["name"] as? String else { throw RequestError("an input has no 'name'") }
        guard let datatype = object["datatype"] as? String else { throw RequestError("input '\(name)' has no 'datatype'") }
        guard let rawShape = object["shape"] as? [Any] else { throw RequestError("input '\(name)' has no 'shape' array") }
        let shape = try rawShape.map { element -> Int in
            guard let number = exactInteger(element) else {
                throw RequestError("input '\(name)': shape \(rawShape) must hold integers")
            }
            return number
        }
        let count = try elementCount(of: shape, input: name)
        let parameters = try dictionary(object["parameters"], "input '\(name)' parameters") ?? [:]
        let binarySize = try integer(parameters["binary_data_size"], "input '\(name)' binary_data_size")
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
                content = .floats(try jsonFloats(object["data"], count: count, input: name))
            }
        case "BYTES":
            if let binarySize {
                content = .bytes(try binary.byteElements(size: binarySize, count: count, input: name))
            } else {
                content = .bytes(try jsonBytes(object["data"], count: count, input: name))
            }
        default:
            throw RequestError("input '\(name)': datatype \(datatype) is not supported; send FP32 tensors or BYTES image files")
        }
        return Input(name: name, shape: shape, datatype: datatype, content: content)
    }

    private static func decodeOutput(_ value: Any, binaryDefault: Bool) throws -> RequestedOutput {
        guard let object = value as? [String: Any], let name = object["name"] as? String else {
            throw RequestError("an entry of 'outputs' is not an object with a 'name'")
        }
        let parameters = try dictionary(object["parameters"], "output '\(name)' parameters") ?? [:]
        return RequestedOutput(
            name: name, binary: try boolean(parameters["binary_data"], "output '\(name)' binary_data") ?? binaryDefault,
            classification: try integer(parameters["classification"], "output '\(name)' classification"))
    }

    /// `data` as floats: flat or nested arrays of numbers, `count` of them.
    private static func jsonFloats(_ data: Any?, count: Int, input: String) throws -> [Float] {
        guard let data else { throw RequestError("input '\(input)' has neither 'data' nor binary_data_size") }
        var values: [Float] = []
        values.reserveCapacity(count)
        var pending: [Any] = [data]
        while let next = pending.popLast() {
            if let list = next as? [Any] {
                pending.append(contentsOf: list.reversed())
            } else if let number = next as? NSNumber {
                let value = number.floatValue
                guard value.isFinite else { throw RequestError("input '\(input)': \(number) is outside FP32's range") }
                values.append(value)
            } else {
                throw RequestError("input '\(input)': FP32 data must be numbers")
            }
            guard values.count <= count else { break }
        }
        guard values.count == count else {
            throw RequestError(
                "input '\(input)': data holds \(values.count > count ? "more than \(count)" : "\(values.count)") values, the shape \(count)"
            )
        }
        return values
    }

    /// BYTES data in JSON: each element a base64 string, or `{"b64": "..."}`.
    private static func jsonBytes(_ data: Any?, count: Int, input: String) throws -> [Data] {
        guard let data else { throw RequestError("input '\(input)' has neither 'data' nor binary_data_size") }
        let elements = (data as? [Any]) ?? [data]
        guard elements.count == count else {
            throw RequestError("input '\(input)': data holds \(elements.count) elements, the shape \(count)")
        }
        return try elements.map { element in
            let text = (element as? String) ?? ((element as? [String: Any])?["b64"] as? String)
            guard let text, let decoded = Data(base64Encoded: text) else {
                throw RequestError("input '\(input)': a BYTES element in JSON must be a base64 string (or use binary data)")
            }
            return decoded
        }
    }

    private static func dictionary(_ value: Any?, _ what: String) throws -> [String: Any]? {
        guard let value else { return nil }
        guard let object = value as? [String: Any] else { throw RequestError("\(what) is not an object") }
        return object
    }

    private static func integer(_ value: Any?, _ what: String) throws -> Int? {
        guard let value else { return nil }
        guard let number = exactInteger(value) else { throw RequestError("\(what) is not an integer") }
        return number
    }

    private static func boolean(_ value: Any?, _ what: String) throws -> Bool? {
        guard let value else { return nil }
        guard let flag = value as? Bool else { throw RequestError("\(what) is not true or false") }
        return flag
    }

    /// A JSON number that is a whole value within Int's range (JSONSerialization may hand back
    /// Int, Double or NSNumber; on Linux a JSON true is an NSNumber too, and reads as 1).
    private static func exactInteger(_ value: Any) -> Int? {
        if value is String { return nil }
        guard let double = (value as? NSNumber)?.doubleValue, double.rounded() == double, abs(double) < 1e15 else { return nil }
        return Int(double)
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
