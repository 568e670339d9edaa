#!/usr/bin/env python3
"""Writes small seed inputs for the fuzzers into .fuzz/seeds/{safetensors,npy}/.

Valid files of every dtype and header version plus a few deliberately broken ones, so the
fuzzer starts next to every branch of the parsers. Needs numpy (for the .npy seeds).
Usage: python3 fuzz/make_seeds.py
"""

import json
import pathlib
import shutil
import struct

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
SEEDS = ROOT / ".fuzz" / "seeds"


def safetensors(header, data=b"", pad=0, length=None):
    text = json.dumps(header, separators=(",", ":")).encode() + b" " * pad
    return struct.pack("<Q", len(text) if length is None else length) + text + data


def safetensors_seeds():
    sizes = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}
    seeds = {}
    for dtype, size in sizes.items():
        data = bytes(range(1, 2 * 3 * size + 1))
        seeds[f"dtype_{dtype.lower()}"] = safetensors({"t": {"dtype": dtype, "shape": [2, 3], "data_offsets": [0, len(data)]}}, data)
    f32 = struct.pack("<4f", 1.0, -2.5, float("inf"), float("nan"))
    seeds["metadata"] = safetensors(
        {"__metadata__": {"format": "pt"}, "w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, f32, pad=5
    )
    seeds["empty_tensors"] = safetensors(
        {
            "a": {"dtype": "F32", "shape": [0, 3], "data_offsets": [0, 0]},
            "b": {"dtype": "BF16", "shape": [], "data_offsets": [0, 2]},
            "c": {"dtype": "F16", "shape": [0], "data_offsets": [2, 2]},
        },
        b"\x80\x3f",
    )
    seeds["empty_header"] = safetensors({})
    seeds["two_tensors"] = safetensors(
        {
            "x.weight": {"dtype": "F32", "shape": [1, 2], "data_offsets": [0, 8]},
            "x.bias": {"dtype": "F64", "shape": [1], "data_offsets": [8, 16]},
        },
        struct.pack("<2fd", 0.5, 0.25, -1.0),
    )
    seeds["overlap"] = safetensors(
        {
            "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
            "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]},
        },
        bytes(12),
    )
    seeds["out_of_range"] = safetensors({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, bytes(8))
    seeds["size_mismatch"] = safetensors({"a": {"dtype": "F16", "shape": [3], "data_offsets": [0, 4]}}, bytes(4))
    seeds["unknown_dtype"] = safetensors({"a": {"dtype": "F8_E4M3", "shape": [1], "data_offsets": [0, 1]}}, bytes(1))
    seeds["bad_metadata"] = safetensors({"__metadata__": {"n": 1}})
    seeds["header_too_long"] = safetensors({"a": 1}, length=1 << 40)
    seeds["not_object"] = safetensors([1, 2, 3])
    seeds["unicode_name"] = safetensors({"\u00e9\u4e2d": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, bytes(4))
    return seeds


def npy(array, version):
    import io

    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, version=version)
    return buffer.getvalue()


def raw_npy(header, data=b"", version=1):
    text = header.encode()
    length = struct.pack("<H", len(text)) if version == 1 else struct.pack("<I", len(text))
    return b"\x93NUMPY" + bytes([version, 0]) + length + text + data


def npy_seeds():
    seeds = {}
    rng = np.random.default_rng(7)
    for version in [(1, 0), (2, 0), (3, 0)]:
        tag = f"v{version[0]}"
        seeds[f"{tag}_f4_2x3"] = npy(rng.standard_normal((2, 3)).astype("<f4"), version)
    seeds["f4_scalar"] = npy(np.float32(1.5), (1, 0))
    seeds["f4_empty"] = npy(np.zeros((0, 4), "<f4"), (1, 0))
    seeds["f4_1x3x2x2"] = npy(rng.standard_normal((1, 3, 2, 2)).astype("<f4"), (1, 0))
    seeds["f4_vector"] = npy(np.arange(5, dtype="<f4"), (1, 0))
    seeds["f8"] = npy(np.arange(3, dtype="<f8"), (1, 0))
    seeds["f4_big_endian"] = npy(np.arange(3, dtype=">f4"), (1, 0))
    seeds["i4"] = npy(np.arange(3, dtype="<i4"), (1, 0))
    seeds["u1"] = npy(np.arange(3, dtype="u1"), (1, 0))
    seeds["f4_fortran"] = npy(np.asfortranarray(np.ones((2, 2), "<f4")), (1, 0))
    seeds["f4_big_endian_2x3"] = npy(rng.standard_normal((2, 3)).astype(">f4"), (1, 0))
    seeds["f4_fortran_2x3x4"] = npy(np.asfortranarray(rng.standard_normal((2, 3, 4)).astype("<f4")), (1, 0))
    seeds["f4_fortran_be_1x3x2x2"] = npy(np.asfortranarray(rng.standard_normal((1, 3, 2, 2)).astype(">f4")), (2, 0))
    seeds["f4_fortran_be_2x1x3x2"] = npy(np.asfortranarray(rng.standard_normal((2, 1, 3, 2)).astype(">f4")), (3, 0))
    seeds["hand_fortran_scalar"] = raw_npy("{'descr': '>f4', 'fortran_order': True, 'shape': (), }\n", bytes(4))
    seeds["hand_fortran_vector"] = raw_npy("{'descr': '<f4', 'fortran_order': True, 'shape': (3,), }\n", bytes(12))
    seeds["hand_fortran_empty"] = raw_npy("{'descr': '>f4', 'fortran_order': True, 'shape': (0, 2, 5), }\n")
    seeds["hand_fortran_truncated"] = raw_npy("{'descr': '>f4', 'fortran_order': True, 'shape': (2, 3), }\n", bytes(20))
    seeds["hand_fortran_not_bool"] = raw_npy("{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 2), }\n", bytes(16))
    seeds["hand_pipe_f4"] = raw_npy("{'descr': '|f4', 'fortran_order': False, 'shape': (2, 1), }\n", bytes(8))
    seeds["hand_truncated"] = raw_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }\n", bytes(8))
    seeds["hand_no_shape"] = raw_npy("{'descr': '<f4', 'fortran_order': False}\n")
    return seeds


def main():
    for name, seeds in [("safetensors", safetensors_seeds()), ("npy", npy_seeds())]:
        folder = SEEDS / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for seed, content in seeds.items():
            (folder / seed).write_bytes(content)
        print(f"{len(seeds)} seeds in {folder.relative_to(ROOT)}")
    shutil.copy(ROOT / "Tests/Fixtures/dtypes.safetensors", SEEDS / "safetensors" / "fixture_dtypes")
    shutil.copy(ROOT / "Tests/Fixtures/input_1x3x32x40.npy", SEEDS / "npy" / "fixture_input_1x3x32x40")


if __name__ == "__main__":
    main()
