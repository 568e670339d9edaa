#!/usr/bin/env python3
"""Regenerate Tests/Fixtures/ from PyTorch / timm (CPU, float32).

Each JSON case holds the logits of a model filled with the synthetic weights
of tools/synthetic.py (base seed 1) on a synthetic input, plus the model's
full state_dict key list, so the Swift side can rebuild the weights and the
input from the seeds and compare logits.

Usage:  python3 tools/make_fixtures.py [--out Tests/Fixtures] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import models  # noqa: E402
import synthetic  # noqa: E402

WEIGHT_SEED = 1

# name: (family, depth, num_classes, input shape, input seed[, timm model])
# A case without a timm model builds the family's plain depth-N model
# (models.build_model); one with a timm model builds that exact timm name,
# and its JSON also gets a "model" field.
CASES = [
    ("timm18_224", "timm", 18, 1000, (1, 3, 224, 224), 11),
    ("timm34_b2_64x96", "timm", 34, 1000, (2, 3, 64, 96), 12),
    ("timm50_224", "timm", 50, 1000, (1, 3, 224, 224), 13),
    ("timm101_80x64", "timm", 101, 10, (1, 3, 80, 64), 14),
    ("timm152_64", "timm", 152, 1000, (1, 3, 64, 64), 15),
    ("legacy18_67x83", "legacy", 18, 1000, (1, 3, 67, 83), 21),
    ("legacy34_64", "legacy", 34, 100, (1, 3, 64, 64), 22),
    ("legacy50_b2_96x128", "legacy", 50, 1000, (2, 3, 96, 128), 23),
    ("legacy101_64", "legacy", 101, 1000, (1, 3, 64, 64), 24),
    ("legacy152_65x71", "legacy", 152, 1000, (1, 3, 65, 71), 25),
    ("classic18_224", "classic", 18, 10, (1, 3, 224, 224), 31),
    ("classic50_b2_80x64", "classic", 50, 10, (2, 3, 80, 64), 32),
    ("classic34_48x40", "classic", 34, 7, (1, 3, 48, 40), 33),
    # SE-ResNeXt / deep-stem / SENet-154 variants, by exact timm name.
    ("seresnext26d_b2_64x96", "timm", 26, 1000, (2, 3, 64, 96), 51, "seresnext26d_32x4d"),
    ("seresnext26t_64", "timm", 26, 10, (1, 3, 64, 64), 52, "seresnext26t_32x4d"),
    ("seresnext50_80x72", "timm", 50, 1000, (1, 3, 80, 72), 53, "seresnext50_32x4d"),
    ("seresnext101_32x4d_64", "timm", 101, 10, (1, 3, 64, 64), 54, "seresnext101_32x4d"),
    ("seresnext101_32x8d_48x64", "timm", 101, 10, (1, 3, 48, 64), 55, "seresnext101_32x8d"),
    ("seresnext101_64x4d_64", "timm", 101, 10, (1, 3, 64, 64), 56, "seresnext101_64x4d"),
    ("seresnet50t_67x83", "timm", 50, 1000, (1, 3, 67, 83), 57, "seresnet50t"),
    ("seresnet152d_64", "timm", 152, 10, (1, 3, 64, 64), 58, "seresnet152d"),
    ("seresnet200d_b2_64", "timm", 200, 10, (2, 3, 64, 64), 59, "seresnet200d"),
    ("senet154_64", "timm", 154, 10, (1, 3, 64, 64), 60, "senet154"),
    ("legacy_seresnext26_65x71", "legacy", 26, 1000, (1, 3, 65, 71), 61, "legacy_seresnext26_32x4d"),
    ("legacy_seresnext50_b2_64x80", "legacy", 50, 10, (2, 3, 64, 80), 62, "legacy_seresnext50_32x4d"),
    ("legacy_seresnext101_64", "legacy", 101, 10, (1, 3, 64, 64), 63, "legacy_seresnext101_32x4d"),
    ("legacy_senet154_b2_72x64", "legacy", 154, 10, (2, 3, 72, 64), 64, "legacy_senet154"),
]

DTYPE_NAMES = {
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.int64: "I64",
}


def versions():
    timm = models.import_timm()
    return torch.__version__, timm.__version__


def f32_list(t: torch.Tensor):
    # Each float32 widened to a Python float (exact), printed by json with
    # repr, which round-trips: parsing as Double then narrowing to Float gives
    # back the same float32.
    return [float(v) for v in t.detach().to(torch.float32).reshape(-1).numpy()]


def make_case(name, family, depth, num_classes, shape, input_seed, out_dir, torch_v, timm_v, timm_model=None):
    if timm_model is not None and models.family_depth_of_timm_name(timm_model) != (family, depth):
        raise RuntimeError(f"{name}: family/depth {family}/{depth} do not match timm model {timm_model!r}")
    model = models.build_model(family, depth, num_classes, timm_model=timm_model)
    synthetic.fill_model_(model, WEIGHT_SEED)
    keys = [[k, list(t.shape), DTYPE_NAMES[t.dtype]] for k, t in model.state_dict().items()]
    x = torch.from_numpy(synthetic.synthetic_input(shape, input_seed))
    with torch.inference_mode():
        logits = models.logits_of(model, x).to(torch.float32)
    if tuple(logits.shape) != (shape[0], num_classes):
        raise RuntimeError(f"{name}: logits shape {tuple(logits.shape)}")
    # The same weights and input in float64: how far float32 rounding alone
    # moves these logits (a floor for any float32 engine's tolerance).
    with torch.inference_mode():
        logits64 = models.logits_of(model.double(), x.double())
    f64_diff = float((logits.double() - logits64).abs().max())
    flat = logits.reshape(-1)
    doc = {"name": name}
    if timm_model is not None:
        doc["model"] = timm_model
    doc.update({
        "family": family,
        "depth": depth,
        "numClasses": num_classes,
        "weightSeed": WEIGHT_SEED,
        "inputSeed": input_seed,
        "inputShape": list(shape),
        "logits": f32_list(flat),
        "logitsShape": list(logits.shape),
        "keys": keys,
        "torch": torch_v,
        "timm": timm_v,
        "float64MaxAbsDiff": f64_diff,
    })
    path = os.path.join(out_dir, f"{name}.json")
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    per_row = logits.reshape(shape[0], -1)
    stats = {
        "max_abs": float(flat.abs().max()),
        "std": float(per_row.std(dim=1).min()),
        "range": float((per_row.max(dim=1).values - per_row.min(dim=1).values).min()),
        "finite": bool(torch.isfinite(flat).all()),
        "bytes": os.path.getsize(path),
        "f64_rel": f64_diff / max(float(flat.abs().max()), 1e-30),
    }
    return stats


def make_input_npy(out_dir):
    x = synthetic.synthetic_input((1, 3, 32, 40), 41).astype(np.float32)
    path = os.path.join(out_dir, "input_1x3x32x40.npy")
    np.save(path, np.ascontiguousarray(x))
    return path


def make_dtypes(out_dir):
    from safetensors.torch import save_file

    tensors = {
        "f32": torch.arange(6, dtype=torch.float32).reshape(2, 3),
        "f16": torch.tensor([0.5, -1.0, 2.0, 65504.0], dtype=torch.float16),
        "bf16": torch.tensor([1.0, -2.5, 3.0], dtype=torch.bfloat16),
        "i64": torch.tensor(7, dtype=torch.int64),
        "empty": torch.zeros(0, dtype=torch.float32),
    }
    st_path = os.path.join(out_dir, "dtypes.safetensors")
    save_file(tensors, st_path, metadata={"note": "dtype fixture"})
    os.chmod(st_path, 0o644)
    expected = {
        "metadata": {"note": "dtype fixture"},
        "tensors": {
            k: {
                "dtype": DTYPE_NAMES[t.dtype],
                "shape": list(t.shape),
                "values": [float(v) for v in t.to(torch.float64).reshape(-1).tolist()],
            }
            for k, t in tensors.items()
        },
    }
    json_path = os.path.join(out_dir, "dtypes.json")
    with open(json_path, "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
    return st_path, json_path


def main(argv=None) -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=os.path.join(here, "..", "Tests", "Fixtures"))
    p.add_argument("--only", nargs="*", help="case names to (re)make; default all")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch default)")
    args = p.parse_args(argv)

    out_dir = os.path.normpath(args.out)
    os.makedirs(out_dir, exist_ok=True)
    models.strict_fp32()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch_v, timm_v = versions()
    print(f"torch {torch_v}, timm {timm_v}, writing to {out_dir}")

    wanted = set(args.only) if args.only else None
    if wanted:
        unknown = wanted - {c[0] for c in CASES} - {"input", "dtypes"}
        if unknown:
            p.error(f"unknown case(s): {sorted(unknown)}")
    for case in CASES:
        if wanted and case[0] not in wanted:
            continue
        t0 = time.time()
        s = make_case(*case[:6], out_dir, torch_v, timm_v, timm_model=case[6] if len(case) > 6 else None)
        warn = ""
        if not s["finite"]:
            warn = "  WARNING: non-finite logits"
        elif s["max_abs"] > 1e4:
            warn = "  WARNING: huge logits"
        elif s["range"] < 1e-3 * max(s["max_abs"], 1e-30):
            warn = "  WARNING: logits nearly all equal"
        if s["f64_rel"] > 1e-3:
            warn += "  WARNING: ill-conditioned (float32 vs float64 differ by %.2g of max|logit|)" % s["f64_rel"]
        print(
            f"{case[0]:22s} max|logit| {s['max_abs']:.6g}  min row std {s['std']:.4g}  "
            f"min row range {s['range']:.4g}  |f32-f64|/max {s['f64_rel']:.2g}  {s['bytes']} B  "
            f"{time.time() - t0:.1f}s{warn}",
            flush=True,
        )
    if not wanted or "input" in wanted:
        print("wrote", make_input_npy(out_dir))
    if not wanted or "dtypes" in wanted:
        print("wrote", *make_dtypes(out_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
