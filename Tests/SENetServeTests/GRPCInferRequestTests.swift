import CoreTestSupport
import Foundation
import InferenceProto
import XCTest

@testable import SENetServe

/// The gRPC request converter: the `grpc` fuzzer's corpus replayed (fuzz/GRPCRequestFuzzer.swift),
/// then hand-made messages as tritonclient.grpc sends them.
final class GRPCInferRequestTests: XCTestCase {
    /// Every file of Tests/Fixtures/fuzz/grpc that parses as a message must convert or throw a
    /// `RequestError` with a message; some must convert, some must not.
    func testTheFuzzCorpusConvertsOrFailsWithAMessage() throws {
        let directory = ModelFixture.directory.appendingPathComponent("fuzz").appendingPathComponent("grpc")
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        XCTAssertGreaterThan(names.count, 10, "the grpc fuzz corpus is (almost) empty")
        var converted = 0
        var refused = 0
        for name in names {
            let data = try Data(contentsOf: directory.appendingPathComponent(name))
            guard let message = try? Inference_ModelInferRequest(serializedBytes: data) else { continue }
            do {
                let request = try InferRequest(grpc: message)
                for input in request.inputs {
                    let count = input.shape.reduce(1, *)
                    switch input.content {
                    case .floats(let values): XCTAssertEqual(values.count, count, name)
                    case .bytes(let elements): XCTAssertEqual(elements.count, count, name)
                    }
                }
                converted += 1
            } catch let error as RequestError {
                XCTAssertFalse(error.message.isEmpty, name)
                refused += 1
            }
        }
        XCTAssertGreaterThan(converted, 0, "no input of the grpc corpus converts")
        XCTAssertGreaterThan(refused, 0, "every input of the grpc corpus converts")
    }

    private func message(_ datatype: String, _ shape: [Int64], raw: Data) -> Inference_ModelInferRequest {
        .with {
            $0.modelName = "m"
            $0.id = "r"
            $0.inputs = [
                .with {
                    $0.name = datatype == "FP32" ? "input" : "image"
                    $0.datatype = datatype
                    $0.shape = shape
                }
            ]
            $0.rawInputContents = [raw]
        }
    }

    func testRawFP32AndBYTESBecomeTheRESTDecodersRequest() throws {
        let values: [Float] = [0.5, -1.25, 3, .pi, 0, 7]
        let raw = values.withUnsafeBufferPointer { Data(buffer: $0) }
        let request = try InferRequest(grpc: message("FP32", [1, 3, 1, 2], raw: raw))
        XCTAssertEqual(request.inputs.first?.content, .floats(values))
        XCTAssertEqual(request.inputs.first?.shape, [1, 3, 1, 2])
        XCTAssertEqual(request.id, "r")
        XCTAssertNil(request.outputs, "no outputs named: every output")
        // Triton's serialized BYTES: a little-endian length before each element.
        let files = [Data([0xFF, 0xD8, 0xFF]), Data(), Data("png".utf8)]
        var bytes = Data()
        for file in files {
            bytes.append(contentsOf: [UInt8(file.count), 0, 0, 0])
            bytes.append(file)
        }
        let images = try InferRequest(grpc: message("BYTES", [3], raw: bytes))
        XCTAssertEqual(images.inputs.first?.content, .bytes(files))
    }

    func testBadMessagesGetOneLineNamingTheProblem() {
        func error(_ message: Inference_ModelInferRequest) -> String? {
            do {
                _ = try InferRequest(grpc: message)
                return nil
            } catch { return (error as? RequestError)?.message }
        }
        XCTAssertEqual(
            error(message("FP32", [1, 3], raw: Data(count: 8))),
            "input 'input': raw_input_contents holds 8 bytes; shape [1, 3] of FP32 needs 12")
        XCTAssertEqual(
            error(message("BYTES", [1], raw: Data([9, 0, 0, 0, 1]))),
            "input 'image': a BYTES element declares 9 bytes; only 1 follow")
        XCTAssertEqual(
            error(message("INT64", [1], raw: Data(count: 8))),
            "input 'image': datatype INT64 is not supported; send FP32 tensors or BYTES image files")
        var both = message("FP32", [1], raw: Data(count: 4))
        both.inputs[0].contents.fp32Contents = [1]
        XCTAssertEqual(error(both), "input 'input' has both contents and raw_input_contents; send one")
        var unpaired = message("FP32", [1], raw: Data(count: 4))
        unpaired.rawInputContents.append(Data())
        XCTAssertEqual(
            error(unpaired), "raw_input_contents has 2 entries for 1 inputs; send one per input, in order")
        XCTAssertEqual(
            error(message("FP32", [-1, 3], raw: Data())),
            "input 'input': shape [-1, 3] has a dimension outside 0...268435456")
    }

    func testOutputsGoBackAsRawContentsTritonsClientReads() throws {
        let outputs = [
            ResponseOutput(name: "logits", shape: [1, 2], content: .floats([1.5, -2]), binary: true),
            ResponseOutput(name: "labels", shape: [1, 1], content: .strings(["0.9:3:cat"]), binary: true),
        ]
        let response = Inference_ModelInferResponse(model: "m", version: "1", id: "r", outputs: outputs)
        XCTAssertEqual(response.outputs.map(\.datatype), ["FP32", "BYTES"])
        XCTAssertEqual(response.outputs.map(\.shape), [[1, 2], [1, 1]])
        XCTAssertEqual(response.rawOutputContents[0], Data([0, 0, 0xC0, 0x3F, 0, 0, 0, 0xC0]))
        XCTAssertEqual(response.rawOutputContents[1], Data([9, 0, 0, 0]) + Data("0.9:3:cat".utf8))
    }
}
