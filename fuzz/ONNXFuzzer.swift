import Foundation

// libFuzzer harness for `ONNXFile(data:path:)` (the protobuf parse) and
// `ONNXImporter.importModel(_:)` (the graph walk and every tensor read).
// Built by fuzz/build.sh together with SENetCore's sources, ONNXProto and SwiftProtobuf (not
// through SwiftPM). The path named to the parser is `model.onnx` inside an empty temporary
// folder, so every external data reference fails to open, cleanly. Any input must either parse
// and import, or throw an `InputError` whose description is one line naming the path. Anything
// else (a trap, a wrong error, a multi-line message) stops the fuzzer with a reproducer.
// FUZZ_ALLOW_MULTILINE=1 accepts multi-line messages, to look past that known class of bug.
// FUZZ_VERBOSE=1 prints each input's outcome to stderr (to check that the seeds import).

private let fuzzFolder: String = {
    let template = FileManager.default.temporaryDirectory.appendingPathComponent("senet-onnx-fuzz-XXXXXX").path
    var buffer = Array(template.utf8CString)
    guard let folder = mkdtemp(&buffer) else { fatalError("cannot create a temporary folder from \(template)") }
    atexit { rmdir(fuzzFolder) }  // empty: nothing is ever written into it
    return String(cString: folder)
}()
private let fuzzPath = URL(fileURLWithPath: fuzzFolder).appendingPathComponent("model.onnx").path
private let allowMultiline = ProcessInfo.processInfo.environment["FUZZ_ALLOW_MULTILINE"] == "1"
private let verbose = ProcessInfo.processInfo.environment["FUZZ_VERBOSE"] == "1"

private func check(_ error: Error, _ context: String) {
    guard let inputError = error as? InputError else {
        fatalError("\(context): threw \(type(of: error)), not an InputError: \(error)")
    }
    let text = inputError.description
    if verbose { FileHandle.standardError.write(Data("\(context): \(text)\n".utf8)) }
    guard allowMultiline || !text.unicodeScalars.contains(where: CharacterSet.newlines.contains) else {
        fatalError("\(context): error description is not one line: \(text.debugDescription)")
    }
    guard text.contains(fuzzPath) else {
        fatalError("\(context): error description does not name the path: \(text.debugDescription)")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ bytes: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let data = Data(bytes: bytes, count: size)
    let file: ONNXFile
    do {
        file = try ONNXFile(data: data, path: fuzzPath)
    } catch {
        check(error, "parse")
        return 0
    }
    do {
        let model = try ONNXImporter.importModel(file)
        if verbose { FileHandle.standardError.write(Data("imported: \(model.summary)\n".utf8)) }
    } catch {
        check(error, "import")
    }
    return 0
}
