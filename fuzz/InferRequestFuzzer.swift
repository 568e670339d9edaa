import Foundation

// libFuzzer harness for `InferRequest.decode(body:jsonLength:)`, the Open Inference Protocol
// request decoder, and for `InferResponseEncoder`. Built by fuzz/build.sh together with the
// three Sources/SENetServe/Protocol files (not through SwiftPM).
//
// The input's first byte chooses how the rest becomes (body, jsonLength) (see `fuzzCase`):
//   bits 0-1: 0: jsonLength nil, the body is the rest;
//             1: jsonLength is the next 4 bytes (Int32, little-endian, so negative too), the body
//                what follows them;
//             2, 3: the body is the rest without its first NUL byte, and jsonLength the NUL's
//                index (the body's length when there is none), so mutations of the JSON keep the
//                binary part behind it;
//   bit 2:    the body is a slice whose startIndex is not 0.
// Decoding must return a request or throw a `RequestError`. Anything else (a trap, another
// error) stops the fuzzer with a reproducer. A decoded request must also hold as many values
// as its shapes say, decode again to itself after being written back as a request (binary
// data and JSON), and encode as a response whose JSON parses and gives every output back
// exactly; an error must encode as `{"error": message}` that parses back to the message.
// Tests/SENetServeTests/InferRequestTests.swift replays the corpus the same way.
// FUZZ_VERBOSE=1 prints each input's outcome (`decoded: ...` or the error).

private let verbose = ProcessInfo.processInfo.environment["FUZZ_VERBOSE"] == "1"

/// The (body, jsonLength) an input of the fuzzer stands for; nil when it is too short.
func fuzzCase(_ input: Data) -> (body: Data, jsonLength: Int?)? {
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

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ bytes: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let (body, jsonLength) = fuzzCase(Data(bytes: bytes, count: size)) else { return 0 }
    let request: InferRequest
    do {
        request = try InferRequest.decode(body: body, jsonLength: jsonLength)
    } catch let error as RequestError {
        if verbose { print("error: \(error.message)") }
        checkError(error)
        return 0
    } catch {
        fatalError("threw \(type(of: error)), not a RequestError: \(error)")
    }
    if verbose { print("decoded: \(request)") }
    checkShapes(request)
    for binary in [true, false] {
        let (body, jsonLength) = encodeRequest(request, binary: binary)
        do {
            let again = try InferRequest.decode(body: body, jsonLength: jsonLength)
            guard again == request else {
                fatalError("written back (binary: \(binary)), \(request) decodes to \(again)")
            }
        } catch {
            fatalError("written back (binary: \(binary)), \(request) fails to decode: \(error)")
        }
    }
    checkResponse(request)
    return 0
}

/// The message is not empty and `{"error": message}` parses back to it.
private func checkError(_ error: RequestError) {
    guard !error.message.isEmpty else { fatalError("an empty error message") }
    let data = InferResponseEncoder.error(error.message)
    guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
        object["error"] as? String == error.message
    else {
        fatalError("the error body \(String(decoding: data, as: UTF8.self).debugDescription) is not valid JSON")
    }
}

private func checkShapes(_ request: InferRequest) {
    guard !request.inputs.isEmpty else { fatalError("a request without inputs") }
    for input in request.inputs {
        let count: Int
        switch input.content {
        case .floats(let values):
            guard input.datatype == "FP32", values.allSatisfy(\.isFinite) else {
                fatalError("input \(input.name.debugDescription): \(input.datatype) floats \(values.prefix(8))")
            }
            count = values.count
        case .bytes(let elements):
            guard input.datatype == "BYTES" else { fatalError("input \(input.name.debugDescription): \(input.datatype) bytes") }
            count = elements.count
        }
        guard !input.shape.isEmpty, input.shape.allSatisfy({ $0 >= 0 }), input.shape.reduce(1, *) == count else {
            fatalError("input \(input.name.debugDescription) of shape \(input.shape) holds \(count) values")
        }
    }
}

/// `request` as a body again: every input as binary data, or every input in JSON.
private func encodeRequest(_ request: InferRequest, binary: Bool) -> (body: Data, jsonLength: Int?) {
    var tail = Data()
    var inputs: [[String: Any]] = []
    for input in request.inputs {
        var object: [String: Any] = ["name": input.name, "datatype": input.datatype, "shape": input.shape]
        switch (input.content, binary) {
        case (.floats(let values), true):
            let start = tail.count
            for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { tail.append(contentsOf: $0) } }
            object["parameters"] = ["binary_data_size": tail.count - start]
        case (.bytes(let elements), true):
            let start = tail.count
            for element in elements {
                withUnsafeBytes(of: UInt32(element.count).littleEndian) { tail.append(contentsOf: $0) }
                tail.append(element)
            }
            object["parameters"] = ["binary_data_size": tail.count - start]
        case (.floats(let values), false):
            object["data"] = values.map(Double.init)
        case (.bytes(let elements), false):
            object["data"] = elements.map { $0.base64EncodedString() }
        }
        inputs.append(object)
    }
    var root: [String: Any] = ["inputs": inputs]
    if let id = request.id { root["id"] = id }
    var parameters: [String: Any] = ["binary_data_output": request.binaryOutput]
    if let topK = request.topK { parameters["top_k"] = topK }
    root["parameters"] = parameters
    if let outputs = request.outputs {
        root["outputs"] = outputs.map { output -> [String: Any] in
            var parameters: [String: Any] = ["binary_data": output.binary]
            if let classification = output.classification { parameters["classification"] = classification }
            return ["name": output.name, "parameters": parameters]
        }
    }
    guard let json = try? JSONSerialization.data(withJSONObject: root) else {
        fatalError("JSONSerialization cannot write \(root)")
    }
    return binary ? (json + tail, json.count) : (json, nil)
}

