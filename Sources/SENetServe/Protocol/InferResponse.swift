import Foundation

/// One output tensor of a response.
public struct ResponseOutput: Sendable, Equatable {
    public enum Content: Sendable, Equatable {
        case floats([Float])
        case strings([String])
    }
    public var name: String
    public var shape: [Int]
    public var content: Content
    /// Sent after the JSON (binary-data extension) rather than in it.
    public var binary: Bool

    public var datatype: String {
        if case .floats = content { return "FP32" }
        return "BYTES"
    }
}

/// Writes `{"model_name": ..., "outputs": [...]}`, and the binary part of outputs asked for as
/// binary data; `jsonLength` is then the Inference-Header-Content-Length header's value.
public enum InferResponseEncoder {
    public static func encode(model: String, version: String, id: String?, outputs: [ResponseOutput]) -> (
        body: Data, jsonLength: Int?
    ) {
        var json = "{\"model_name\":\(quoted(model)),\"model_version\":\(quoted(version))"
        if let id { json += ",\"id\":\(quoted(id))" }
        json += ",\"outputs\":["
        var binary = Data()
        for (index, output) in outputs.enumerated() {
            if index > 0 { json += "," }
            json += "{\"name\":\(quoted(output.name)),\"datatype\":\"\(output.datatype)\",\"shape\":\(output.shape)"
            if output.binary {
                let bytes = binaryBytes(output.content)
                json += ",\"parameters\":{\"binary_data_size\":\(bytes.count)}}"
                binary.append(bytes)
                continue
            }
            switch output.content {
            case .floats(let values):
                json += ",\"data\":[" + values.map { $0.isFinite ? "\($0)" : "null" }.joined(separator: ",") + "]}"
            case .strings(let values):
                json += ",\"data\":[" + values.map(quoted).joined(separator: ",") + "]}"
            }
        }
        json += "]}"
        let header = Data(json.utf8)
        return binary.isEmpty ? (header, nil) : (header + binary, header.count)
    }

    /// FP32 as little-endian floats; BYTES as Triton's length-prefixed elements.
    static func binaryBytes(_ content: ResponseOutput.Content) -> Data {
        var data = Data()
        switch content {
        case .floats(let values):
            data.reserveCapacity(values.count * 4)
            for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        case .strings(let values):
            for value in values {
                let bytes = Data(value.utf8)
                withUnsafeBytes(of: UInt32(bytes.count).littleEndian) { data.append(contentsOf: $0) }
                data.append(bytes)
            }
        }
        return data
    }

    /// A JSON string literal.
    public static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20: result += String(format: "\\u%04x", scalar.value)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }

    /// `{"error": "..."}`.
    public static func error(_ message: String) -> Data { Data("{\"error\":\(quoted(message))}".utf8) }
}
