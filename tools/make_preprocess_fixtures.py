#!/usr/bin/env python3
"""Make Tests/Fixtures/preprocess/: images and what PIL/torchvision make of them.

For each source image: torchvision's Resize(R) (PIL bilinear) + CenterCrop(C) + ToTensor +
Normalize(ImageNet mean/std) as float32 .npy, for the settings listed below. Also a 224x224
PNG with the logits of timm seresnet18 (synthetic weights, seed 1) on ToTensor + Normalize.

Usage: python3 tools/make_preprocess_fixtures.py
"""
import json
import os
import sys

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import models  # noqa: E402

models.import_timm()  # Applies the torchvision workaround before torchvision is used.
from torchvision import transforms  # noqa: E402
import synthetic  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "preprocess")
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def photo_like(width, height, seed):
    """Smooth gradients, a disc and noise: enough structure that resampling errors show."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    r = 128 + 100 * np.sin(x / 17.0) * np.cos(y / 23.0)
    g = 255 * x / width
    b = np.where((x - width / 2) ** 2 + (y - height / 2) ** 2 < (min(width, height) / 3) ** 2, 220, 40)
    image = np.stack([r, g, b], axis=-1) + rng.normal(0, 12, (height, width, 3))
    return Image.fromarray(np.clip(image, 0, 255).astype(np.uint8), "RGB")


def pipeline(resize, crop):
    return transforms.Compose([
        transforms.Resize(resize, interpolation=transforms.InterpolationMode.BILINEAR),
        transforms.CenterCrop(crop),
        transforms.ToTensor(),
        transforms.Normalize(MEAN, STD),
    ])


def main():
    os.makedirs(OUT, exist_ok=True)
    cases = []
    sources = {"wide.jpg": photo_like(300, 200, 1), "tall.png": photo_like(97, 131, 2), "odd.png": photo_like(257, 255, 3)}
    for name, image in sources.items():
        path = os.path.join(OUT, name)
        image.save(path, quality=92) if name.endswith(".jpg") else image.save(path)
        decoded = Image.open(path).convert("RGB")
        settings = [(64, 56)] if name != "wide.jpg" else [(256, 224), (64, 56)]
        for resize, crop in settings:
            tensor = pipeline(resize, crop)(decoded).numpy().astype(np.float32)
            out = f"{name}.r{resize}c{crop}.npy"
            np.save(os.path.join(OUT, out), tensor)
            cases.append({"image": name, "resize": resize, "crop": crop, "expected": out})

    # A 224x224 PNG through seresnet18 with ToTensor + Normalize only.
    square = photo_like(224, 224, 4)
    square.save(os.path.join(OUT, "square224.png"))
    tensor = transforms.Compose([transforms.ToTensor(), transforms.Normalize(MEAN, STD)])(
        Image.open(os.path.join(OUT, "square224.png")).convert("RGB"))
    models.strict_fp32()
    model = models.build_model("timm", 18, 1000)
    synthetic.fill_model_(model, 1)
    model.eval()
    with torch.no_grad():
        logits = models.logits_of(model, tensor.unsqueeze(0)).numpy().astype(np.float32)
    np.save(os.path.join(OUT, "square224.seresnet18.logits.npy"), logits)
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump({"cases": cases, "square": {"image": "square224.png", "model": "seresnet18", "weightSeed": 1,
                                              "logits": "square224.seresnet18.logits.npy"}}, f, indent=1)
    print("wrote", len(cases), "cases to", OUT)


if __name__ == "__main__":
    main()
