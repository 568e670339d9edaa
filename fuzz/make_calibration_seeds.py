#!/usr/bin/env python3
"""Seeds for fuzz/CalibrationFuzzer.swift: calibration files for its four-op model `tiny`, one
valid and others each broken in one way, written to .fuzz/seeds/calibration/."""
import copy
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def valid():
    return {
        "format": "senet-gpu-int8-calibration", "version": 1, "model": "tiny",
        "calibration": {"images": 2, "input_shape": [2, 3, 32, 32], "origin": "seeds"},
        "ops": [
            {"name": "stem.conv", "kind": "conv", "precision": "int8", "reason": "int8",
             "weight_scales": [0.01, 0.02, 0.5, 1e-7], "weight_error": 0.003, "input_scale": 0.02,
             "input_method": "p99.99", "input_error": 0.01, "input_non_negative": False},
            {"name": "stem.pool", "kind": "maxpool", "precision": "fp32", "reason": "max commutes"},
            {"name": "fc", "kind": "linear", "precision": "int8", "reason": "int8",
             "weight_scales": [0.1, 0.2, 0.3], "input_scale": 0.5, "input_non_negative": True},
            {"name": "softmax", "kind": "softmax", "precision": "fp32", "reason": "probabilities"},
        ],
    }


def main():
    out = os.path.join(ROOT, ".fuzz/seeds/calibration")
    os.makedirs(out, exist_ok=True)
    seeds = {"valid": valid()}
    for name, change in {
        "wrong_model": lambda f: f.update(model="seresnet18"),
        "missing_op": lambda f: f["ops"].pop(1),
        "int8_pool": lambda f: f["ops"][1].update(precision="int8"),
        "short_scales": lambda f: f["ops"][2].update(weight_scales=[0.1]),
        "negative_scale": lambda f: f["ops"][0].update(input_scale=-1),
        "version_2": lambda f: f.update(version=2),
        "no_ops": lambda f: f.pop("ops"),
    }.items():
        broken = copy.deepcopy(valid())
        change(broken)
        seeds[name] = broken
    for name, content in seeds.items():
        with open(os.path.join(out, name + ".json"), "w") as f:
            json.dump(content, f, indent=1)
    print("wrote %d seeds to %s" % (len(seeds), out))


if __name__ == "__main__":
    main()
