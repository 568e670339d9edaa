import Foundation

// libFuzzer harness for `NumpyFile.read(data:path:)`.
// Built by fuzz/build.sh together with the parser's own source files (not through SwiftPM).
// Any input must either give a tensor whose values fill its shape, or throw an `InputError`
// whose description is one line naming the path. Anything else (a trap, a wrong error, a
// multi-line message) stops the fuzzer with a reproducer. FUZZ_ALLOW_MULTILINE=1 accepts
// multi-line messages, to look past that known class of bug.

private let fuzzPath = "fuzz-input.npy"
private let allowMultiline = ProcessInfo.processInfo.environment["FUZZ_ALLOW_MULTILINE"] == "1"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ bytes: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let data = Data(bytes: bytes, count: size)
    do {
        let tensor = try NumpyFile.read(data: data, path: fuzzPath)
        guard tensor.count == tensor.shape.reduce(1, *), tensor.count * 4 < size else {
            fatalError("tensor of shape \(tensor.shape) with \(tensor.count) values from \(size) bytes")
        }
    } catch let error as InputError {
        let text = error.description
        guard allowMultiline || !text.unicodeScalars.contains(where: CharacterSet.newlines.contains) else {
            fatalError("error description is not one line: \(text.debugDescription)")
        }
        guard text.contains(fuzzPath) else {
            fatalError("error description does not name the path: \(text.debugDescription)")
        }
    } catch {
        fatalError("threw \(type(of: error)), not an InputError: \(error)")
    }
    return 0
}
