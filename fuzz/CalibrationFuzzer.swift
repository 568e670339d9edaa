import Foundation

// libFuzzer harness for `Int8Calibration.decode(_:path:)` and `validate(model:ops:path:)`, the
// int8 calibration file parser. Built by fuzz/build.sh with Sources/SENetCore/Quantization/
// Int8Calibration.swift and Errors.swift (not through SwiftPM).
//
// The input is a calibration file checked against a four-op model, `tiny` (see `tinyOps`).
// Parsing must return a file or throw `InputError.invalidCalibration` whose message is one
// line; so must validating. A file that validates must encode and decode back to itself.
// Tests/SENetCoreTests/FuzzCorpusTests.swift replays the corpus the same way.

let tinyOps = [
    Int8Calibration.Expected(name: "stem.conv", kind: "conv", outputChannels: 4),
    Int8Calibration.Expected(name: "stem.pool", kind: "maxpool", outputChannels: nil),
    Int8Calibration.Expected(name: "fc", kind: "linear", outputChannels: 3),
    Int8Calibration.Expected(name: "softmax", kind: "softmax", outputChannels: nil),
]

/// The outcome of one input; traps on anything the parser must never do.
func checkCalibration(_ data: Data) -> String {
    func requireOneLine(_ error: Error) -> String {
        guard case InputError.invalidCalibration = error else { fatalError("not an invalidCalibration error: \(error)") }
        let text = "\(error)"
        guard !text.contains("\n"), !text.contains("\r") else { fatalError("a multi-line error: \(text)") }
        return text
    }
    let file: Int8Calibration
    do { file = try Int8Calibration.decode(data, path: "f.json") } catch { return requireOneLine(error) }
    do { try file.validate(model: "tiny", ops: tinyOps, path: "f.json") } catch { return requireOneLine(error) }
    guard let again = try? Int8Calibration.decode(try! file.encoded(), path: "f.json"), again == file else {
        fatalError("a valid file does not survive being written and read back")
    }
    return "valid"
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> Int32 {
    _ = checkCalibration(Data(bytes: bytes, count: count))
    return 0
}
