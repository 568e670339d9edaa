#!/usr/bin/env python3
"""Writes seed inputs for the `oip` fuzzer (fuzz/InferRequestFuzzer.swift) into .fuzz/seeds/oip/.

Open Inference Protocol request bodies: JSON requests (FP32 data flat and nested, BYTES as
base64, outputs with binary_data and classification, parameters top_k), binary-data extension
requests (FP32 and BYTES) and a few bad ones. Each seed is framed as the harness reads it: a
flags byte (bits 0-1: 0 no jsonLength; 1 a 4-byte little-endian Int32 jsonLength follows;
2 the JSON ends at the first NUL byte, which is removed; bit 2: the body is a slice with a
nonzero startIndex), then the body. Standard library only.
Usage: python3 fuzz/make_oip_seeds.py
"""

import base64
import json
import pathlib
import shutil
import struct

ROOT = pathlib.Path(__file__).resolve().parent.parent
SEEDS = ROOT / ".fuzz" / "seeds" / "oip"


def text(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


def plain(obj, slice_=False):
    """A JSON-only request: no jsonLength."""
    body = obj if isinstance(obj, bytes) else text(obj)
    return bytes([4 if slice_ else 0]) + body


def with_length(header, binary, length=None, slice_=False):
    """Binary-data extension with an explicit Inference-Header-Content-Length."""
    header = header if isinstance(header, bytes) else text(header)
    return bytes([1 | (4 if slice_ else 0)]) + struct.pack("<i", len(header) if length is None else length) + header + binary


def with_nul(header, binary, slice_=False):
    """Binary-data extension whose JSON ends at a NUL separator (mutations keep the split)."""
    header = header if isinstance(header, bytes) else text(header)
    return bytes([2 | (4 if slice_ else 0)]) + header + b"\0" + binary


def f32(*values):
    return struct.pack(f"<{len(values)}f", *values)


def elements(*items):
    return b"".join(struct.pack("<I", len(item)) + item for item in items)


def seeds():
    out = {}
    floats = [0.5, -1.25, 3.0, 0.0, 1e-3, 65504.0]
    out["json_fp32_flat"] = plain(
        {"id": "42", "inputs": [{"name": "input", "shape": [1, 6], "datatype": "FP32", "data": floats}]}
    )
    out["json_fp32_nested"] = plain(
        {
            "inputs": [
                {"name": "input", "shape": [2, 3, 1], "datatype": "FP32", "data": [[[1], [2], [3]], [[4.5], [-5], [6e-2]]]}
            ],
            "outputs": [{"name": "logits"}],
        },
        slice_=True,
    )
    jpeg = b"\xff\xd8\xff\xe0\0\x10JFIF\0" + bytes(6) + b"\xff\xd9"
    png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"
    out["json_bytes_b64"] = plain(
        {
            "id": "req-\"1\"\n",
            "inputs": [
                {
                    "name": "image",
                    "shape": [2],
                    "datatype": "BYTES",
                    "data": [base64.b64encode(jpeg).decode(), {"b64": base64.b64encode(png).decode()}],
                }
            ],
            "outputs": [
                {"name": "labels", "parameters": {"classification": 5}},
                {"name": "logits", "parameters": {"binary_data": True}},
            ],
            "parameters": {"top_k": 3, "binary_data_output": False},
        }
    )
    out["json_bytes_single"] = plain(
        {"inputs": [{"name": "image", "shape": [1], "datatype": "BYTES", "data": base64.b64encode(b"abc").decode()}]}
    )
    out["json_two_inputs"] = plain(
        {
            "inputs": [
                {"name": "a", "shape": [0, 3], "datatype": "FP32", "data": []},
                {"name": "b\u00e9\u4e2d", "shape": [1, 1, 1, 1, 1, 1, 1, 2], "datatype": "FP32", "data": [1, 2]},
            ],
            "outputs": [],
            "parameters": {"binary_data_output": True},
        }
    )
    values = [float(i) / 4 - 1 for i in range(2 * 3 * 2 * 2)]
    fp32_header = {
        "inputs": [{"name": "input", "shape": [2, 3, 2, 2], "datatype": "FP32", "parameters": {"binary_data_size": 96}}],
        "outputs": [{"name": "logits", "parameters": {"binary_data": True}}, {"name": "labels", "parameters": {"classification": 2}}],
    }
    out["bin_fp32_length"] = with_length(fp32_header, f32(*values))
    out["bin_fp32_nul"] = with_nul(fp32_header, f32(*values), slice_=True)
    blobs = elements(jpeg, b"", png)
    bytes_header = {
        "id": "b",
        "inputs": [{"name": "image", "shape": [3], "datatype": "BYTES", "parameters": {"binary_data_size": len(blobs)}}],
        "parameters": {"top_k": 1, "binary_data_output": True},
    }
    out["bin_bytes_length"] = with_length(bytes_header, blobs, slice_=True)
    out["bin_bytes_nul"] = with_nul(bytes_header, blobs)
    mixed = {
        "inputs": [
            {"name": "image", "shape": [1], "datatype": "BYTES", "parameters": {"binary_data_size": 8}},
            {"name": "scale", "shape": [2], "datatype": "FP32", "data": [1.5, 2.5]},
            {"name": "x", "shape": [1, 1], "datatype": "FP32", "parameters": {"binary_data_size": 4}},
        ],
        "outputs": [{"name": "logits", "parameters": {"binary_data": False, "classification": 0}}],
    }
    out["bin_mixed_nul"] = with_nul(mixed, elements(b"abcd") + f32(7.0))
    # Bad ones: each breaks one rule.
    out["bad_binary_size"] = with_nul(
        {"inputs": [{"name": "x", "shape": [2], "datatype": "FP32", "parameters": {"binary_data_size": 4}}]}, f32(1, 2)
    )
    out["bad_trailing"] = with_nul(
        {"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "parameters": {"binary_data_size": 4}}]}, f32(1) + b"zz"
    )
    out["bad_length_outside"] = with_length({"inputs": []}, b"", length=1 << 30)
    out["bad_length_negative"] = with_length({"inputs": []}, b"", length=-1)
    out["bad_count"] = plain({"inputs": [{"name": "x", "shape": [2, 2], "datatype": "FP32", "data": [1, 2, 3]}]})
    out["bad_shape_float"] = plain({"inputs": [{"name": "x", "shape": [2.5], "datatype": "FP32", "data": [1, 2]}]})
    out["bad_shape_negative"] = plain({"inputs": [{"name": "x", "shape": [-1], "datatype": "FP32", "data": []}]})
    out["bad_shape_huge"] = plain({"inputs": [{"name": "x", "shape": [1 << 40, 1 << 40], "datatype": "FP32", "data": []}]})
    out["bad_datatype"] = plain({"inputs": [{"name": "x", "shape": [1], "datatype": "INT64", "data": [1]}]})
    out["bad_base64"] = plain({"inputs": [{"name": "x", "shape": [1], "datatype": "BYTES", "data": ["%%%"]}]})
    out["bad_bytes_elements"] = with_nul(
        {"inputs": [{"name": "x", "shape": [2], "datatype": "BYTES", "parameters": {"binary_data_size": 9}}]},
        struct.pack("<I", 5) + b"abcde",
    )
    out["bad_float_range"] = plain(b'{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1e39]}]}')
    out["bad_json"] = plain(b'{"inputs":[{"name":"x",')
    out["bad_not_object"] = plain(b"[1,2,3]")
    out["bad_top_k"] = plain(
        {"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}], "parameters": {"top_k": "5"}}
    )
    return out


def main():
    shutil.rmtree(SEEDS, ignore_errors=True)
    SEEDS.mkdir(parents=True)
    for name, data in seeds().items():
        (SEEDS / name).write_bytes(data)
    print(f"wrote {len(seeds())} seeds to {SEEDS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
