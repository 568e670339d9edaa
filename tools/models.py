"""Building the three SE-ResNet families for the tools (never downloads weights)."""

from __future__ import annotations

import re
import sys
from typing import Tuple

import torch

FAMILIES = ("timm", "legacy", "classic")
DEPTHS = (18, 34, 50, 101, 152)

# Keeps the op definitions below alive for the life of the process.
_TORCHVISION_SHIM = None


def _shim_torchvision_ops() -> None:
    """Let a torchvision whose C++ extension cannot load be imported anyway.

    A torchvision wheel built for a different torch (for example the PyPI
    CUDA wheel next to a CPU-only torch) cannot load its `_C` library, and
    torchvision 0.28 then fails at import with "operator torchvision::nms
    does not exist" because it registers fake kernels for `nms`/`qnms`
    without checking that the ops exist. Defining those two schemas first
    lets the pure-Python parts (all that timm's SE-ResNets need) import.
    The ops themselves stay unimplemented.
    """
    global _TORCHVISION_SHIM
    if _TORCHVISION_SHIM is not None:
        return
    lib = torch.library.Library("torchvision", "FRAGMENT")
    for op in ("nms", "qnms"):
        if not hasattr(torch.ops.torchvision, op):
            lib.define(f"{op}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _TORCHVISION_SHIM = lib


def import_timm():
    try:
        import timm  # noqa: F401
    except RuntimeError as err:
        if "torchvision::" not in str(err):
            raise
        for name in [m for m in sys.modules if m.split(".")[0] in ("torchvision", "timm")]:
            del sys.modules[name]
        _shim_torchvision_ops()
        import timm  # noqa: F401
    return sys.modules["timm"]


def timm_name(family: str, depth: int) -> str:
    if family == "timm":
        return f"seresnet{depth}"
    if family == "legacy":
        return f"legacy_seresnet{depth}"
    raise ValueError(f"family {family!r} is not a timm family")


def family_depth_of_timm_name(name: str) -> Tuple[str, int]:
    """Best-effort (family, depth) of a timm model name for metadata."""
    family = "legacy" if name.startswith("legacy_") else "timm"
    m = re.search(r"(\d+)", name)
    return family, (int(m.group(1)) if m else 0)


def build_model(family: str, depth: int, num_classes: int = 1000, timm_model: str | None = None) -> torch.nn.Module:
    """An eval-mode float32 model on the CPU with untouched (random) weights."""
    if timm_model is not None:
        timm = import_timm()
        model = timm.create_model(timm_model, pretrained=False, num_classes=num_classes)
    elif family == "classic":
        from classic_senet import classic_senet

        model = classic_senet(depth, num_classes)
    elif family in ("timm", "legacy"):
        if depth not in DEPTHS:
            raise ValueError(f"depth must be one of {DEPTHS}, got {depth}")
        timm = import_timm()
        model = timm.create_model(timm_name(family, depth), pretrained=False, num_classes=num_classes)
    else:
        raise ValueError(f"unknown family {family!r}; expected one of {FAMILIES}")
    return model.float().eval()


def logits_of(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    if hasattr(model, "forward_logits"):
        return model.forward_logits(x)
    return model(x)


def strict_fp32() -> None:
    """No reduced-precision shortcuts (TF32, bf16 matmul) anywhere."""
    torch.set_float32_matmul_precision("highest")
    if hasattr(torch.backends, "cuda") and hasattr(torch.backends.cuda, "matmul"):
        try:
            torch.backends.cuda.matmul.allow_tf32 = False
        except Exception:
            pass
    if hasattr(torch.backends, "cudnn"):
        try:
            torch.backends.cudnn.allow_tf32 = False
        except Exception:
            pass
    for backend in ("mkldnn",):
        mod = getattr(torch.backends, backend, None)
        if mod is not None and hasattr(mod, "fp32_precision"):
            try:
                mod.fp32_precision = "ieee"
            except Exception:
                pass
