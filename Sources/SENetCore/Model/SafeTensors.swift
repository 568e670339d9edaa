import Foundation

/// A validated safetensors file: tensor names, dtypes and shapes, with the data read on demand
/// from a memory-mapped file, so a large file is never held twice in memory.
///
/// Format: u64 little-endian header length N, N bytes of JSON, then the data section. Every
/// claim of the header is checked against the file before any byte is read: a file that lies
/// gives `InputError.invalidWeights`, never a crash or an out-of-bounds read.
public struct SafeTensorsFile {
    /// Element types we know. Floats convert to Float; integers are bookkeeping (skipped).
    public enum DType: String, Sendable {
        case f64 = "F64"
        case f32 = "F32"
        case f16 = "F16"
        case bf16 = "BF16"
        case i64 = "I64"
        case i32 = "I32"
        case i16 = "I16"
        case i8 = "I8"
        case u8 = "U8"
        case bool = "BOOL"

        public var byteSize: Int {
            switch self {
            case .f64, .i64: return 8
            case .f32, .i32: return 4
            case .f16, .bf16, .i16: return 2
            case .i8, .u8, .bool: return 1
            }
        }

        public var isFloat: Bool { [.f64, .f32, .f16, .bf16].contains(self) }
    }

    /// One tensor's header entry.
    public struct Entry: Sendable {
        public let name: String
        public let dtype: DType
        public let shape: [Int]
        /// Byte range inside the data section.
        public let range: Range<Int>
    }

    public let path: String
    /// Entries in file order of their data.
    public let entries: [Entry]
    /// The `__metadata__` strings, empty when absent.
    public let metadata: [String: String]
    private let data: Data
    private let dataStart: Int
    private let index: [String: Int]

    /// Largest header accepted; real headers of SE-ResNet-152 are about 100 KiB.
    static let maxHeaderBytes = 64 << 20

    public init(path: String) throws {
        try self.init(data: try mappedFile(path), path: path)
    }

    /// Parses and validates `data` (the whole file); `path` names it in errors.
    public init(data: Data, path: String) throws {
        self.path = path
        self.data = data.startIndex == 0 ? data : Data(data)  // The parser indexes from 0.
        let fail = { (reason: String) in InputError.invalidWeights(path: path, reason: reason) }
        let data = self.data
        guard data.count >= 8 else { throw fail("file is \(data.count) bytes, too short for a safetensors header") }
        let headerLength = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerLength <= UInt64(Self.maxHeaderBytes), Int(headerLength) <= data.count - 8 else {
            throw fail("header length \(headerLength) exceeds the file size \(data.count) (truncated or not safetensors)")
        }
        dataStart = 8 + Int(headerLength)
        let header = data.subdata(in: 8..<dataStart)
        guard let json = try? JSONSerialization.jsonObject(with: header), let object = json as? [String: Any] else {
            throw fail("header is not a JSON object")
        }
        (entries, metadata) = try Self.parse(object, dataSize: data.count - dataStart, fail: fail)
        index = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($1.name, $0) })
    }

    /// The entry named `name`, or nil.
    public func entry(_ name: String) -> Entry? { index[name].map { entries[$0] } }

    /// The tensor's values converted to Float (F32, F16, BF16, F64).
    public func tensor(_ name: String) throws -> Tensor {
        guard let entry = entry(name) else { throw InputError.invalidWeights(path: path, reason: "no tensor named \(name)") }
        guard entry.dtype.isFloat else {
            throw InputError.invalidWeights(path: path, reason: "tensor \(name) has integer dtype \(entry.dtype.rawValue)")
        }
        let start = dataStart + entry.range.lowerBound
        return Tensor(shape: entry.shape, data: data[start..<(start + entry.range.count)].decoded(as: entry.dtype))
    }

    private static func parse(
        _ object: [String: Any], dataSize: Int, fail: (String) -> InputError
    ) throws -> ([Entry], [String: String]) {
        var metadata: [String: String] = [:]
        var entries: [Entry] = []
        for (name, value) in object {
            if name == "__metadata__" {
                guard let strings = value as? [String: Any], strings.values.allSatisfy({ $0 is String }) else {
                    throw fail("__metadata__ must map strings to strings")
                }
                metadata = strings.mapValues { $0 as! String }
                continue
            }
            guard let fields = value as? [String: Any] else { throw fail("entry \(name) is not an object") }
            guard let dtypeName = fields["dtype"] as? String else { throw fail("tensor \(name) has no dtype") }
            guard let dtype = DType(rawValue: dtypeName) else { throw fail("tensor \(name) has unknown dtype \(dtypeName)") }
            guard let shape = integers(fields["shape"]), shape.allSatisfy({ $0 >= 0 && $0 <= Int(Int32.max) }) else {
                throw fail("tensor \(name) has an invalid shape")
            }
            guard let offsets = integers(fields["data_offsets"]), offsets.count == 2 else {
                throw fail("tensor \(name) has invalid data_offsets")
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin >= 0, begin <= end, end <= dataSize else {
                throw fail("tensor \(name) data_offsets [\(begin), \(end)) lie outside the \(dataSize)-byte data section")
            }
            let (elements, overflow) = shape.reduce((1, false)) { acc, d in
                let product = acc.0.multipliedReportingOverflow(by: d)
                return (product.partialValue, acc.1 || product.overflow)
            }
            let (bytes, overflow2) = elements.multipliedReportingOverflow(by: dtype.byteSize)
            guard !overflow, !overflow2, bytes == end - begin else {
                throw fail("tensor \(name) has shape \(shape) of \(dtypeName) but \(end - begin) bytes")
            }
            entries.append(Entry(name: name, dtype: dtype, shape: shape, range: begin..<end))
        }
        entries.sort { ($0.range.lowerBound, $0.range.upperBound, $0.name) < ($1.range.lowerBound, $1.range.upperBound, $1.name) }
        let filled = entries.filter { !$0.range.isEmpty }
        for (previous, next) in zip(filled, filled.dropFirst()) where next.range.lowerBound < previous.range.upperBound {
            throw fail("tensors \(previous.name) and \(next.name) overlap in the data section")
        }
        return (entries, metadata)
    }

    /// JSON numbers as Ints; nil for anything that is not a list of whole numbers.
    private static func integers(_ value: Any?) -> [Int]? {
        guard let list = value as? [Any] else { return nil }
        var result: [Int] = []
        for item in list {
            guard let number = item as? NSNumber else { return nil }
            let double = number.doubleValue
            guard double == double.rounded(), abs(double) < 9e15 else { return nil }
            result.append(number.intValue)
        }
        return result
    }
}
