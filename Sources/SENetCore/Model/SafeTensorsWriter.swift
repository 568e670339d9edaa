import Foundation

/// Writes float tensors as F32, F16 or BF16 (and int64 scalars, for bookkeeping such as
/// `num_batches_tracked`) as a safetensors file, atomically: a reader never sees a half-written
/// file. F16 and BF16 round to nearest even, as PyTorch's `.to()` does.
public enum SafeTensorsWriter {
    public static func write(
        _ tensors: [(name: String, tensor: Tensor)], int64Scalars: [(name: String, value: Int64)] = [],
        metadata: [String: String] = [:], dtype: SafeTensorsFile.DType = .f32, to path: String
    ) throws {
        precondition([.f32, .f16, .bf16].contains(dtype), "the writer stores F32, F16 or BF16")
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var body = Data(capacity: tensors.reduce(0) { $0 + $1.tensor.count * dtype.byteSize } + 8 * int64Scalars.count)
        for (name, tensor) in tensors {
            let begin = body.count
            // One append per tensor: per-value appends made writing SENet-154 take seconds.
            switch dtype {
            case .f16: tensor.data.map { Float16($0).bitPattern.littleEndian }.withUnsafeBytes { body.append(contentsOf: $0) }
            case .bf16: tensor.data.map { bfloat16Bits($0).littleEndian }.withUnsafeBytes { body.append(contentsOf: $0) }
            default: tensor.data.map { $0.bitPattern.littleEndian }.withUnsafeBytes { body.append(contentsOf: $0) }
            }
            header[name] = ["dtype": dtype.rawValue, "shape": tensor.shape, "data_offsets": [begin, body.count]]
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

/// The bfloat16 nearest to `value` (ties to even; NaN stays NaN), as its bits.
func bfloat16Bits(_ value: Float) -> UInt16 {
    if value.isNaN { return 0x7FC0 }
    let bits = value.bitPattern
    let rounded = bits &+ 0x7FFF &+ ((bits >> 16) & 1)
    return UInt16(truncatingIfNeeded: rounded >> 16)
}
