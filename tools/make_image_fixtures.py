#!/usr/bin/env python3
"""Regenerate Tests/Fixtures/images/: small JPEG and PNG files and the pixels PIL decodes them to.

For each decodable image NAME.EXT the folder holds NAME.EXT.rgb, the bytes of
`Image.open(path).convert("RGB")` (height * width * 3 uint8, row-major, RGB
interleaved), and expected.json maps NAME.EXT to {width, height}. The Swift
decoder (Sources/SENetImages/Image/) must reproduce these bytes exactly.

One deliberate exception: PIL opens 16-bit grey PNGs as mode "I;16" and its
convert("RGB") clips each value at 255, so almost every pixel turns white. We
take the high byte instead, as PIL itself does for 16-bit RGB and RGBA, and
grey16.png.rgb holds that (the script checks that PIL still clips, so a change in
PIL shows up here).

PIL cannot write 16-bit colour, interlaced or gAMA-tagged PNGs, so those are
written by the small PNG encoder below.

Usage:  python3 tools/make_image_fixtures.py [--out Tests/Fixtures/images]
Needs:  pip install pillow numpy (made with Pillow 13.0.0, libjpeg-turbo 3.2.0, numpy 2.4.6)
"""

from __future__ import annotations

import argparse
import io
import json
import os
import struct
import zlib

import numpy as np
from PIL import Image

SEED = 7


