import Foundation
import InferenceProto
import SwiftProtobuf

// libFuzzer harness for the gRPC side of the Open Inference Protocol: the input is a
// `ModelInferRequest` message as it arrives on the wire. Built by fuzz/build.sh with
// SwiftProtobuf, the generated InferenceProto messages and Sources/SENetServe/Protocol.
//
// Parsing must give a message or throw SwiftProtobuf's error; a message must become an
// `InferRequest` or throw a `RequestError` with a message (it may quote a name holding a
// newline, as REST's does: gRPC percent-encodes its status message). A converted request holds
// as many values as its shapes say, and its outputs encode as a `ModelInferResponse` that
// parses back to the same message, with every FP32 output's raw bytes giving its values back.
// Tests/SENetServeTests/GRPCInferRequestTests.swift replays the corpus the same way.
// FUZZ_VERBOSE=1 prints each input's outcome.

private let verbose = ProcessInfo.processInfo.environment["FUZZ_VERBOSE"] == "1"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ bytes: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let message: Inference_ModelInferRequest
    do {
        message = try Inference_ModelInferRequest(serializedBytes: Data(bytes: bytes, count: size))
    } catch {
        if verbose { print("not a message: \(error)") }
        return 0
    }
    let request: InferRequest
    do {
        request = try InferRequest(grpc: message)
    } catch let error as RequestError {
        if verbose { print("error: \(error.message)") }
        precondition(!error.message.isEmpty, "an empty error message")
        return 0
    } catch {
        preconditionFailure("InferRequest(grpc:) threw \(type(of: error)): \(error)")
    }
    if verbose { print("converted: \(request.inputs.map { "\($0.name) \($0.datatype) \($0.shape)" })") }
    var outputs: [ResponseOutput] = []
    for input in request.inputs {
        let count = input.shape.reduce(1, *)
        switch input.content {
        case .floats(let values):
            precondition(values.count == count, "\(values.count) floats for shape \(input.shape)")
            outputs.append(ResponseOutput(name: input.name, shape: input.shape, content: .floats(values), binary: true))
        case .bytes(let elements):
            precondition(elements.count == count, "\(elements.count) elements for shape \(input.shape)")
            let strings = elements.map { String(decoding: $0, as: UTF8.self) }
            outputs.append(ResponseOutput(name: input.name, shape: [strings.count], content: .strings(strings), binary: true))
        }
    }
    let response = Inference_ModelInferResponse(model: "m", version: "1", id: request.id, outputs: outputs)
    let parsed: Inference_ModelInferResponse
    do {
        parsed = try Inference_ModelInferResponse(serializedBytes: try response.serializedData())
    } catch {
        preconditionFailure("the response does not round-trip: \(error)")
    }
    precondition(parsed == response, "the response changed through its bytes")
    for (index, output) in outputs.enumerated() {
        guard case .floats(let values) = output.content else { continue }
        let raw = parsed.rawOutputContents[index]
        precondition(raw.count == values.count * 4, "raw output \(index) holds \(raw.count) bytes")
        let back = raw.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        precondition(zip(back, values).allSatisfy { $0.bitPattern == $1.bitPattern }, "output \(index) changed")
    }
    return 0
}
