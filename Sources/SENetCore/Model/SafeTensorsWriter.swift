import Foundation

/// Writes float32 tensors (and int64 scalars, for bookkeeping such as `num_batches_tracked`)
/// as a safetensors file, atomically: a reader never sees a half-written file.
public enum SafeTensorsWriter {
    public static func write(
        _ tensors: [(name: String, tensor: Tensor)], int64Scalars: [(name: String, value: Int64)] = [],
        metadata: [String: String] = [:], to path: String
    ) throws {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var body = Data()
        for (name, tensor) in tensors {
            let begin = body.count
            for value in tensor.data { withUnsafeBytes(of: value.bitPattern.littleEndian) { body.append(contentsOf: $0) } }
            header[name] = ["dtype": "F32", "shape": tensor.shape, "data_offsets": [begin, body.count]]
        }
        for (name, value) in int64Scalars {
            let begin = body.count
            withUnsafeBytes(of: value.littleEndian) { body.append(contentsOf: $0) }
            header[name] = ["dtype": "I64", "shape": [Int](), "data_offsets": [begin, body.count]]
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }  // Pad with spaces so the data is aligned.
        var file = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { file.append(contentsOf: $0) }
        file.append(json)
        file.append(body)
        try file.write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
