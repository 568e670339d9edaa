#!/usr/bin/env python3
"""Deterministic synthetic weights and inputs for senet-gpu.

The Swift side reproduces these values bit for bit, so every step here is
spelled out and done in fixed-width integer / float32 arithmetic.

Generator (counter-based SplitMix64), for element i (0-based, row-major):

    state = (seed + (i + 1) * 0x9E3779B97F4A7C15)            mod 2^64
    z = state
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9                   mod 2^64
    z = (z ^ (z >> 27)) * 0x94D049BB133111EB                   mod 2^64
    z =  z ^ (z >> 31)
    unit  = float32(z >> 40) / float32(2^24)                   (exact)
    value = float32(low) + (float32(high) - float32(low)) * unit

The last line is evaluated in float32 with a rounding after the subtraction,
after the multiplication and after the addition (no fused multiply-add, no
float64 intermediate).

Per tensor of a state_dict: seed = fnv1a64(utf-8 bytes of the key) XOR
base_seed, and the range comes from the key and shape (see `tensor_range`).
Inputs use the given seed directly (no FNV) and the range [-1, 1].

Only numpy is needed for the generator; torch is imported lazily by the
helpers that fill a model.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Iterable, Sequence, Tuple

import numpy as np

MASK64 = (1 << 64) - 1
GOLDEN_GAMMA = 0x9E3779B97F4A7C15
MIX1 = 0xBF58476D1CE4E5B9
MIX2 = 0x94D049BB133111EB
FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3

# Elements generated per numpy pass (keeps peak memory bounded for big tensors).
_CHUNK = 1 << 22


def fnv1a64(data: bytes) -> int:
    """FNV-1a, 64-bit: xor each byte in, then multiply by the prime mod 2^64."""
    h = FNV_OFFSET
    for b in data:
        h ^= b
        h = (h * FNV_PRIME) & MASK64
    return h


def key_seed(key: str, base_seed: int) -> int:
    return fnv1a64(key.encode("utf-8")) ^ (base_seed & MASK64)


def splitmix64_bits(seed: int, start: int, count: int) -> np.ndarray:
    """The mixed 64-bit words for element indices start ..< start+count."""
    seed &= MASK64
    with np.errstate(over="ignore"):
        counter = np.arange(start + 1, start + count + 1, dtype=np.uint64)
        z = counter * np.uint64(GOLDEN_GAMMA) + np.uint64(seed)  # wraps mod 2^64
        z = (z ^ (z >> np.uint64(30))) * np.uint64(MIX1)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(MIX2)
        z = z ^ (z >> np.uint64(31))
    return z


def uniform_f32(seed: int, count: int, low: float, high: float) -> np.ndarray:
    """`count` float32 values in [low, high) following the spec above."""
    lo = np.float32(low)
    span = np.float32(np.float32(high) - lo)
    inv = np.float32(1.0 / 16777216.0)  # 2^-24, exact in float32
    out = np.empty(count, dtype=np.float32)
    for start in range(0, count, _CHUNK):
        n = min(_CHUNK, count - start)
        z = splitmix64_bits(seed, start, n)
        # z >> 40 < 2^24, so the conversion to float32 is exact, and so is
        # the scaling by 2^-24 (same as dividing by float32(2^24)).
        unit = (z >> np.uint64(40)).astype(np.float32) * inv
        vals = unit * span  # float32 * float32 -> float32 (rounded)
        vals += lo  # float32 + float32 -> float32 (rounded)
        out[start:start + n] = vals
    return out


def fan_in_bound(shape: Sequence[int]) -> np.float32:
    fan_in = float(math.prod(int(s) for s in shape[1:]))
    return np.float32(math.sqrt(3.0 / fan_in))


def tensor_range(key: str, shape: Sequence[int]) -> Tuple[float, float] | None:
    """(low, high) for a state_dict entry, or None for entries left at zero."""
    if key.endswith("num_batches_tracked"):
        return None
    if len(shape) >= 2:
        a = fan_in_bound(shape)
        return (-a, a)
    if key.endswith("running_mean"):
        return (-0.1, 0.1)
    if key.endswith("running_var"):
        return (0.5, 1.5)
    if key.endswith(".bias"):
        return (-0.1, 0.1)
    if len(shape) == 1 and key.endswith(".weight"):
        return (0.5, 1.5)
    raise ValueError(f"no synthetic rule for key {key!r} with shape {list(shape)}")


def synthetic_tensor(key: str, shape: Sequence[int], base_seed: int) -> np.ndarray | None:
    """float32 array for `key`, or None when the entry is not generated."""
    rng = tensor_range(key, shape)
    if rng is None:
        return None
    count = int(math.prod(int(s) for s in shape))
    vals = uniform_f32(key_seed(key, base_seed), count, rng[0], rng[1])
    return vals.reshape(tuple(int(s) for s in shape))


def synthetic_input(shape: Sequence[int], seed: int) -> np.ndarray:
    count = int(math.prod(int(s) for s in shape))
    return uniform_f32(seed, count, -1.0, 1.0).reshape(tuple(int(s) for s in shape))


def synthetic_state_dict(items: Iterable[Tuple[str, Sequence[int]]], base_seed: int) -> dict:
    return {k: synthetic_tensor(k, s, base_seed) for k, s in items}


def fill_model_(model, base_seed: int) -> None:
    """Overwrite every state_dict entry of a torch module in place.

    num_batches_tracked buffers are set to 0, everything else float32 from
    the generator.
    """
    import torch

    with torch.no_grad():
        for key, tensor in model.state_dict().items():
            vals = synthetic_tensor(key, tuple(tensor.shape), base_seed)
            if vals is None:
                tensor.zero_()
            else:
                tensor.copy_(torch.from_numpy(vals).to(tensor.dtype))


def _fmt(vals: np.ndarray) -> str:
    return ", ".join(f"{float(v)!r} (0x{v.view(np.uint32):08x})" for v in vals)


def selftest() -> int:
    ok = True
    # Cross-check the vectorized generator against a plain-int reference.
    def ref(seed: int, i: int, low: float, high: float) -> np.float32:
        z = (seed + (i + 1) * GOLDEN_GAMMA) & MASK64
        z = ((z ^ (z >> 30)) * MIX1) & MASK64
        z = ((z ^ (z >> 27)) * MIX2) & MASK64
        z = z ^ (z >> 31)
        unit = np.float32(z >> 40) / np.float32(2 ** 24)
        lo = np.float32(low)
        return np.float32(lo + np.float32(np.float32(high) - lo) * unit)

    seed = key_seed("conv1.weight", 0)
    w = synthetic_tensor("conv1.weight", [64, 3, 7, 7], 0)
    a = fan_in_bound([64, 3, 7, 7])
    for i in range(8):
        r = ref(seed, i, -a, a)
        if r.view(np.uint32) != w.reshape(-1)[i].view(np.uint32):
            print(f"MISMATCH conv1.weight[{i}]: {w.reshape(-1)[i]!r} vs {r!r}")
            ok = False
    x = synthetic_input([1, 3, 4, 4], 7)
    for i in range(8):
        r = ref(7, i, -1.0, 1.0)
        if r.view(np.uint32) != x.reshape(-1)[i].view(np.uint32):
            print(f"MISMATCH input[{i}]")
            ok = False

    print(f"fnv1a64('conv1.weight') = 0x{fnv1a64(b'conv1.weight'):016x}")
    print(f"conv1.weight bound a = {float(a)!r} (0x{a.view(np.uint32):08x})")
    print(f"conv1.weight [64,3,7,7] base seed 0, first 4: {_fmt(w.reshape(-1)[:4])}")
    print(f"input seed 7, first 4: {_fmt(x.reshape(-1)[:4])}")
    print("selftest", "OK" if ok else "FAILED")
    return 0 if ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--selftest", action="store_true", help="print reference values and check the generator")
    args = p.parse_args(argv)
    if args.selftest:
        return selftest()
    p.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