/// Encodes the request's inputs as response outputs (BYTES as the strings they decode to as
/// UTF-8; binary as the request's outputs ask, else every other one) and reads them back.
private func checkResponse(_ request: InferRequest) {
    let outputs = request.inputs.enumerated().map { index, input -> ResponseOutput in
        let binary = request.outputs.map { $0.isEmpty ? false : $0[index % $0.count].binary } ?? (index % 2 == 1)
        switch input.content {
        case .floats(let values):
            return ResponseOutput(name: input.name, shape: input.shape, content: .floats(values), binary: binary)
        case .bytes(let elements):
            let strings = elements.map { String(decoding: $0, as: UTF8.self) }
            return ResponseOutput(name: input.name, shape: input.shape, content: .strings(strings), binary: binary)
        }
    }
    let model = request.outputs?.first?.name ?? "model"
    let (body, jsonLength) = InferResponseEncoder.encode(model: model, version: "1", id: request.id, outputs: outputs)
    guard (jsonLength == nil) == !outputs.contains(where: { $0.binary && !InferResponseEncoder.binaryBytes($0.content).isEmpty })
    else { fatalError("jsonLength \(String(describing: jsonLength)) for outputs \(outputs)") }
    let header = body.prefix(jsonLength ?? body.count)
    var tail = body.dropFirst(header.count)
    guard let root = (try? JSONSerialization.jsonObject(with: header)) as? [String: Any] else {
        fatalError("the response JSON does not parse: \(String(decoding: header, as: UTF8.self).debugDescription)")
    }
    guard root["model_name"] as? String == model, root["model_version"] as? String == "1",
        root["id"] as? String == request.id, let list = root["outputs"] as? [[String: Any]], list.count == outputs.count
    else { fatalError("the response \(root) does not give back the model, the id and \(outputs.count) outputs") }
    for (output, object) in zip(outputs, list) {
        guard object["name"] as? String == output.name, object["datatype"] as? String == output.datatype,
            (object["shape"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }) == output.shape
        else { fatalError("output \(object) is not \(output.name.debugDescription) \(output.datatype) \(output.shape)") }
        let content: ResponseOutput.Content
        if output.binary {
            guard let size = ((object["parameters"] as? [String: Any])?["binary_data_size"] as? NSNumber)?.intValue,
                size >= 0, size <= tail.count
            else { fatalError("binary output \(object) has no binary_data_size within the \(tail.count) bytes left") }
            content = readBinary(tail.prefix(size), like: output.content)
            tail = tail.dropFirst(size)
        } else {
            guard let data = object["data"] as? [Any] else { fatalError("output \(object) has no data") }
            if case .floats = output.content {
                content = .floats(data.map { ($0 as? NSNumber)?.floatValue ?? .nan })
            } else {
                content = .strings(data.map { $0 as? String ?? "\u{FFFF}not a string" })
            }
        }
        guard content == output.content else {
            fatalError("output \(output.name.debugDescription) reads back as \(content), was \(output.content)")
        }
    }
    guard tail.isEmpty else { fatalError("\(tail.count) bytes follow the response's binary outputs") }
}

private func readBinary(_ bytes: Data, like content: ResponseOutput.Content) -> ResponseOutput.Content {
    let bytes = [UInt8](bytes)
    func word(at offset: Int) -> UInt32 {
        bytes[offset..<(offset + 4)].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }
    if case .floats = content {
        guard bytes.count % 4 == 0 else { fatalError("\(bytes.count) bytes of FP32") }
        return .floats(stride(from: 0, to: bytes.count, by: 4).map { Float(bitPattern: word(at: $0)) })
    }
    var strings: [String] = []
    var offset = 0
    while offset < bytes.count {
        guard offset + 4 <= bytes.count else { fatalError("a BYTES length prefix is cut off") }
        let length = Int(word(at: offset))
        guard offset + 4 + length <= bytes.count else { fatalError("a BYTES element runs past its output") }
        strings.append(String(decoding: bytes[(offset + 4)..<(offset + 4 + length)], as: UTF8.self))
        offset += 4 + length
    }
    return .strings(strings)
}
