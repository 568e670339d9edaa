#!/usr/bin/env python3
"""Seeds for the grpc harness: ModelInferRequest messages as tritonclient.grpc builds them
(its generated service_pb2), valid and broken, written to .fuzz/seeds/grpc.

usage: .venv-test/bin/python fuzz/make_grpc_seeds.py
"""
import os
import struct

from tritonclient.grpc import service_pb2 as pb

OUT = os.path.join(os.path.dirname(__file__), "..", ".fuzz", "seeds", "grpc")


def request(inputs, raw=None, outputs=(), parameters=None, request_id=""):
    message = pb.ModelInferRequest(model_name="seresnet18", id=request_id)
    for name, datatype, shape, contents in inputs:
        tensor = message.inputs.add(name=name, datatype=datatype, shape=shape)
        if contents is not None:
            if datatype == "FP32":
                tensor.contents.fp32_contents.extend(contents)
            else:
                tensor.contents.bytes_contents.extend(contents)
    for entry in raw or []:
        message.raw_input_contents.append(entry)
    for name, classification in outputs:
        output = message.outputs.add(name=name)
        if classification is not None:
            output.parameters["classification"].int64_param = classification
    for key, value in (parameters or {}).items():
        message.parameters[key].int64_param = value
    return message.SerializeToString()


def floats(count, value=0.5):
    return struct.pack("<%df" % count, *([value] * count))


def serialized_bytes(elements):
    return b"".join(struct.pack("<I", len(e)) + e for e in elements)


seeds = {
    "fp32_raw": request([("input", "FP32", [1, 3, 2, 2], None)], raw=[floats(12)]),
    "fp32_contents": request([("input", "FP32", [1, 3, 2, 2], [0.25] * 12)], request_id="r1"),
    "fp32_short": request([("input", "FP32", [1, 3, 2, 2], None)], raw=[floats(11)]),
    "bytes_raw": request([("image", "BYTES", [2], None)], raw=[serialized_bytes([b"\xff\xd8\xff", b"\x89PNG"])]),
    "bytes_contents": request([("image", "BYTES", [1, 1], [b"\xff\xd8\xff\xe0"])]),
    "bytes_truncated": request([("image", "BYTES", [1], None)], raw=[struct.pack("<I", 99) + b"abc"]),
    "classification": request([("input", "FP32", [1, 3, 1, 1], None)], raw=[floats(3)],
                              outputs=[("logits", 3), ("labels", None)], parameters={"top_k": 2}),
    "both_contents": request([("input", "FP32", [1], [1.0])], raw=[floats(1)]),
    "int64": request([("input", "INT64", [1], None)], raw=[b"\x00" * 8]),
    "two_inputs": request([("input", "FP32", [1], None), ("image", "BYTES", [1], None)],
                          raw=[floats(1), serialized_bytes([b"x"])]),
    "negative_shape": request([("input", "FP32", [-1, 3], None)], raw=[b""]),
}
os.makedirs(OUT, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
print("wrote %d seeds to %s" % (len(seeds), os.path.normpath(OUT)))
