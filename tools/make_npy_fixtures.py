#!/usr/bin/env python3
"""Writes the .npy layout fixtures in Tests/Fixtures/npy/ with numpy's own writer.

For each shape, the same float32 values four ways: C order little-endian (`c_*`, the reference),
big-endian (`be_*`), Fortran order (`f_*`) and both (`fbe_*`). The values are random bit
patterns, NaN payloads, infinities, -0 and subnormals included, so the Swift reader is checked
bit for bit. Needs numpy. Usage: python3 tools/make_npy_fixtures.py
"""

import pathlib

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "Fixtures" / "npy"
SHAPES = [(), (5,), (2, 3), (2, 3, 4), (2, 3, 4, 5)]


def values(shape, rng):
    bits = rng.integers(0, 2**32, size=int(np.prod(shape)), dtype=np.uint32)
    special = np.array([0x80000000, 0x7F800000, 0xFF800000, 0x00000001, 0x7FC00001, 0xFFA00002], np.uint32)
    bits[: min(len(bits), len(special))] = special[: len(bits)]
    return bits.view("<f4").reshape(shape)


def big_endian(array):
    # A byte swap, not a cast, so every bit pattern survives as it is.
    return array.byteswap().view(array.dtype.newbyteorder(">"))


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(2024)
    for shape in SHAPES:
        tag = "x".join(map(str, shape)) or "scalar"
        c = values(shape, rng)
        variants = {"c": c, "be": big_endian(c)}
        if len(shape) >= 2:  # numpy writes fortran_order True only when the array is not also C-contiguous
            variants["f"] = np.asfortranarray(c)
            variants["fbe"] = np.asfortranarray(big_endian(c))
        for prefix, array in variants.items():
            path = OUT / f"{prefix}_{tag}.npy"
            np.save(path, array)
            back = np.load(path)  # what np.load gives, bit for bit, must be the C file's values
            bits = back.view(back.dtype.str.replace("f", "u")).astype("<u4")
            assert back.shape == shape and bits.tobytes() == c.view("<u4").tobytes(), path
        print(f"{tag}: {', '.join(variants)}")


if __name__ == "__main__":
    main()
