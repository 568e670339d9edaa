import Foundation

/// The bytes of a weight file, memory-mapped so a large file is never held twice; a missing or
/// unreadable file is `InputError.unreadable` naming it. Shared by the safetensors and ONNX readers.
func mappedFile(_ path: String) throws -> Data {
    guard FileManager.default.fileExists(atPath: path) else { throw InputError.unreadable(path: path, reason: "no such file") }
    do {
        return try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
    } catch {
        throw InputError.unreadable(path: path, reason: "\(error.localizedDescription)")
    }
}

extension Data {
    /// Little-endian floats of `dtype` (F32, F16, BF16, F64) widened to Float.
    func decoded(as dtype: SafeTensorsFile.DType) -> [Float] {
        withUnsafeBytes { raw in
            (0..<(count / dtype.byteSize)).map { i in
                switch dtype {
                case .f64:
                    return Float(
                        Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
                case .f16:
                    return Float(
                        Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))))
                case .bf16:
                    let high = UInt32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                    return Float(bitPattern: high << 16)
                default:
                    return Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                }
            }
        }
    }
}
