import Foundation

// libFuzzer harness for `SafeTensorsFile(data:path:)` and `SafeTensorsFile.tensor(_:)`.
// Built by fuzz/build.sh together with the parser's own source files (not through SwiftPM).
// Any input must either parse, after which every float tensor reads back with its header's
// shape, or throw an `InputError` whose description is one line naming the path. Anything
// else (a trap, a wrong error, a multi-line message) stops the fuzzer with a reproducer.
// FUZZ_ALLOW_MULTILINE=1 accepts multi-line messages, to look past that known class of bug.

private let fuzzPath = "fuzz-input.safetensors"

private func check(_ error: Error, _ context: String) {
    guard let inputError = error as? InputError else {
        fatalError("\(context): threw \(type(of: error)), not an InputError: \(error)")
    }
    let text = inputError.description
    guard allowMultiline || !text.unicodeScalars.contains(where: CharacterSet.newlines.contains) else {
        fatalError("\(context): error description is not one line: \(text.debugDescription)")
    }
    guard text.contains(fuzzPath) else {
        fatalError("\(context): error description does not name the path: \(text.debugDescription)")
    }
}
private let allowMultiline = ProcessInfo.processInfo.environment["FUZZ_ALLOW_MULTILINE"] == "1"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ bytes: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let data = Data(bytes: bytes, count: size)
    let file: SafeTensorsFile
    do {
        file = try SafeTensorsFile(data: data, path: fuzzPath)
    } catch {
        check(error, "parse")
        return 0
    }
    for entry in file.entries {
        do {
            let tensor = try file.tensor(entry.name)
            guard entry.dtype.isFloat else { fatalError("integer tensor \(entry.name.debugDescription) was read as Float") }
            guard tensor.shape == entry.shape, tensor.count == entry.shape.reduce(1, *) else {
                fatalError("tensor \(entry.name.debugDescription) read as \(tensor.shape), header says \(entry.shape)")
            }
        } catch {
            guard !entry.dtype.isFloat else { fatalError("float tensor \(entry.name.debugDescription) failed to read: \(error)") }
            check(error, "tensor \(entry.name.debugDescription)")
        }
    }
    return 0
}