def gradient(height: int, width: int, channels: int, rng: np.random.Generator, peak: float) -> np.ndarray:
    """Smooth ramps in different directions per channel plus uniform noise, as float64 in [0, peak]."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    planes = []
    for c in range(channels):
        angle = 0.7 + 1.9 * c
        ramp = (np.cos(angle) * x / width + np.sin(angle) * y / height + 1.0) / 2.0
        wave = 0.15 * np.sin(x * (0.3 + 0.1 * c)) * np.cos(y * 0.25)
        planes.append(ramp + wave + rng.uniform(-0.08, 0.08, size=(height, width)))
    image = np.stack(planes, axis=-1)
    image = (image - image.min()) / (image.max() - image.min())
    return image * peak


def u8(image: np.ndarray) -> np.ndarray:
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


def u16(image: np.ndarray) -> np.ndarray:
    return np.clip(np.round(image), 0, 65535).astype(np.uint16)


# MARK: a minimal PNG encoder (filter type 0, optional Adam7 and gAMA)


def chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def encode_png(pixels: np.ndarray, color_type: int, interlaced: bool = False, gamma: int | None = None) -> bytes:
    """pixels: [H, W, C] uint8 or uint16 (big-endian on disk); color_type 0, 2, 4 or 6."""
    height, width = pixels.shape[:2]
    depth = 16 if pixels.dtype == np.uint16 else 8
    big_endian = pixels.astype(">u2") if depth == 16 else pixels

    def scanlines(sub: np.ndarray) -> bytes:
        if sub.shape[0] == 0 or sub.shape[1] == 0:
            return b""
        return b"".join(b"\x00" + row.tobytes() for row in sub)

    if interlaced:
        raw = b"".join(scanlines(big_endian[y0::dy, x0::dx]) for x0, y0, dx, dy in ADAM7)
    else:
        raw = scanlines(big_endian)
    header = struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0, 1 if interlaced else 0)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
    if gamma is not None:
        out += chunk(b"gAMA", struct.pack(">I", gamma))
    return out + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


# MARK: the fixtures


def make(out: str) -> None:
    rng = np.random.default_rng(SEED)
    files: dict[str, bytes] = {}
    expected_override: dict[str, np.ndarray] = {}

    def pil_bytes(image: Image.Image, fmt: str, **options) -> bytes:
        buffer = io.BytesIO()
        image.save(buffer, fmt, **options)
        return buffer.getvalue()

    rgb = u8(gradient(30, 40, 3, rng, 255))
    files["rgb.png"] = pil_bytes(Image.fromarray(rgb, "RGB"), "PNG")
    files["grey.png"] = pil_bytes(Image.fromarray(u8(gradient(29, 37, 1, rng, 255))[..., 0], "L"), "PNG")

    # Alpha goes down to 0 while the colours stay arbitrary: compositing would change them, dropping does not.
    rgba = u8(gradient(30, 40, 4, rng, 255))
    files["rgba.png"] = pil_bytes(Image.fromarray(rgba, "RGBA"), "PNG")
    files["grey_alpha.png"] = pil_bytes(Image.fromarray(u8(gradient(23, 31, 2, rng, 255)), "LA"), "PNG")

    # Palette with a tRNS chunk that marks one entry fully transparent: PIL's convert("RGB") ignores it.
    palette = Image.fromarray(u8(gradient(30, 40, 3, rng, 255)), "RGB").quantize(colors=60)
    files["palette.png"] = pil_bytes(palette, "PNG", transparency=3)

    # Low bit depths: libpng and PIL both widen by repeating the bits (1-bit: 0/255, 2-bit: x * 0x55).
    low = Image.fromarray(u8(gradient(19, 27, 1, rng, 255))[..., 0], "L")
    files["grey1.png"] = pil_bytes(low.convert("1"), "PNG")
    files["grey2.png"] = pil_bytes(low, "PNG", bits=2)
    small_palette = Image.fromarray(u8(gradient(19, 27, 3, rng, 255)), "RGB").quantize(colors=12)
    files["palette4.png"] = pil_bytes(small_palette, "PNG", transparency=2)

    files["rgb16.png"] = encode_png(u16(gradient(27, 35, 3, rng, 65535)), color_type=2)
    files["rgba16.png"] = encode_png(u16(gradient(21, 26, 4, rng, 65535)), color_type=6)
    grey16 = u16(gradient(25, 33, 1, rng, 65535))
    files["grey16.png"] = encode_png(grey16, color_type=0)
    expected_override["grey16.png"] = np.repeat((grey16 >> 8).astype(np.uint8), 3, axis=-1)

    files["interlaced.png"] = encode_png(u8(gradient(29, 39, 3, rng, 255)), color_type=2, interlaced=True)
    # gAMA 1.0: a gamma-correcting decoder would change every pixel; PIL ignores gAMA, so must we.
    files["gamma.png"] = encode_png(u8(gradient(20, 24, 3, rng, 255)), color_type=2, gamma=100000)

    files["baseline.jpg"] = pil_bytes(Image.fromarray(rgb, "RGB"), "JPEG", quality=90, subsampling=2)
    odd = Image.fromarray(u8(gradient(29, 37, 3, rng, 255)), "RGB")
    files["progressive.jpg"] = pil_bytes(odd, "JPEG", quality=85, subsampling=2, progressive=True)
    files["yuv422.jpg"] = pil_bytes(odd, "JPEG", quality=80, subsampling=1)
    files["grey.jpg"] = pil_bytes(Image.fromarray(u8(gradient(30, 40, 1, rng, 255))[..., 0], "L"), "JPEG", quality=90)
    files["cmyk.jpg"] = pil_bytes(Image.fromarray(u8(gradient(16, 16, 4, rng, 255)), "CMYK"), "JPEG", quality=90)

    files["truncated.png"] = files["rgb.png"][: len(files["rgb.png"]) // 2]
    files["truncated.jpg"] = files["baseline.jpg"][: len(files["baseline.jpg"]) // 2]
    files["not_an_image.png"] = b"This is a text file with a .png extension, not an image.\n"

    os.makedirs(out, exist_ok=True)
    for name in os.listdir(out):
        os.remove(os.path.join(out, name))
    expected: dict[str, dict[str, int]] = {}
    for name, data in sorted(files.items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        if name.startswith(("truncated", "not_an_image", "cmyk")):
            check_pil_rejects_or_converts(name, data)
            continue
        with Image.open(io.BytesIO(data)) as image:
            pixels = np.asarray(image.convert("RGB"))
            if name == "grey16.png":
                assert image.mode == "I;16", image.mode
                assert np.array_equal(pixels[..., 0], np.minimum(grey16[..., 0], 255)), "PIL no longer clips I;16"
        pixels = expected_override.get(name, pixels)
        assert pixels.dtype == np.uint8 and pixels.shape[2] == 3
        with open(os.path.join(out, name + ".rgb"), "wb") as f:
            f.write(np.ascontiguousarray(pixels).tobytes())
        expected[name] = {"width": int(pixels.shape[1]), "height": int(pixels.shape[0])}
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f, indent=2, sort_keys=True)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(out, name)) for name in os.listdir(out))
    print(f"wrote {len(os.listdir(out))} files, {total} bytes, to {out}")


def check_pil_rejects_or_converts(name: str, data: bytes) -> None:
    """The files we reject: PIL rejects the broken ones too, and opens the CMYK one as CMYK."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            mode = image.mode
            image.load()
    except Exception:  # noqa: BLE001 - any PIL failure is what we want here
        assert not name.startswith("cmyk"), name
        return
    assert name.startswith("cmyk") and mode == "CMYK", f"PIL decoded {name}"


def main() -> None:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.path.join(root, "Tests", "Fixtures", "images"))
    make(parser.parse_args().out)


if __name__ == "__main__":
    main()
