#!/usr/bin/env python3
"""Side-by-side latency/throughput of senet-gpu, ONNX Runtime (CPU) and PyTorch (CPU).

All three run the same network with the same synthetic weights (seed 1, see
tools/synthetic.py) on the same synthetic input shape [B, 3, S, S]:

* ONNX Runtime: the PyTorch model exported once to ONNX (opset 17, dynamic
  batch), cached in bench/.cache/; CPU provider, intra-op = --threads,
  inter-op = 1, all graph optimizations, sequential execution.
* PyTorch: eval mode, float32, torch.set_num_threads(--threads),
  torch.inference_mode(), contiguous (not channels-last) input.
* senet-gpu: `senet-gpu bench ... --json`; its own timing is used.

Peers are timed with time.perf_counter around each full call; the median
(and min) of --iterations runs after --warmup runs is reported. Output is
Markdown, ready to paste into BENCHMARKS.md.

Run from anywhere:
    bench/peers.sh                                  # seresnet50, batches 1 and 8
    bench/peers.sh --model legacy_seresnet18 --batches 1,4,8 --json-out /tmp/r.json
    bench/peers.sh --senet-gpu /tmp/fake-senet-gpu  # test the parsing
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache"
DEFAULT_BINARY = ".build/release/senet-gpu"
OPSET = 17
SEED = 1
LATENCY_TARGET = 2.0  # senet-gpu / ORT latency at batch 1: at most this
THROUGHPUT_TARGET = 0.6  # senet-gpu / ORT images/s at batch 8: at least this

sys.path.insert(0, str(ROOT / "tools"))


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="seresnet50", help="seresnetNN, legacy_seresnetNN or senetNN")
    p.add_argument("--batches", default="1,8", help="comma-separated batch sizes")
    p.add_argument("--size", type=int, default=224, help="input height and width")
    p.add_argument("--threads", type=int, default=2, help="CPU threads for ORT and PyTorch")
    p.add_argument("--iterations", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--senet-gpu", default=DEFAULT_BINARY, help="binary; the default one is built if missing")
    p.add_argument("--device", type=int, default=0, help="senet-gpu OpenCL device index")
    p.add_argument("--timeout", type=float, default=1800, help="seconds allowed per senet-gpu run")
    p.add_argument("--json-out", help="also write every number to this JSON file")
    args = p.parse_args(argv)
    args.batch_list = [int(b) for b in args.batches.split(",") if b.strip()]
    if not args.batch_list or min(args.batch_list) < 1 or args.iterations < 1 or args.warmup < 0:
        p.error("batches must be >= 1, iterations >= 1, warmup >= 0")
    return args


def family_depth(name: str) -> tuple[str, int]:
    """Same names as the senet-gpu CLI (longest prefix first)."""
    for prefix, family in (("legacy_seresnet", "legacy"), ("seresnet", "timm"), ("senet", "classic")):
        if name.startswith(prefix) and name[len(prefix):].isdigit():
            return family, int(name[len(prefix):])
    sys.exit(f"peers: unknown model {name!r}; use seresnetNN, legacy_seresnetNN or senetNN")


# --- machine and versions ---------------------------------------------------

def run_text(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def pocl_version() -> str:
    m = re.search(r"Platform Version\s+.*?(PoCL \S+)", run_text(["clinfo"]))
    if m:
        return m.group(1)
    m = re.search(r"^Version: (\S+)", run_text(["dpkg", "-s", "pocl-opencl-icd"]), re.M)
    return f"PoCL {m.group(1)}" if m else "PoCL unknown"


# --- model and peers ----------------------------------------------------------

def build_torch_model(name: str):
    import models
    import synthetic

    family, depth = family_depth(name)
    model = models.build_model(family, depth)
    synthetic.fill_model_(model, SEED)
    return model.float().eval()


def onnx_path(name: str, size: int, model, torch) -> Path:
    """Export once per (model, size, torch, tools sources); reuse the cached file."""
    h = hashlib.sha256(f"{name} {size} {OPSET} {SEED} {torch.__version__}".encode())
    for f in ("models.py", "synthetic.py", "classic_senet.py"):
        h.update((ROOT / "tools" / f).read_bytes())
    path = CACHE / f"{name}-{size}-{h.hexdigest()[:12]}.onnx"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        print(f"exporting {name} to {path.relative_to(ROOT)} ...", file=sys.stderr)
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (torch.zeros(1, 3, size, size),), str(tmp), opset_version=OPSET,
                              dynamo=False, input_names=["input"], output_names=["output"],
                              dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
        tmp.replace(path)
    return path


def time_calls(fn, iterations: int, warmup: int) -> tuple[list[float], object]:
    """Milliseconds of each timed call, and the last result."""
    out = None
    for _ in range(warmup):
        out = fn()
    times = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return times, out


def stats(batch: int, times: list[float]) -> dict:
    med = statistics.median(times)
    return {"medianMs": med, "minMs": min(times), "maxMs": max(times),
            "msPerImage": med / batch, "imagesPerSecond": batch * 1e3 / med}


# --- senet-gpu ------------------------------------------------------------------

def ensure_binary(path: str) -> str | None:
    binary = Path(path) if os.path.isabs(path) else ROOT / path
    if not binary.exists() and path == DEFAULT_BINARY:
        print("building senet-gpu (swift build -c release --product senet-gpu) ...", file=sys.stderr)
        if subprocess.run(["swift", "build", "-c", "release", "--product", "senet-gpu"], cwd=ROOT).returncode:
            print("peers: swift build failed", file=sys.stderr)
    if not binary.exists():
        print(f"peers: senet-gpu binary {binary} not found; reporting peers only", file=sys.stderr)
        return None
    return str(binary)


def parse_json(text: str) -> dict | None:
    """The JSON object in the output: the whole text, else the last line that parses."""
    for chunk in [text] + text.strip().splitlines()[::-1]:
        try:
            obj = json.loads(chunk)
            if isinstance(obj, dict):
                return obj
        except ValueError:
            continue
    return None


def run_senet_gpu(binary: str, args, batch: int) -> dict | None:
    cmd = [binary, "bench", "--device", str(args.device), "--model", args.model, "--batch", str(batch),
           "--size", str(args.size), "--iterations", str(args.iterations), "--warmup", str(args.warmup), "--json"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout, cwd=ROOT)
    except (OSError, subprocess.TimeoutExpired) as err:
        print(f"peers: senet-gpu failed: {err}", file=sys.stderr)
        return None
    result = parse_json(proc.stdout) if proc.returncode == 0 else None
    if result is None or not isinstance(result.get("medianMs"), (int, float)):
        print(f"peers: `{' '.join(cmd)}` exited {proc.returncode} without usable JSON", file=sys.stderr)
        for label, text in (("stderr", proc.stderr), ("stdout", proc.stdout)):
            if text.strip():
                print(f"--- senet-gpu {label} ---\n{text.rstrip()}", file=sys.stderr)
        return None
    med = float(result["medianMs"])
    result.setdefault("minMs", med)
    result["msPerImage"] = med / batch
    result.setdefault("imagesPerSecond", batch * 1e3 / med)
    return result


# --- report ------------------------------------------------------------------------

def verdict(ratio: float, target: float, at_most: bool) -> str:
    if (ratio <= target) if at_most else (ratio >= target):
        return "target met"
    return f"missed by {ratio / target if at_most else target / ratio:.2f}×"


def main(argv=None) -> int:
    args = parse_args(argv)
    family_depth(args.model)
    load = os.getloadavg()[0]
    if load > 0.5:
        print(f"peers: warning: load average {load:.2f} before the run; other work will skew the timings",
              file=sys.stderr)
    import numpy as np
    import onnxruntime as ort
    import torch

    import models
    import synthetic

    torch.set_num_threads(args.threads)
    models.strict_fp32()
    model = build_torch_model(args.model)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = args.threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(onnx_path(args.model, args.size, model, torch)), opts,
                                   providers=["CPUExecutionProvider"])
    binary = ensure_binary(args.senet_gpu)
    sg_version = run_text([binary, "--version"]).strip() if binary else "missing"

    results = []
    for batch in args.batch_list:
        x = synthetic.synthetic_input([batch, 3, args.size, args.size], SEED)
        xt = torch.from_numpy(x).contiguous()
        row = {"batch": batch, "senetGpu": run_senet_gpu(binary, args, batch) if binary else None}
        times, ort_out = time_calls(lambda: session.run(None, {"input": x})[0], args.iterations, args.warmup)
        row["onnxruntime"] = stats(batch, times)

        def torch_call():
            with torch.inference_mode():
                return model(xt)

        times, torch_out = time_calls(torch_call, args.iterations, args.warmup)
        row["pytorch"] = stats(batch, times)
        row["ortVsTorchMaxAbsDiff"] = float(np.max(np.abs(ort_out - torch_out.numpy())))
        results.append(row)

    now = datetime.datetime.now().astimezone()
    machine = f"{cpu_model()}, {os.cpu_count()} cores"
    versions = {"torch": torch.__version__, "onnxruntime": ort.__version__, "pocl": pocl_version(),
                "senetGpu": sg_version, "python": platform.python_version()}
    print(f"### {args.model}, {args.size}×{args.size}, synthetic weights (seed {SEED}) — {now:%Y-%m-%d %H:%M %Z}\n")
    print(f"- Machine: {machine}; ORT/PyTorch on {args.threads} threads; senet-gpu on OpenCL device {args.device}")
    print(f"- Versions: torch {versions['torch']}, onnxruntime {versions['onnxruntime']}, {versions['pocl']}, "
          f"senet-gpu {sg_version}, Python {versions['python']}")
    print(f"- Median (and min) of {args.iterations} timed calls after {args.warmup} warm-up calls; peers timed with "
          "time.perf_counter around each full call, senet-gpu by its own `bench --json`\n")
    print("| batch | engine | median ms | min ms | ms / image | images/s |")
    print("|---:|---|---:|---:|---:|---:|")
    for row in results:
        for key, label in (("senetGpu", "senet-gpu"), ("onnxruntime", "ONNX Runtime"), ("pytorch", "PyTorch")):
            r = row[key]
            if r is None:
                print(f"| {row['batch']} | {label} | missing | | | |")
            else:
                print(f"| {row['batch']} | {label} | {r['medianMs']:.2f} | {r['minMs']:.2f} | "
                      f"{r['msPerImage']:.2f} | {r['imagesPerSecond']:.2f} |")
    print()
    for row in results:
        b, sg, ref = row["batch"], row["senetGpu"], row["onnxruntime"]
        line = f"- batch {b}: ORT vs PyTorch max |Δ| {row['ortVsTorchMaxAbsDiff']:.2e}"
        if sg is None:
            print(line + "; senet-gpu missing")
            continue
        lat = sg["medianMs"] / ref["medianMs"]
        thr = sg["imagesPerSecond"] / ref["imagesPerSecond"]
        line += f"; senet-gpu/ORT latency {lat:.2f}×"
        if b == 1:
            line += f" (target ≤ {LATENCY_TARGET}: {verdict(lat, LATENCY_TARGET, True)})"
        line += f", throughput {thr:.2f}×"
        if b == 8:
            line += f" (target ≥ {THROUGHPUT_TARGET}: {verdict(thr, THROUGHPUT_TARGET, False)})"
        extras = [f"{k} {sg[k]:.4g}" for k in ("gflops", "ceilingGflops", "coldStartSeconds", "warmStartSeconds")
                  if isinstance(sg.get(k), (int, float))]
        print(line + (f"; senet-gpu {', '.join(extras)}" if extras else ""))

    if args.json_out:
        report = {"date": now.isoformat(timespec="seconds"), "machine": machine, "versions": versions,
                  "model": args.model, "size": args.size, "threads": args.threads, "iterations": args.iterations,
                  "warmup": args.warmup, "device": args.device, "loadBefore": load, "results": results}
        Path(args.json_out).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
