import CoreTestSupport
import Foundation
import XCTest

@testable import SENetCore

/// The safetensors reader: a file written by the Python library, and files that lie.
final class SafeTensorsTests: XCTestCase {
    // MARK: - Valid files

    func testReadsEveryDTypeWrittenByThePythonLibrary() throws {
        let file = try SafeTensorsFile(path: ModelFixture.directory.appendingPathComponent("dtypes.safetensors").path)
        XCTAssertEqual(file.metadata, ["note": "dtype fixture"])
        XCTAssertEqual(try file.tensor("f32"), Tensor(shape: [2, 3], data: [0, 1, 2, 3, 4, 5]))
        XCTAssertEqual(try file.tensor("f16").data, [0.5, -1, 2, 65504])
        XCTAssertEqual(try file.tensor("bf16").data, [1, -2.5, 3])
        XCTAssertEqual(try file.tensor("empty").shape, [0])
        XCTAssertEqual(file.entry("i64")?.dtype, .i64)
        XCTAssertThrowsError(try file.tensor("i64"))
    }

    func testWriterRoundTrip() throws {
        let path = try temporaryDirectory(self).appendingPathComponent("w.safetensors").path
        let tensor = Tensor.random(shape: [3, 4, 5], seed: 3)
        try SafeTensorsWriter.write([("a.weight", tensor)], int64Scalars: [("n", 5)], metadata: ["k": "v"], to: path)
        let file = try SafeTensorsFile(path: path)
        XCTAssertEqual(try file.tensor("a.weight"), tensor)
        XCTAssertEqual(file.metadata, ["k": "v"])
        XCTAssertEqual(file.entry("n")?.shape, [])
    }

    // MARK: - Files that lie

    /// A file with `header` as its JSON and `dataBytes` zero bytes of data.
    private func file(header: String, dataBytes: Int = 16, declaredLength: UInt64? = nil) throws -> String {
        let path = try temporaryDirectory(self).appendingPathComponent("bad.safetensors").path
        var data = Data()
        withUnsafeBytes(of: (declaredLength ?? UInt64(header.utf8.count)).littleEndian) { data.append(contentsOf: $0) }
        data.append(Data(header.utf8))
        data.append(Data(count: dataBytes))
        try data.write(to: URL(fileURLWithPath: path))
        return path
    }

    private func assertInvalid(_ path: String, _ fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SafeTensorsFile(path: path), file: file, line: line) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains(fragment), "«\(text)» lacks «\(fragment)»", file: file, line: line)
            XCTAssertTrue(text.contains(path), "names the file", file: file, line: line)
            XCTAssertFalse(text.contains("\n"), "one line", file: file, line: line)
        }
    }

    func testRejectsLyingHeaders() throws {
        let ok = #"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}"#
        XCTAssertNoThrow(try SafeTensorsFile(path: try file(header: ok)))
        assertInvalid(try file(header: ok, declaredLength: 1 << 40), "exceeds the file size")
        assertInvalid(try file(header: "{not json", dataBytes: 0), "not a JSON object")
        assertInvalid(try file(header: "[1,2]", dataBytes: 0), "not a JSON object")
        assertInvalid(
            try file(header: #"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,32]}}"#), "outside the 16-byte data section")
        assertInvalid(try file(header: #"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[8,4]}}"#), "outside")
        assertInvalid(
            try file(header: #"{"a":{"dtype":"F32","shape":[3,2],"data_offsets":[0,16]}}"#), "shape [3, 2] of F32 but 16 bytes")
        assertInvalid(try file(header: #"{"a":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}}"#), "unknown dtype Q4")
        assertInvalid(try file(header: #"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#), "invalid shape")
        assertInvalid(try file(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}}"#), "invalid data_offsets")
        assertInvalid(
            try file(header: #"{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,16]}}"#), "invalid shape")
        assertInvalid(
            try file(
                header:
                    #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
            ),
            "overlap")
        assertInvalid(try file(header: #"{"__metadata__":{"k":1}}"#), "__metadata__")
    }

    func testRejectsTruncatedAndMissingFiles() throws {
        let directory = try temporaryDirectory(self)
        let path = directory.appendingPathComponent("w.safetensors").path
        try SafeTensorsWriter.write([("a", Tensor.random(shape: [64], seed: 1))], to: path)
        let whole = try Data(contentsOf: URL(fileURLWithPath: path))
        try whole.prefix(whole.count - 10).write(to: URL(fileURLWithPath: path))
        assertInvalid(path, "outside")
        try whole.prefix(5).write(to: URL(fileURLWithPath: path))
        assertInvalid(path, "too short")
        XCTAssertThrowsError(try SafeTensorsFile(path: directory.appendingPathComponent("none").path)) { error in
            XCTAssertTrue("\(error)".contains("no such file"))
        }
    }

    // MARK: - Files that are not the model

    func testMissingExtraAndMisshapedTensorsAreNamed() throws {
        let fixture = try ModelFixture.load("legacy18_67x83")
        let path = try temporaryDirectory(self).appendingPathComponent("w.safetensors").path
        var parameters = SyntheticWeights.parameters(for: fixture.architecture, seed: 1)
        let write = { (p: [String: Tensor]) in
            try SafeTensorsWriter.write(p.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, to: path)
        }

        var missing = parameters
        missing["layer3.1.se_module.fc2.bias"] = nil
        try write(missing)
        XCTAssertThrowsError(try ModelLoader.load(path: path)) {
            XCTAssertTrue(
                "\($0)".contains("1 tensors missing for legacy_seresnet18, first: layer3.1.se_module.fc2.bias"), "\($0)")
        }

        var extra = parameters
        extra["layer1.0.extra.weight"] = Tensor(shape: [1], data: [1])
        try write(extra)
        XCTAssertThrowsError(try ModelLoader.load(path: path)) {
            XCTAssertTrue("\($0)".contains("unexpected tensors for legacy_seresnet18, first: layer1.0.extra.weight"), "\($0)")
        }

        parameters["layer2.0.conv1.weight"] = Tensor(shape: [128, 64, 1, 1])
        try write(parameters)
        XCTAssertThrowsError(try ModelLoader.load(path: path)) {
            XCTAssertTrue(
                "\($0)".contains("tensor layer2.0.conv1.weight has shape [128, 64, 1, 1], expected [128, 64, 3, 3]"), "\($0)")
        }

        try write(["weight": Tensor(shape: [1], data: [1])])
        XCTAssertThrowsError(try ModelLoader.load(path: path)) { XCTAssertTrue("\($0)".contains("no known key layout"), "\($0)") }
    }
}
