import Foundation
import OpenCLKit
import SENetCore
import SENetEngine
import SENetImages
import TestSupport
import XCTest

/// Every row of docs/ERRORS.md as a user meets it: one line on stderr naming the problem with a
/// hint, exit status 1, no crash, and no output file left behind.
final class ErrorCLITests: XCTestCase {
    private func assertOneLineError(
        _ arguments: [String], _ fragment: String, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let output = try temporaryDirectory(self).appendingPathComponent("logits.npy").path
        let result = try runCLI(arguments + ["--save-logits", output])
        XCTAssertEqual(result.status, 1, "\(arguments): \(result.stderr)", file: file, line: line)
        XCTAssertTrue(result.stderr.contains(fragment), "«\(result.stderr)» lacks «\(fragment)»", file: file, line: line)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "one line: \(result.stderr)", file: file, line: line)
        XCTAssertTrue(result.stderr.hasPrefix("senet-gpu: error: "), file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: output), "no partial output", file: file, line: line)
    }

    /// A file holding `bytes`.
    private func write(_ bytes: Data, _ name: String) throws -> String {
        let url = try temporaryDirectory(self).appendingPathComponent(name)
        try bytes.write(to: url)
        return url.path
    }

    private func safetensors(header: String, dataBytes: Int, declared: UInt64? = nil) -> Data {
        var data = Data()
        withUnsafeBytes(of: (declared ?? UInt64(header.utf8.count)).littleEndian) { data.append(contentsOf: $0) }
        data.append(Data(header.utf8))
        data.append(Data(count: dataBytes))
        return data
    }

    // MARK: - Weight files

    func testBrokenWeightFiles() throws {
        let cases: [(Data, String)] = [
            (Data([1, 2, 3]), "too short for a safetensors header"),
            (safetensors(header: "{}", dataBytes: 0, declared: 1 << 30), "exceeds the file size"),
            (safetensors(header: "{oops", dataBytes: 0), "header is not a JSON object"),
            (
                safetensors(header: #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, dataBytes: 8),
                "outside the 8-byte data section"
            ),
            (
                safetensors(
                    header:
                        #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
                    dataBytes: 12), "overlap"
            ),
            (
                safetensors(header: #"{"a":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}}"#, dataBytes: 2),
                "unknown dtype F8_E4M3"
            ),
            (
                safetensors(header: #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, dataBytes: 8),
                "shape [3] of F32 but 8 bytes"
            ),
        ]
        for (bytes, fragment) in cases {
            try assertOneLineError(["infer", "--device", "cpu", "--weights", try write(bytes, "w.safetensors")], fragment)
        }
        try assertOneLineError(["infer", "--device", "cpu", "--weights", "/nonexistent/w.safetensors"], "no such file")
    }

    func testWeightsThatAreNotTheModel() throws {
        let fixture = try ModelFixture.load("timm18_224")
        let directory = try temporaryDirectory(self)
        var parameters = SyntheticWeights.parameters(for: fixture.architecture, seed: 1)
        func file(_ p: [String: Tensor]) throws -> String {
            let path = directory.appendingPathComponent("\(UUID()).safetensors").path
            try SafeTensorsWriter.write(p.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, to: path)
            return path
        }
        var missing = parameters
        missing["layer4.1.se.fc1.bias"] = nil
        try assertOneLineError(
            ["infer", "--device", "cpu", "--weights", try file(missing)], "missing for seresnet18, first: layer4.1.se.fc1.bias")
        var extra = parameters
        extra["head.extra"] = Tensor(shape: [1], data: [0])
        try assertOneLineError(
            ["infer", "--device", "cpu", "--weights", try file(extra)], "unexpected tensors for seresnet18, first: head.extra")
        parameters["fc.bias"] = Tensor(shape: [999])
        try assertOneLineError(
            ["infer", "--device", "cpu", "--weights", try file(parameters)], "tensor fc.bias has shape [999], expected [1000]")
    }

    func testNonFiniteWeightsWarnButRun() throws {
        let fixture = try ModelFixture.load("classic34_48x40")
        var parameters = SyntheticWeights.parameters(for: fixture.architecture, seed: 1)
        parameters["fc.weight"]!.data[5] = .nan
        let path = try temporaryDirectory(self).appendingPathComponent("w.safetensors").path
        try SafeTensorsWriter.write(parameters.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, to: path)
        let result = try runCLI(["infer", "--device", "cpu", "--weights", path, "--size", "40"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(
            result.stderr.contains("warning: weights \(path): tensor fc.weight has 1 NaN or infinite values"), result.stderr)
    }

    // MARK: - Arrays and images

    func testBrokenNpyInputs() throws {
        func npy(_ header: String, _ bytes: Int) throws -> String {
            var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count), 0])
            data.append(Data(header.utf8))
            data.append(Data(count: bytes))
            return try write(data, "\(UUID()).npy")
        }
        let cases: [(String, Int, String)] = [
            ("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 3, 32, 32), }", 8 * 3072, "dtype <f8 is not float32"),
            ("{'descr': '>f8', 'fortran_order': True, 'shape': (1, 3, 32, 32), }", 8 * 3072, "dtype >f8 is not float32"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 32, 32), }", 4 * 3072, "is not [N, 3, H, W]"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 4, 32, 32), }", 4 * 4096, "is not [N, 3, H, W]"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 16, 16), }", 4 * 768, "H, W >= 32"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 32, 32), }", 100, "needs 12288 bytes"),
        ]
        for (header, bytes, fragment) in cases {
            try assertOneLineError(
                ["infer", "--device", "cpu", "--model", "seresnet18", "--input", try npy(header, bytes)], fragment)
        }
    }

    func testNonFiniteInputWarnsNamingTheImage() throws {
        var input = SyntheticWeights.input(shape: [2, 3, 32, 32], seed: 3)
        input.data[3072 + 5] = .nan
        input.data[3072 + 9] = -.infinity
        let path = try temporaryDirectory(self).appendingPathComponent("x.npy").path
        try NumpyFile.write(input, path: path)
        let result = try runCLI(["infer", "--device", "cpu", "--model", "seresnet18", "--input", path])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("warning: \(path) image 1 has 2 NaN or infinite values"), result.stderr)
        XCTAssertFalse(result.stderr.contains("image 0 has"), result.stderr)
    }

    func testTopZeroIsRefused() throws {
        try assertOneLineError(
            ["infer", "--device", "cpu", "--model", "seresnet18", "--size", "32", "--top", "0"], "--top 0 shows no class")
    }

    func testEmptyAndUnsupportedImagesAlone() throws {
        let empty = try write(Data(), "empty.png")
        let result = try runCLI([
            "infer", "--device", "cpu", "--model", "seresnet18", "--input", empty, "--crop", "32", "--resize", "40",
        ])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stdout.contains("\(empty): error: "), result.stdout)
        XCTAssertTrue(result.stdout.contains("1 images (1 failed)"), result.stdout)
        try assertOneLineError(["infer", "--device", "cpu", "--input", "/nonexistent/photos"], "no such file or folder")
    }

    // MARK: - Devices

    func testDeviceMemoryAndFailures() throws {
        try skipWithoutOpenCL()
        let base = ["infer", "--device", "0", "--model", "seresnet18", "--size", "64", "--batch", "8"]
        try assertOneLineError(base + ["--memory-limit", "46"], "does not fit in device memory")
        let fallback = try runCLI(base + ["--memory-limit", "46", "--fallback", "cpu"])
        XCTAssertEqual(fallback.status, 0, fallback.stderr)
        XCTAssertTrue(fallback.stderr.contains("running on the CPU (--fallback cpu)"), fallback.stderr)
        XCTAssertTrue(fallback.stdout.contains("device: cpu"), fallback.stdout)
        try assertOneLineError(base + ["--debug-fail", "layer2.1.conv2"], "the device failed in layer layer2.1.conv2")
        try assertOneLineError(["infer", "--device", "7", "--model", "seresnet18"], "device 7 does not exist; available: #0 ")
    }

    // MARK: - Option values

    func testEveryEnumOptionRefusesABadValueInTheParserNamingTheChoices() throws {
        // The weight file does not exist: an error about it would mean the value got past the
        // parser and something started loading.
        let missing = ["--weights", "/nonexistent/w.safetensors"]
        let cases: [(arguments: [String], option: String, choices: [String])] = [
            (["infer", "--precision", "fp64"], "--precision", ["fp32", "fp16"]),
            (["infer", "--arithmetic", "int8"], "--arithmetic", ["auto", "fp32", "fp16"]),
            (["infer", "--kernel-family", "tpu"], "--kernel-family", ["auto", "cpu", "gpu"]),
            (["infer", "--fallback", "gpu"], "--fallback", ["cpu"]),
            (["compare", "--precision", "half"], "--precision", ["fp32", "fp16"]),
            (["bench", "--kernel-family", "fast"], "--kernel-family", ["auto", "cpu", "gpu"]),
            (["tune", "--arithmetic", "bf16"], "--arithmetic", ["auto", "fp32", "fp16"]),
            (["plan", "--fallback", "none"], "--fallback", ["cpu"]),
            (["selfcheck", "--precision", "fp64"], "--precision", ["fp32", "fp16"]),
            (["serve", "--log-format", "xml"], "--log-format", ["json", "text"]),
        ]
        for (arguments, option, choices) in cases {
            let extra = arguments[0] == "selfcheck" ? [] : missing
            let result = try runCLI(arguments + extra)
            // ArgumentParser's usage-error status (EX_USAGE), not our 1.
            XCTAssertEqual(result.status, 64, "\(arguments): \(result.stderr)")
            let errors = result.stderr.split(separator: "\n").filter { $0.hasPrefix("Error:") }
            XCTAssertEqual(errors.count, 1, "one error line: \(result.stderr)")
            let line = String(errors.first ?? "")
            XCTAssertTrue(line.contains("'\(arguments[2])'") && line.contains(option), line)
            for choice in choices { XCTAssertTrue(line.contains("'\(choice)'"), "\(line) lacks \(choice)") }
            XCTAssertFalse(result.stderr.contains("nonexistent"), "nothing loaded: \(result.stderr)")
        }
        // Seven log levels are listed one per line after the error line.
        let level = try runCLI(["serve", "--log-level", "loud"] + missing)
        XCTAssertEqual(level.status, 64, level.stderr)
        XCTAssertTrue(level.stderr.hasPrefix("Error: The value 'loud' is invalid for '--log-level"), level.stderr)
        let listed = level.stderr.components(separatedBy: "Usage:")[0]
        for choice in ["trace", "debug", "info", "notice", "warning", "error", "critical"] {
            XCTAssertTrue(listed.contains("- \(choice)"), "\(level.stderr) lacks \(choice)")
        }
    }
}
