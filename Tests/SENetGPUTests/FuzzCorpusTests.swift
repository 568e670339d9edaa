import Foundation
import TestSupport
import XCTest

@testable import OpenCLKit
@testable import SENetCore
@testable import SENetEngine
@testable import SENetImages

/// Replays the fuzzers' regression corpus (Tests/Fixtures/fuzz, made by fuzz/README.md):
/// every input must parse (and every float tensor read) or throw a one-line `InputError` that
/// names the file, never crash.
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

    /// The files of Tests/Fixtures/fuzz/`name`, sorted; fails when there are none.
    private func corpus(_ name: String) throws -> [String] {
        let directory = ModelFixture.directory.appendingPathComponent("fuzz").appendingPathComponent(name)
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        XCTAssertFalse(files.isEmpty, "the \(name) fuzz corpus is empty")
        return files.map { directory.appendingPathComponent($0).path }
    }

    private func assertOneLineInputError(
        _ error: Error, naming path: String, file: StaticString = #filePath, line: UInt = #line
    ) {
        guard let inputError = error as? InputError else {
            return XCTFail("\(path): threw \(type(of: error)), not an InputError: \(error)", file: file, line: line)
        }
        let text = inputError.description
        XCTAssertFalse(
            text.unicodeScalars.contains(where: CharacterSet.newlines.contains),
            "\(path): the message is not one line: \(text.debugDescription)", file: file, line: line)
        XCTAssertTrue(text.contains(path), "\(path): the message does not name the file: \(text)", file: file, line: line)
    }
}
