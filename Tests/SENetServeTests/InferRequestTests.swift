import CoreTestSupport
import Foundation
import XCTest

@testable import SENetServe

/// The Open Inference Protocol request decoder (`InferRequest.decode`) and response encoder:
/// the `oip` fuzzer's corpus replayed (fuzz/InferRequestFuzzer.swift), then hand-made requests.
final class InferRequestTests: XCTestCase {
    // MARK: The fuzzer's corpus

    /// Every file of Tests/Fixtures/fuzz/oip, framed as the harness frames it, must decode to a
    /// request whose inputs fill their shapes, or throw a `RequestError` whose `{"error": ...}`
    /// body is valid JSON; never crash.
    func testOIPCorpusDecodesOrThrowsRequestError() throws {
        let directory = ModelFixture.directory.appendingPathComponent("fuzz").appendingPathComponent("oip")
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        XCTAssertGreaterThan(names.count, 10, "the oip fuzz corpus is (almost) empty")
        var decoded = 0
        for name in names {
            let data = try Data(contentsOf: directory.appendingPathComponent(name))
            guard let (body, jsonLength) = Self.fuzzCase(data) else { continue }
            do {
                let request = try InferRequest.decode(body: body, jsonLength: jsonLength)
                decoded += 1
                XCTAssertFalse(request.inputs.isEmpty, name)
                for input in request.inputs {
                    XCTAssertEqual(input.shape.reduce(1, *), Self.count(input.content), "\(name): input \(input.name)")
                }
            } catch let error as RequestError {
                XCTAssertFalse(error.message.isEmpty, name)
                let object = try JSONSerialization.jsonObject(with: InferResponseEncoder.error(error.message)) as? [String: Any]
                XCTAssertEqual(object?["error"] as? String, error.message, name)
            } catch {
                XCTFail("\(name): threw \(type(of: error)), not a RequestError: \(error)")
            }
        }
        XCTAssertGreaterThan(decoded, 0, "no input of the oip corpus decodes")
    }

