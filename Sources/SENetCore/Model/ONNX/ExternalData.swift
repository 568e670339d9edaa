import Foundation
import ONNXProto

/// ONNX external data: a tensor's bytes in another file, named by `location` (relative to the
/// model's folder), at `offset` for `length` bytes. Locations may not leave that folder.
enum ExternalData {
    static func read(_ entries: [Onnx_StringStringEntryProto], directory: URL, fail: (String) -> InputError) throws -> Data {
        var fields: [String: String] = [:]
        for entry in entries { fields[entry.key] = entry.value }
        guard let location = fields["location"], !location.isEmpty else { throw fail("external data without a location") }
        let parts = location.split(separator: "/", omittingEmptySubsequences: false)
        guard !location.hasPrefix("/"), !location.contains("\\"), !parts.contains(".."), !location.contains("\0") else {
            throw fail("external data location '\(location.escapingLineBreaks)' leaves the model's folder")
        }
        let offset = try number(fields["offset"], default: 0, "offset", fail)
        let url = directory.appendingPathComponent(location)
        let file: Data
        do {
            file = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw fail("cannot read external data file \(url.path.escapingLineBreaks): \(error.localizedDescription)")
        }
        let length = try number(fields["length"], default: file.count - min(offset, file.count), "length", fail)
        guard offset <= file.count, length <= file.count - offset else {
            throw fail("external range \(offset)+\(length) lies outside \(location.escapingLineBreaks) (\(file.count) bytes)")
        }
        return file.subdata(in: offset..<(offset + length))
    }

    private static func number(_ text: String?, default value: Int, _ key: String, _ fail: (String) -> InputError) throws -> Int {
        guard let text else { return value }
        guard let number = Int(text), number >= 0 else {
            throw fail("external data \(key) '\(text.escapingLineBreaks)' is not a byte count")
        }
        return number
    }
}
