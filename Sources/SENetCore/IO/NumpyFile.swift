import Foundation

/// Reads and writes `.npy` files of float32 (version 1.0–3.0 headers). Reads either byte order
/// and either memory order; writes little-endian C order.
public enum NumpyFile {
    private static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    /// The array in `path`, in host byte order and C order; anything but float32 is an error.
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
        let bigEndian: Bool
        switch descr {
        case "<f4", "|f4", "=f4": bigEndian = false
        case ">f4": bigEndian = true
        default: throw fail("dtype \(descr) is not float32 ('<f4' or '>f4')")
        }
        // Running products of the shape: the count last, and before it the column-major strides.
        var products = [1]
        var overflow = false
        for size in shape {
            let product = products[products.count - 1].multipliedReportingOverflow(by: size)
            products.append(product.partialValue)
            overflow = overflow || product.overflow
        }
        let count = products[products.count - 1]
        guard !overflow, count <= Int.max / 4, data.count - dataStart == count * 4 else {
            let needed = !overflow && count <= Int.max / 4 ? "\(count * 4) bytes" : "more than \(Int.max) bytes"
            throw fail("shape \(shape) needs \(needed) of data but the file has \(data.count - dataStart)")
        }
        let stored = data.withUnsafeBytes { raw in
            (0..<count).map {
                let word = raw.loadUnaligned(fromByteOffset: dataStart + 4 * $0, as: UInt32.self)
                return Float(bitPattern: bigEndian ? UInt32(bigEndian: word) : UInt32(littleEndian: word))
            }
        }
        let values = fortran ? rowMajor(columnMajor: stored, shape: shape, strides: products) : stored
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

    /// `values` of `shape` stored column-major (Fortran order) rearranged row-major (C order).
    /// `strides[k]` is the product of `shape[..<k]`, checked for overflow; `strides[rank]` is the count.
    private static func rowMajor(columnMajor values: [Float], shape: [Int], strides: [Int]) -> [Float] {
        // Axes of size 1 do not change the order; dropping them keeps the carries below linear in
        // the count however many such axes a header lists.
        let axes = shape.indices.filter { shape[$0] != 1 }
        guard axes.count > 1, !values.isEmpty else { return values }  // One axis left, or none: same order.
        let sizes = axes.map { shape[$0] }
        let steps = axes.map { strides[$0] }
        let spans = axes.map { strides[$0 + 1] }  // steps × sizes
        var result = [Float]()
        result.reserveCapacity(values.count)
        var index = [Int](repeating: 0, count: axes.count)
        var source = 0
        for _ in 0..<values.count {
            result.append(values[source])
            // Step the last axis; carry into earlier axes like an odometer.
            var axis = axes.count - 1
            index[axis] += 1
            source += steps[axis]
            while axis > 0 && index[axis] == sizes[axis] {
                index[axis] = 0
                source -= spans[axis]
                axis -= 1
                index[axis] += 1
                source += steps[axis]
            }
        }
        return result
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
        // np.load wants a bool here; anything else is refused rather than guessed.
        guard fortranText.hasPrefix("True") || fortranText.hasPrefix("False") else {
            throw fail("header fortran_order is neither True nor False")
        }
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
