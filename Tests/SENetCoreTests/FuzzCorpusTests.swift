import CoreTestSupport
import Foundation
import XCTest

@testable import SENetCore

/// Replays the fuzzers' regression corpus (Tests/Fixtures/fuzz, made by fuzz/README.md):
/// every input must parse (and every float tensor read, every ONNX graph import) or throw a
/// one-line `InputError` that names the file, never crash.
final class FuzzCorpusTests: XCTestCase {
    func testSafeTensorsCorpusParsesOrThrowsInputError() throws {
        for path in try corpus("safetensors") {
            do {
                let file = try SafeTensorsFile(path: path)
                for entry in file.entries where entry.dtype.isFloat {
                    let tensor = try file.tensor(entry.name)
                    XCTAssertEqual(tensor.shape, entry.shape, "\(path): tensor \(entry.name.debugDescription)")
                }
                // Integer tensors are not read as Float: that too must be a one-line InputError.
                for entry in file.entries where !entry.dtype.isFloat {
                    XCTAssertThrowsError(try file.tensor(entry.name), "\(path): tensor \(entry.name.debugDescription)") {
                        assertOneLineInputError($0, naming: path)
                    }
                }
            } catch {
                assertOneLineInputError(error, naming: path)
            }
        }
    }

    func testNumpyCorpusReadsOrThrowsInputError() throws {
        for path in try corpus("npy") {
            do {
                let tensor = try NumpyFile.read(path: path)
                XCTAssertEqual(tensor.count, tensor.shape.reduce(1, *), path)
            } catch {
                assertOneLineInputError(error, naming: path)
            }
        }
    }

    /// Like fuzz/ONNXFuzzer.swift: each input is parsed as `model.onnx` in an empty folder, so
    /// external data references fail to open, and must import or throw a one-line `InputError`.
    func testONNXCorpusImportsOrThrowsInputError() throws {
        let folder = try temporaryDirectory(self)
        let path = folder.appendingPathComponent("model.onnx").path
        let inputs = try corpus("onnx")
        // The reproducers of the two findings must be among them (a node without an output; a
        // value written twice, which made a walk loop forever).
        let names = Set(inputs.map { URL(fileURLWithPath: $0).lastPathComponent })
        XCTAssertTrue(names.isSuperset(of: ["trap-node-without-output", "hang-value-written-twice"]), "\(names.sorted())")
        for input in inputs {
            let name = URL(fileURLWithPath: input).lastPathComponent
            let data = try Data(contentsOf: URL(fileURLWithPath: input))
            do {
                _ = try ONNXImporter.importModel(try ONNXFile(data: data, path: path))
            } catch {
                assertOneLineInputError(error, naming: path, input: name)
            }
        }
    }

    /// Like fuzz/CalibrationFuzzer.swift: each input is a calibration file of a four-op model;
    /// it parses and validates (and then survives a write and a read), or throws a one-line
    /// `InputError` naming the file.
    func testCalibrationCorpusValidatesOrThrowsInputError() throws {
        let tiny = [
            Int8Calibration.Expected(name: "stem.conv", kind: "conv", outputChannels: 4),
            Int8Calibration.Expected(name: "stem.pool", kind: "maxpool", outputChannels: nil),
            Int8Calibration.Expected(name: "fc", kind: "linear", outputChannels: 3),
            Int8Calibration.Expected(name: "softmax", kind: "softmax", outputChannels: nil),
        ]
        var valid = 0
        for path in try corpus("calibration") {
            do {
                let file = try Int8Calibration.decode(try Data(contentsOf: URL(fileURLWithPath: path)), path: path)
                try file.validate(model: "tiny", ops: tiny, path: path)
                XCTAssertEqual(try Int8Calibration.decode(try file.encoded(), path: path), file, path)
                valid += 1
            } catch {
                assertOneLineInputError(error, naming: path)
            }
        }
        XCTAssertGreaterThan(valid, 0, "the corpus keeps a valid file")
    }

    /// The files of Tests/Fixtures/fuzz/`name`, sorted; fails when there are none.
    private func corpus(_ name: String) throws -> [String] {
        let directory = ModelFixture.directory.appendingPathComponent("fuzz").appendingPathComponent(name)
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        XCTAssertFalse(files.isEmpty, "the \(name) fuzz corpus is empty")
        return files.map { directory.appendingPathComponent($0).path }
    }

    /// Checks `error` for the input read as `path`; `input` (the corpus file) prefixes the failures
    /// when the path is not the corpus file's own.
    private func assertOneLineInputError(
        _ error: Error, naming path: String, input: String? = nil, file: StaticString = #filePath, line: UInt = #line
    ) {
        let label = input ?? path
        guard let inputError = error as? InputError else {
            return XCTFail("\(label): threw \(type(of: error)), not an InputError: \(error)", file: file, line: line)
        }
        let text = inputError.description
        XCTAssertFalse(
            text.unicodeScalars.contains(where: CharacterSet.newlines.contains),
            "\(label): the message is not one line: \(text.debugDescription)", file: file, line: line)
        XCTAssertTrue(text.contains(path), "\(label): the message does not name the file: \(text)", file: file, line: line)
    }
}
