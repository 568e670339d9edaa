import Foundation

/// Reads and writes `.npy` files of float32 (version 1.0–3.0 headers, C order, little-endian).
public enum NumpyFile {
    private static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    /// The array in `path`; anything but little-endian float32 in C order is an error.
    public static func read(path: String) throws -> Tensor {
        guard FileManager.default.fileExists(atPath: path) else {
            throw InputError.unreadable(path: path, reason: "no such file")
        }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
            throw InputError.unreadable(path: path, reason: error.localizedDescription)
        }
        return try read(data: data, path: path)
    }

    /// Parses `data` (a whole `.npy` file); `path` names it in errors.
    public static func read(data: Data, path: String) throws -> Tensor {
        let data = data.startIndex == 0 ? data : Data(data)  // The parser indexes from 0.
        let fail = { (reason: String) in InputError.invalidArray(path: path, reason: reason) }
        let bytes = [UInt8](data.prefix(12))
        guard bytes.count >= 10, Array(bytes.prefix(6)) == magic else { throw fail("not a .npy file (bad magic)") }
        let major = bytes[6]
        let lengthSize = major == 1 ? 2 : 4
        guard (1...3).contains(major), bytes.count >= 8 + lengthSize else { throw fail("unsupported .npy version \(major)") }
        let headerLength = bytes[8..<(8 + lengthSize)].reversed().reduce(0) { $0 << 8 | Int($1) }
        let dataStart = 8 + lengthSize + headerLength
        guard dataStart <= data.count else { throw fail("header length \(headerLength) exceeds the file size") }
        let header = String(decoding: data[(8 + lengthSize)..<dataStart], as: UTF8.self)
        let (descr, fortran, shape) = try parseHeader(header, fail: fail)
        guard descr == "<f4" || descr == "|f4" || descr == "=f4" else {
            throw fail("dtype \(descr) is not float32 little-endian ('<f4')")
        }
        guard !fortran else { throw fail("Fortran-order arrays are not supported; save with np.ascontiguousarray") }
        let (count, overflow) = shape.reduce((1, false)) {
            let product = $0.0.multipliedReportingOverflow(by: $1)
            return (product.partialValue, $0.1 || product.overflow)
        }
        guard !overflow, count <= Int.max / 4, data.count - dataStart == count * 4 else {
            let needed = !overflow && count <= Int.max / 4 ? "\(count * 4) bytes" : "more than \(Int.max) bytes"
            throw fail("shape \(shape) needs \(needed) of data but the file has \(data.count - dataStart)")
        }
        let values = data.withUnsafeBytes { raw in
            (0..<count).map {
                Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: dataStart + 4 * $0, as: UInt32.self)))
            }
        }
        return Tensor(shape: shape, data: values)
    }

    /// Writes `tensor` as float32 `.npy`, atomically: no partial file on failure.
    public static func write(_ tensor: Tensor, path: String) throws {
        let shapeText =
            tensor.shape.count == 1 ? "(\(tensor.shape[0]),)" : "(\(tensor.shape.map(String.init).joined(separator: ", ")))"
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shapeText), }"
        // Pad with spaces so magic + version + length + header + newline is a multiple of 64.
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var data = Data(magic + [1, 0])
        data.append(contentsOf: [UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)])
        data.append(Data(header.utf8))
        for value in tensor.data { withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        do { try data.write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw InputError.unreadable(path: path, reason: "cannot write: \(error.localizedDescription)")
        }
    }

    /// Pulls descr, fortran_order and shape out of the Python-dict header.
    private static func parseHeader(_ header: String, fail: (String) -> InputError) throws -> (String, Bool, [Int]) {
        func value(after key: String) -> Substring? {
            guard let range = header.range(of: "'\(key)':") else { return nil }
            return header[range.upperBound...].drop(while: { $0 == " " })
        }
        guard let descrStart = value(after: "descr"), descrStart.first == "'",
            let descrEnd = descrStart.dropFirst().firstIndex(of: "'")
        else { throw fail("header has no dtype") }
        let descr = String(descrStart[descrStart.index(after: descrStart.startIndex)..<descrEnd])
        guard let fortranText = value(after: "fortran_order") else { throw fail("header has no fortran_order") }
        let fortran = fortranText.hasPrefix("True")
        guard let shapeStart = value(after: "shape"), shapeStart.first == "(", let close = shapeStart.firstIndex(of: ")") else {
            throw fail("header has no shape")
        }
        let inner = shapeStart[shapeStart.index(after: shapeStart.startIndex)..<close]
        let parts = inner.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let shape = parts.compactMap { Int($0) }
        guard shape.count == parts.count, shape.allSatisfy({ $0 >= 0 && $0 < 1 << 31 }) else {
            throw fail("header shape '\(inner)' is invalid")
        }
        return (descr, fortran, shape)
    }
}