    /// fuzz/InferRequestFuzzer.swift's `fuzzCase`: the first byte's bits 0-1 say where the JSON
    /// ends (0: no jsonLength; 1: a little-endian Int32 follows; 2, 3: at the first NUL byte,
    /// which is removed); bit 2 makes the body a slice whose startIndex is not 0.
    static func fuzzCase(_ input: Data) -> (body: Data, jsonLength: Int?)? {
        let bytes = [UInt8](input)
        guard let flags = bytes.first else { return nil }
        var body: [UInt8]
        var jsonLength: Int?
        switch flags & 3 {
        case 0:
            body = Array(bytes.dropFirst())
        case 1:
            guard bytes.count >= 5 else { return nil }
            jsonLength = Int(Int32(bitPattern: bytes[1..<5].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }))
            body = Array(bytes.dropFirst(5))
        default:
            body = Array(bytes.dropFirst())
            if let separator = body.firstIndex(of: 0) {
                body.remove(at: separator)
                jsonLength = separator
            } else {
                jsonLength = body.count
            }
        }
        guard flags & 4 != 0 else { return (Data(body), jsonLength) }
        let padded = Data([0x7B, 0x22, 0x7D, 0x00, 0xFF, 0x5B, 0x5D]) + body
        return (padded[7...], jsonLength)
    }

    private static func count(_ content: InferRequest.Content) -> Int {
        switch content {
        case .floats(let values): return values.count
        case .bytes(let elements): return elements.count
        }
    }

    // MARK: Decoding

    func testBinaryFP32DecodesToTheExactFloats() throws {
        var values = (0..<24).map { Float($0) * 0.1 - 2.3 }
        values[0] = -0.0
        values[1] = .leastNonzeroMagnitude
        values[2] = .greatestFiniteMagnitude
        values[3] = -.leastNormalMagnitude
        let binary = floatBytes(values)
        let header = """
            {"id":"r1","inputs":[{"name":"input","shape":[2,3,2,2],"datatype":"FP32","parameters":{"binary_data_size":\(binary.count)}}],\
            "outputs":[{"name":"logits","parameters":{"binary_data":true}},{"name":"labels","parameters":{"classification":3}}],\
            "parameters":{"top_k":5}}
            """
        let request = try decode(header, binary)
        XCTAssertEqual(request.id, "r1")
        XCTAssertEqual(request.inputs.count, 1)
        XCTAssertEqual(request.inputs[0].name, "input")
        XCTAssertEqual(request.inputs[0].shape, [2, 3, 2, 2])
        XCTAssertEqual(request.inputs[0].datatype, "FP32")
        guard case .floats(let decoded) = request.inputs[0].content else {
            return XCTFail("FP32 decoded as \(request.inputs[0].content)")
        }
        XCTAssertEqual(decoded.map(\.bitPattern), values.map(\.bitPattern))
        XCTAssertEqual(
            request.outputs,
            [.init(name: "logits", binary: true, classification: nil), .init(name: "labels", binary: false, classification: 3)])
        XCTAssertEqual(request.topK, 5)
        XCTAssertFalse(request.binaryOutput)
    }

    func testBinaryBytesElementsDecodeToTheExactData() throws {
        let elements = [
            Data([0xFF, 0xD8, 0xFF, 0x00, 0x01]), Data(), Data("png\u{0}\n".utf8), Data(repeating: 0xAB, count: 300),
        ]
        var binary = Data()
        for element in elements {
            withUnsafeBytes(of: UInt32(element.count).littleEndian) { binary.append(contentsOf: $0) }
            binary.append(element)
        }
        let header = """
            {"inputs":[{"name":"image","shape":[4],"datatype":"BYTES","parameters":{"binary_data_size":\(binary.count)}},\
            {"name":"x","shape":[1],"datatype":"FP32","parameters":{"binary_data_size":4}}],"parameters":{"binary_data_output":true}}
            """
        let request = try decode(header, binary + floatBytes([7.5]))
        XCTAssertEqual(request.inputs.map(\.content), [.bytes(elements), .floats([7.5])])
        XCTAssertTrue(request.binaryOutput)
        XCTAssertNil(request.outputs)
    }

    /// The decoder indexes the body from its startIndex: a slice must decode like a copy.
    func testBodyThatIsASliceDecodesLikeACopy() throws {
        let header = #"{"inputs":[{"name":"x","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":8}}]}"#
        let body = Data(header.utf8) + floatBytes([1.5, -2])
        let slice = (Data("garbage".utf8) + body)[7...]
        XCTAssertNotEqual(slice.startIndex, 0)
        let request = try InferRequest.decode(body: slice, jsonLength: header.utf8.count)
        XCTAssertEqual(request.inputs[0].content, .floats([1.5, -2]))
    }

    func testNestedJSONDataFlattensRowMajor() throws {
        let request = try decode(
            """
            {"inputs":[{"name":"x","shape":[2,2,3],"datatype":"FP32","data":[[[0,1,2],[3,4,5]],[[6,7,8],[9,10,11.5]]]},\
            {"name":"y","shape":[3],"datatype":"FP32","data":[0.1,-2.5e-3,1e10]}]}
            """)
        XCTAssertEqual(request.inputs[0].content, .floats((0..<11).map(Float.init) + [11.5]))
        XCTAssertEqual(request.inputs[1].content, .floats([0.1, -2.5e-3, 1e10]))
        XCTAssertEqual(request.inputs[0].shape, [2, 2, 3])
    }

    func testJSONBase64BytesElementsDecode() throws {
        let jpeg = Data([0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A, 0x46])
        let png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        let request = try decode(
            """
            {"inputs":[{"name":"image","shape":[2],"datatype":"BYTES","data":["\(jpeg.base64EncodedString())",\
            {"b64":"\(png.base64EncodedString())"}]},{"name":"one","shape":[1,1],"datatype":"BYTES","data":"YWJj"}]}
            """)
        XCTAssertEqual(request.inputs[0].content, .bytes([jpeg, png]))
        XCTAssertEqual(request.inputs[1].content, .bytes([Data("abc".utf8)]))
    }

    // MARK: Bad requests

    func testWrongBinaryDataSizeThrowsNamingTheInput() {
        let header =
            #"{"inputs":[{"name":"pixel_values","shape":[2,3],"datatype":"FP32","parameters":{"binary_data_size":20}}]}"#
        assertThrows(header, floatBytes([Float](repeating: 1, count: 5)), ["'pixel_values'", "binary_data_size 20", "[2, 3]"])
        // Right size, but the body ends before it.
        let cut = #"{"inputs":[{"name":"pixel_values","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":8}}]}"#
        assertThrows(cut, floatBytes([1]), ["'pixel_values'", "runs past the end", "4 bytes left"])
        // BYTES elements whose lengths do not add up to binary_data_size.
        let bytes = #"{"inputs":[{"name":"pixel_values","shape":[2],"datatype":"BYTES","parameters":{"binary_data_size":9}}]}"#
        assertThrows(bytes, Data([5, 0, 0, 0]) + Data("abcde".utf8), ["'pixel_values'", "holds 1 BYTES elements", "shape 2"])
        assertThrows(bytes, Data([9, 0, 0, 0]) + Data("abcde".utf8), ["'pixel_values'", "runs past"])
    }

    func testTrailingBinaryBytesThrow() {
        let header = #"{"inputs":[{"name":"pixel_values","shape":[1],"datatype":"FP32","parameters":{"binary_data_size":4}}]}"#
        assertThrows(header, floatBytes([1]) + Data([1, 2, 3]), ["3 bytes of binary data follow", "binary_data_size"])
        // Binary data after a JSON-only request is trailing too.
        assertThrows(#"{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}]}"#, Data([0]), ["1 bytes"])
    }

    func testJSONLengthOutsideTheBodyThrows() {
        let body = Data(#"{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}]}"#.utf8)
        for length in [-1, body.count + 1, Int.max, Int.min] {
            XCTAssertThrowsError(try InferRequest.decode(body: body, jsonLength: length), "\(length)") {
                XCTAssertTrue(($0 as? RequestError)?.message.contains("Inference-Header-Content-Length") == true, "\($0)")
            }
        }
    }

    func testCountMismatchThrowsNamingTheInput() {
        let tooFew = #"{"inputs":[{"name":"pixel_values","shape":[2,2],"datatype":"FP32","data":[[1,2],[3]]}]}"#
        assertThrows(tooFew, ["'pixel_values'", "holds 3 values", "shape 4"])
        let tooMany = #"{"inputs":[{"name":"pixel_values","shape":[2],"datatype":"FP32","data":[1,2,3,4,5]}]}"#
        assertThrows(tooMany, ["'pixel_values'", "holds 5 values", "shape 2"])
        let bytes = #"{"inputs":[{"name":"pixel_values","shape":[3],"datatype":"BYTES","data":["YQ==","Yg=="]}]}"#
        assertThrows(bytes, ["'pixel_values'", "holds 2 elements", "shape 3"])
    }

    func testNonIntegerShapeThrowsNamingTheInput() {
        for shape in ["[2.5]", "[\"2\"]", "[1e300]", "[null]", "[[2]]", "[9223372036854775808]"] {
            let header = #"{"inputs":[{"name":"pixel_values","shape":"# + shape + #","datatype":"FP32","data":[1,2]}]}"#
            assertThrows(header, ["'pixel_values'", "must hold integers"])
        }
        // Not an array at all: the message gives the path.
        assertThrows(#"{"inputs":[{"name":"pixel_values","shape":3,"datatype":"FP32","data":[1]}]}"#, ["inputs[0].shape"])
    }

    func testNegativeDimensionThrowsNamingTheInput() {
        let header = #"{"inputs":[{"name":"pixel_values","shape":[2,-3],"datatype":"FP32","data":[]}]}"#
        assertThrows(header, ["'pixel_values'", "negative dimension", "[2, -3]"])
    }

    func testHugeShapeThrowsInsteadOfOverflowing() {
        let huge = [
            "[1099511627776,1099511627776]", "[4294967296,4294967296,4294967296]", "[65536,65536]",
            "[0,1099511627776,1099511627776]",
        ]
        for shape in huge.prefix(3) {
            let header = #"{"inputs":[{"name":"pixel_values","shape":"# + shape + #","datatype":"FP32","data":[]}]}"#
            assertThrows(header, ["'pixel_values'", "too many elements"])
            let binary =
                #"{"inputs":[{"name":"pixel_values","shape":"# + shape
                + #","datatype":"BYTES","parameters":{"binary_data_size":0}}]}"#
            assertThrows(binary, ["'pixel_values'", "too many elements"])
        }
        // A zero dimension makes any shape empty; the rest must still not overflow.
        let empty = #"{"inputs":[{"name":"x","shape":"# + huge[3] + #","datatype":"FP32","data":[]}]}"#
        XCTAssertEqual(try? decode(empty).inputs[0].content, .floats([]))
        let deep = #"{"inputs":[{"name":"pixel_values","shape":[1,1,1,1,1,1,1,1,1],"datatype":"FP32","data":[1]}]}"#
        assertThrows(deep, ["'pixel_values'", "1 to 8 dimensions"])
    }

    func testOtherBadRequestsThrowRequestError() {
        let cases: [(String, [String])] = [
            ("[1,2]", []),
            (#"{"inputs":[{"name":"x""#, ["not a JSON object"]),
            (#"{"inputs":[]}"#, ["no 'inputs'"]),
            (#"{"inputs":[{"name":"pixel_values","shape":[1],"datatype":"INT8","data":[1]}]}"#, ["'pixel_values'", "INT8"]),
            (#"{"inputs":[{"name":"pixel_values","shape":[1],"datatype":"FP32","data":[1e39]}]}"#, ["'pixel_values'", "range"]),
            (#"{"inputs":[{"name":"pixel_values","shape":[1],"datatype":"FP32","data":["1"]}]}"#, ["'pixel_values'", "numbers"]),
            (#"{"inputs":[{"name":"pixel_values","shape":[1],"datatype":"FP32"}]}"#, ["'pixel_values'", "neither"]),
            (
                #"{"inputs":[{"name":"pixel_values","shape":[1],"datatype":"BYTES","data":["%%"]}]}"#,
                ["'pixel_values'", "base64"]
            ),
            (#"{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}],"parameters":{"top_k":1.5}}"#, ["top_k"]),
            (#"{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}],"outputs":{}}"#, ["'outputs'"]),
            (
                #"{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}],"outputs":[{"name":"o","parameters":{"binary_data":1}}]}"#,
                ["'o'", "binary_data"]
            ),
        ]
        for (header, words) in cases { assertThrows(header, words) }
        // A binary FP32 element that is NaN or infinite.
        let header = #"{"inputs":[{"name":"pixel_values","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":8}}]}"#
        assertThrows(header, floatBytes([1, .nan]), ["'pixel_values'", "element 1"])
        assertThrows(header, floatBytes([-.infinity, 1]), ["'pixel_values'", "element 0"])
    }

    // MARK: Responses

    func testBinaryResponseRoundTrips() throws {
        let logits: [Float] = [-0.0, 1.5, .leastNonzeroMagnitude, -.greatestFiniteMagnitude, 0.1, 3]
        let outputs = [
            ResponseOutput(name: "logits", shape: [2, 3], content: .floats(logits), binary: true),
            ResponseOutput(name: "labels", shape: [2], content: .strings(["0.9:281:tabby", "ü\n"]), binary: true),
            ResponseOutput(name: "scores", shape: [1, 2], content: .floats([0.25, -7e-3]), binary: false),
        ]
        let (body, jsonLength) = InferResponseEncoder.encode(model: "senet", version: "2", id: "id-7", outputs: outputs)
        let length = try XCTUnwrap(jsonLength)
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: body.prefix(length)) as? [String: Any])
        XCTAssertEqual(root["model_name"] as? String, "senet")
        XCTAssertEqual(root["model_version"] as? String, "2")
        XCTAssertEqual(root["id"] as? String, "id-7")
        let list = try XCTUnwrap(root["outputs"] as? [[String: Any]])
        XCTAssertEqual(list.map { $0["name"] as? String }, ["logits", "labels", "scores"])
        XCTAssertEqual(list.map { $0["datatype"] as? String }, ["FP32", "BYTES", "FP32"])
        XCTAssertEqual(list.map { ($0["shape"] as? [Any])?.compactMap { ($0 as? NSNumber)?.intValue } }, [[2, 3], [2], [1, 2]])
        let sizes = list.prefix(2).map { (($0["parameters"] as? [String: Any])?["binary_data_size"] as? NSNumber)?.intValue }
        let labelBytes = 4 + 13 + 4 + "ü\n".utf8.count
        XCTAssertEqual(sizes, [24, labelBytes])
        XCTAssertEqual(body.count, length + 24 + labelBytes)
        let binary = [UInt8](body.dropFirst(length))
        let floats = (0..<6).map { index in
            Float(bitPattern: binary[(index * 4)..<(index * 4 + 4)].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        }
        XCTAssertEqual(floats.map(\.bitPattern), logits.map(\.bitPattern))
        XCTAssertEqual(Array(binary[24..<28]), [13, 0, 0, 0])
        XCTAssertEqual(String(decoding: binary[28..<41], as: UTF8.self), "0.9:281:tabby")
        XCTAssertEqual(Array(binary[41..<45]), [UInt8("ü\n".utf8.count), 0, 0, 0])
        XCTAssertEqual(String(decoding: binary[45...], as: UTF8.self), "ü\n")
        XCTAssertEqual((list[2]["data"] as? [NSNumber])?.map(\.floatValue), [0.25, -7e-3])
        // Without binary outputs there is no binary part.
        let plain = InferResponseEncoder.encode(model: "m", version: "1", id: nil, outputs: [outputs[2]])
        XCTAssertNil(plain.jsonLength)
        XCTAssertNil((try JSONSerialization.jsonObject(with: plain.body) as? [String: Any])?["id"])
    }

    func testJSONEscapingOfQuotesNewlinesAndControlCharactersIsValidJSON() throws {
        let nasty = "a\"b\\c\nd\re\tf\u{0}g\u{1}\u{8}\u{C}\u{1F}h\u{7F}é\u{2028}\u{2029}😀/</script>"
        let quoted = InferResponseEncoder.quoted(nasty)
        XCTAssertFalse(quoted.unicodeScalars.contains { $0.value < 0x20 }, quoted.debugDescription)
        let parsed = try JSONSerialization.jsonObject(with: Data("[\(quoted)]".utf8)) as? [String]
        XCTAssertEqual(parsed, [nasty])
        let error = try JSONSerialization.jsonObject(with: InferResponseEncoder.error(nasty)) as? [String: String]
        XCTAssertEqual(error, ["error": nasty])
        let output = ResponseOutput(name: nasty, shape: [1], content: .strings([nasty]), binary: false)
        let (body, jsonLength) = InferResponseEncoder.encode(model: nasty, version: nasty, id: nasty, outputs: [output])
        XCTAssertNil(jsonLength)
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: body) as? [String: Any])
        XCTAssertEqual(root["model_name"] as? String, nasty)
        XCTAssertEqual(root["id"] as? String, nasty)
        let first = try XCTUnwrap((root["outputs"] as? [[String: Any]])?.first)
        XCTAssertEqual(first["name"] as? String, nasty)
        XCTAssertEqual(first["data"] as? [String], [nasty])
    }

    // MARK: Helpers

    private func floatBytes(_ values: [Float]) -> Data {
        var data = Data()
        for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        return data
    }

    /// `header` alone (no jsonLength), or followed by `binary` with jsonLength its length.
    private func decode(_ header: String, _ binary: Data? = nil) throws -> InferRequest {
        let json = Data(header.utf8)
        guard let binary else { return try InferRequest.decode(body: json, jsonLength: nil) }
        return try InferRequest.decode(body: json + binary, jsonLength: json.count)
    }

    private func assertThrows(_ header: String, _ words: [String], file: StaticString = #filePath, line: UInt = #line) {
        assertThrows(header, nil, words, file: file, line: line)
    }

    /// Decoding `header` (and `binary`) throws a `RequestError` whose message holds every one of `words`.
    private func assertThrows(
        _ header: String, _ binary: Data?, _ words: [String], file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertThrowsError(try decode(header, binary), header, file: file, line: line) { error in
            guard let error = error as? RequestError else {
                return XCTFail("\(header): threw \(type(of: error)), not a RequestError", file: file, line: line)
            }
            for word in words {
                XCTAssertTrue(
                    error.message.contains(word), "\(error.message.debugDescription) lacks \(word)", file: file, line: line)
            }
        }
    }
}
