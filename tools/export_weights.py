#!/usr/bin/env python3
"""Write an SE-ResNet state_dict as a .safetensors file for senet-gpu.

Either loads a checkpoint (.pth / .pt / .safetensors) into the named
architecture, checking every key and shape, or fills the architecture with
the deterministic synthetic weights of tools/synthetic.py. Never downloads
anything: timm models are built with pretrained=False.

Examples:
  export_weights.py --family timm --depth 50 --checkpoint seresnet50.pth -o se50.safetensors
  export_weights.py --family legacy --depth 18 --synthetic-seed 1 -o legacy18.safetensors
  export_weights.py --timm-name seresnet152d --checkpoint w.safetensors -o se152d.safetensors
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Dict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import models  # noqa: E402
import synthetic  # noqa: E402


def read_checkpoint(path: str) -> Dict[str, torch.Tensor]:
    if path.endswith(".safetensors"):
        from safetensors.torch import load_file

        obj = load_file(path, device="cpu")
    else:
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # e.g. a pickle holding more than tensors
            raise SystemExit(
                f"error: could not load {path} with weights_only=True ({err}).\n"
                "Re-save it as a plain state_dict, e.g. torch.save(model.state_dict(), ...)."
            )
    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    if isinstance(obj, dict):
        for wrapper in ("state_dict", "model", "model_state_dict"):
            if wrapper in obj and isinstance(obj[wrapper], dict):
                obj = obj[wrapper]
                break
    if not isinstance(obj, dict):
        raise SystemExit(f"error: {path} holds a {type(obj).__name__}, not a state_dict")
    state = {}
    for key, value in obj.items():
        if not isinstance(value, torch.Tensor):
            continue
        if key.startswith("module."):
            key = key[len("module."):]
        state[key] = value
    return state


def load_checkpoint(model: torch.nn.Module, path: str) -> None:
    state = read_checkpoint(path)
    expected = model.state_dict()
    missing = [k for k in expected if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in expected]
    bad_shape = [
        f"{k}: checkpoint {list(state[k].shape)} vs model {list(v.shape)}"
        for k, v in expected.items()
        if k in state and tuple(state[k].shape) != tuple(v.shape)
    ]
    if missing or unexpected or bad_shape:
        lines = [f"error: {path} does not match the architecture"]
        for title, items in (("missing", missing), ("unexpected", unexpected), ("wrong shape", bad_shape)):
            if items:
                lines.append(f"  {title} ({len(items)}): " + ", ".join(items[:8]) + (" ..." if len(items) > 8 else ""))
        raise SystemExit("\n".join(lines))
    model.load_state_dict(state, strict=False)


DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def export(model: torch.nn.Module, out: str, metadata: Dict[str, str], dtype: str = "float32") -> int:
    from safetensors.torch import save_file

    tensors = {}
    for key, tensor in model.state_dict().items():
        t = tensor.detach().cpu()
        if key.endswith("num_batches_tracked"):
            t = t.to(torch.int64)
        else:
            t = t.to(DTYPES[dtype])
        tensors[key] = t.contiguous().clone()
    save_file(tensors, out, metadata=metadata)
    os.chmod(out, 0o644)
    return len(tensors)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--family", choices=models.FAMILIES)
    p.add_argument("--depth", type=int, choices=models.DEPTHS)
    p.add_argument("--timm-name", help="any timm model name instead of --family/--depth (built with pretrained=False)")
    p.add_argument("--num-classes", type=int, default=1000)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", help="state_dict file: .pth, .pt or .safetensors")
    src.add_argument("--synthetic-seed", type=int, help="fill with synthetic weights from this base seed")
    p.add_argument("-o", "--output", required=True, help="output .safetensors file")
    p.add_argument(
        "--dtype", choices=sorted(DTYPES), default="float32",
        help="stored float type (senet-gpu reads all three; fp16 and bf16 files are half the size)")
    args = p.parse_args(argv)

    if args.timm_name:
        if args.family == "classic":
            p.error("--timm-name cannot be combined with --family classic")
        family, depth = models.family_depth_of_timm_name(args.timm_name)
        family = args.family or family
        depth = args.depth or depth
    else:
        if args.family is None or args.depth is None:
            p.error("give --family and --depth, or --timm-name")
        family, depth = args.family, args.depth
    if args.num_classes < 1:
        p.error("--num-classes must be positive")

    model = models.build_model(family, depth, args.num_classes, timm_model=args.timm_name)
    if args.checkpoint:
        load_checkpoint(model, args.checkpoint)
        source = f"checkpoint:{os.path.basename(args.checkpoint)}"
    else:
        synthetic.fill_model_(model, args.synthetic_seed)
        source = f"synthetic:{args.synthetic_seed}"

    metadata = {
        "family": family,
        "depth": str(depth),
        "num_classes": str(args.num_classes),
        "source": source,
    }
    if args.timm_name:
        metadata["timm_name"] = args.timm_name
    count = export(model, args.output, metadata, args.dtype)
    size = os.path.getsize(args.output)
    print(f"wrote {args.output}: {count} tensors, {size} bytes, metadata {metadata}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
