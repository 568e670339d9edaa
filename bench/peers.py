#!/usr/bin/env python3
"""Interleaved rounds of senet-gpu against ONNX Runtime, OpenVINO and PyTorch (CPU).

All engines run the same network with the same synthetic weights (seed 1, see
tools/synthetic.py) on the same synthetic input shape [B, 3, S, S]:

* ONNX Runtime: the PyTorch model exported once to ONNX (opset 17, dynamic
  batch), cached in bench/.cache/; CPU provider, intra-op = --threads,
  inter-op = 1, all graph optimizations, sequential execution.
* OpenVINO (when installed; --no-openvino leaves it out): the same ONNX file,
  reshaped to each static batch, on the CPU plugin with fp32 forced
  (INFERENCE_PRECISION_HINT=f32: it would otherwise run bf16 on AMX hosts),
  INFERENCE_NUM_THREADS = --threads, one stream, PERFORMANCE_HINT=LATENCY.
* PyTorch: eval mode, float32, torch.set_num_threads(--threads),
  torch.inference_mode(), contiguous (not channels-last) input.
* senet-gpu: one `senet-gpu bench ... --json` child process per round and
  OpenCL device (--devices); its own `medianMs` is used.

For each batch size, --rounds rounds are run. In each round every engine does
--warmup untimed calls, then --iterations timed calls (peers: time.perf_counter
around each full call), and gives its median. The engine order alternates:
senet-gpu device(s), ORT, OpenVINO, PyTorch in even rounds; the reverse in odd rounds.
Each round gives the ratios senet-gpu/ORT (and /PyTorch) of latency and of
throughput; the quoted number is the median of the per-round ratios, with the
lowest and highest round beside it. Engines' ms are medians of round medians.

Output is Markdown (reproducing command first, link to the raw JSON last);
every timing, command and version goes to --json-out.

Run from anywhere:
    bench/peers.sh                                  # seresnet50, batches 1 and 8, 5 rounds, device 0
    bench/peers.sh --model seresnet18 --size 64 --batches 1,2 --rounds 2 --iterations 3 --warmup 1
    bench/peers.sh --devices 0,1 --kernel-family gpu --senet-gpu-args="--cpu-ops excite --no-cache"
    bench/peers.sh --senet-gpu /tmp/fake-senet-gpu  # test the parsing
    bench/peers.sh --self-test                      # pure-Python tests (bench/test_peers.py)
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache"
RESULTS = ROOT / "bench" / "results"
OPSET = 17
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "bench"))

from peers_report import (  # noqa: E402  (re-exported: bench/test_peers.py uses them as peers.X)
    LATENCY_AIM, LATENCY_BATCH, LATENCY_TARGET, OPENVINO, ORT, SEED, THROUGHPUT_AIM, THROUGHPUT_BATCH, THROUGHPUT_TARGET, TORCH,
    display_path, markdown, round_order, stats, summarise, target_line, verdict,
)
from peers_senet import (  # noqa: E402  (re-exported likewise)
    DEFAULT_BINARY, EXPECTED_SENET_GPU_KEYS, binary_identity, bench_flags, ensure_binary, parse_json, run_rounds,
    run_senet_gpu, senet_gpu_command,
)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="seresnet50", help="seresnetNN, legacy_seresnetNN or senetNN")
    p.add_argument("--batches", default="1,8", help="comma-separated batch sizes")
    p.add_argument("--size", type=int, default=224, help="input height and width")
    p.add_argument("--threads", type=int, default=2, help="CPU threads for ORT and PyTorch")
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds per batch size")
    p.add_argument("--iterations", type=int, default=20, help="timed calls per engine and round")
    p.add_argument("--warmup", type=int, default=3, help="untimed calls per engine and round")
    p.add_argument("--senet-gpu", default=DEFAULT_BINARY, help="binary; the default one is built if missing")
    p.add_argument("--devices", default="0", help="comma-separated senet-gpu OpenCL device indices")
    p.add_argument("--device", dest="devices", help=argparse.SUPPRESS)  # old spelling
    p.add_argument("--kernel-family", help="passed to senet-gpu bench (auto, cpu or gpu)")
    p.add_argument("--senet-gpu-args", default="", help='extra arguments appended to `senet-gpu bench`, one string; '
                   'write --senet-gpu-args=--no-cache for a single flag')
    p.add_argument("--no-openvino", action="store_true", help="skip OpenVINO (also skipped when not installed)")
    p.add_argument("--no-torch", action="store_true",
                   help="skip PyTorch (torch is then only needed to export a missing ONNX file)")
    p.add_argument("--timeout", type=float, default=1800, help="seconds allowed per senet-gpu run")
    p.add_argument("--json-out", help="raw data file (default bench/results/peers-MODEL-YYYYmmdd-HHMMSS.json)")
    p.add_argument("--self-test", action="store_true", help="run bench/test_peers.py and exit")
    args = p.parse_args(argv)
    if args.self_test:
        return args
    try:
        args.batch_list = [int(b) for b in args.batches.split(",") if b.strip()]
        args.device_list = [int(d) for d in args.devices.split(",") if d.strip()]
    except ValueError:
        p.error("--batches and --devices take comma-separated integers")
    if (not args.batch_list or min(args.batch_list) < 1 or not args.device_list or args.rounds < 1
            or args.iterations < 1 or args.warmup < 0):
        p.error("need batches >= 1, at least one device, rounds >= 1, iterations >= 1, warmup >= 0")
    try:
        args.extra_args = shlex.split(args.senet_gpu_args)
    except ValueError as err:
        p.error(f"--senet-gpu-args: {err}")
    return args


def reproduce_command(args) -> str:
    """Every option spelled out, so later changes of defaults do not change the run."""
    cmd = ["bench/peers.sh", "--model", args.model, "--batches", ",".join(map(str, args.batch_list)),
           "--size", str(args.size), "--threads", str(args.threads), "--rounds", str(args.rounds),
           "--iterations", str(args.iterations), "--warmup", str(args.warmup),
           "--devices", ",".join(map(str, args.device_list)), "--senet-gpu", args.senet_gpu]
    if args.kernel_family:
        cmd += ["--kernel-family", args.kernel_family]
    if args.senet_gpu_args:
        cmd.append(f"--senet-gpu-args={args.senet_gpu_args}")  # the = form also takes a lone "--flag"
    if args.no_openvino:
        cmd.append("--no-openvino")
    if args.no_torch:
        cmd.append("--no-torch")
    return shlex.join(cmd)


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


def opencl_platforms() -> list[str]:
    """'Name: Version' of each OpenCL platform clinfo lists."""
    text = run_text(["clinfo"])
    names = re.findall(r"^\s*Platform Name\s+(.+?)\s*$", text, re.M)
    versions = re.findall(r"^\s*Platform Version\s+(.+?)\s*$", text, re.M)
    return [f"{n}: {v}" for n, v in zip(names, versions)]


def pocl_version(platforms: list[str]) -> str:
    for p in platforms:
        m = re.search(r"(PoCL \S+)", p)
        if m:
            return m.group(1)
    m = re.search(r"^Version: (\S+)", run_text(["dpkg", "-s", "pocl-opencl-icd"]), re.M)
    return f"PoCL {m.group(1)}" if m else "PoCL unknown"


def module_version(name: str) -> str | None:
    try:
        return __import__(name).__version__
    except Exception:
        return None


# --- model and peers ----------------------------------------------------------

def onnx_cache_path(name: str, size: int) -> Path:
    """Keyed by model, size, opset, seed and the tools sources (not the torch version, so that a
    --no-torch run without torch finds it); the exporting versions are in the .json beside it."""
    h = hashlib.sha256(f"{name} {size} {OPSET} {SEED}".encode())
    for f in ("models.py", "synthetic.py", "classic_senet.py"):
        h.update((ROOT / "tools" / f).read_bytes())
    return CACHE / f"{name}-{size}-{h.hexdigest()[:12]}.onnx"


def build_torch_model(name: str):
    import models
    import synthetic

    family, depth = family_depth(name)
    model = models.build_model(family, depth)
    synthetic.fill_model_(model, SEED)
    return model.float().eval()


def export_onnx(path: Path, name: str, size: int, model, torch) -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    print(f"peers: exporting {name} to {path.relative_to(ROOT)} ...", file=sys.stderr)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(1, 3, size, size),), str(tmp), opset_version=OPSET,
                          dynamo=False, input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    meta = {"model": name, "size": size, "opset": OPSET, "seed": SEED, "torch": torch.__version__,
            "onnx": module_version("onnx"), "created": datetime.datetime.now().astimezone().isoformat()}
    path.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")
    tmp.replace(path)


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


def load_onnx(args) -> tuple[Path, object, object]:
    """The cached ONNX path, plus (torch, torch model) when PyTorch is used or had to export."""
    path = onnx_cache_path(args.model, args.size)
    if path.exists() and args.no_torch:
        return path, None, None
    try:
        import torch
    except ImportError:
        if args.no_torch:
            sys.exit(f"peers: no cached ONNX file {display_path(path)} and torch is not installed to export it; "
                     "pip install torch timm")
        sys.exit("peers: PyTorch is not installed; pip install torch timm (or pass --no-torch with a cached ONNX file)")
    import models

    torch.set_num_threads(args.threads)
    models.strict_fp32()
    model = build_torch_model(args.model)
    if not path.exists():
        export_onnx(path, args.model, args.size, model, torch)
    return path, (None if args.no_torch else torch), (None if args.no_torch else model)


def openvino_compiler(path: Path, threads: int):
    """(batch, size) → the ONNX file compiled by OpenVINO for that static input, fp32 forced and
    one stream on `threads` threads; and OpenVINO's version. (None, None) when not installed."""
    try:
        import openvino as ov
    except ImportError:
        print("peers: OpenVINO is not installed (pip install openvino); leaving it out", file=sys.stderr)
        return None, None
    core = ov.Core()
    config = {"INFERENCE_PRECISION_HINT": "f32", "INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1,
              "PERFORMANCE_HINT": "LATENCY"}

    def compile_for(batch: int, size: int):
        model = core.read_model(str(path))
        model.reshape([batch, 3, size, size])
        return core.compile_model(model, "CPU", config)

    return compile_for, ov.__version__


def self_test() -> int:
    import unittest

    sys.path.insert(0, str(ROOT / "bench"))
    suite = unittest.defaultTestLoader.loadTestsFromName("test_peers")
    return 0 if unittest.TextTestRunner(verbosity=1).run(suite).wasSuccessful() else 1


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.self_test:
        return self_test()
    family_depth(args.model)
    load_before = list(os.getloadavg())
    warnings_ = []
    if load_before[0] > 0.5:
        warnings_.append(f"load average {load_before[0]:.2f} before the run; other work skews the timings")
        print(f"peers: warning: {warnings_[-1]}", file=sys.stderr)
    started = datetime.datetime.now().astimezone()
    json_out = Path(args.json_out) if args.json_out else RESULTS / f"peers-{args.model}-{started:%Y%m%d-%H%M%S}.json"

    import numpy as np
    import onnxruntime as ort
    import synthetic

    path, torch, model = load_onnx(args)
    onnx_meta_file = path.with_suffix(".json")
    onnx_meta = json.loads(onnx_meta_file.read_text()) if onnx_meta_file.exists() else None
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = args.threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    compile_openvino, openvino_version = (None, None) if args.no_openvino else openvino_compiler(path, args.threads)

    binary = ensure_binary(args.senet_gpu)
    sg_version = run_text([binary, "--version"]).strip() if binary else "missing"
    flags = bench_flags(binary) if binary else []
    identity = binary_identity(binary) if binary else None
    sg_keys = [f"senet-gpu:{d}" for d in args.device_list] if binary else []
    peers = [ORT] + ([OPENVINO] if compile_openvino else []) + ([TORCH] if torch is not None else [])

    batches = []
    for batch in args.batch_list:
        x = synthetic.synthetic_input([batch, 3, args.size, args.size], SEED)
        last = {}
        engines = {}
        for d, key in zip(args.device_list, sg_keys):
            cmd = senet_gpu_command(binary, args, d, batch, flags)
            expect = {"batch": batch, "iterations": args.iterations}
            engines[key] = (lambda cmd=cmd, expect=expect: run_senet_gpu(cmd, args.timeout, expect))

        def ort_engine():
            times, last[ORT] = time_calls(lambda: session.run(None, {"input": x})[0], args.iterations, args.warmup)
            return {"timesMs": times, **stats(batch, times)}

        engines[ORT] = ort_engine
        if compile_openvino:
            request = compile_openvino(batch, args.size).create_infer_request()

            def openvino_engine():
                times, _ = time_calls(lambda: request.infer({0: x}), args.iterations, args.warmup)
                last[OPENVINO] = request.get_output_tensor(0).data.copy()
                return {"timesMs": times, **stats(batch, times)}

            engines[OPENVINO] = openvino_engine
        if torch is not None:
            xt = torch.from_numpy(x).contiguous()

            def torch_call():
                with torch.inference_mode():
                    return model(xt)

            def torch_engine():
                times, out = time_calls(torch_call, args.iterations, args.warmup)
                last[TORCH] = out.numpy()
                return {"timesMs": times, **stats(batch, times)}

            engines[TORCH] = torch_engine
        print(f"peers: batch {batch}: {args.rounds} rounds of {', '.join(engines)}", file=sys.stderr)
        rounds = run_rounds(engines, args.rounds)
        diff = float(np.max(np.abs(last[ORT] - last[TORCH]))) if TORCH in last else None
        ov_diff = float(np.max(np.abs(last[ORT] - last[OPENVINO]))) if OPENVINO in last else None
        batches.append({"batch": batch, "rounds": rounds, "summary": summarise(batch, rounds, sg_keys, peers),
                        "ortVsTorchMaxAbsDiff": diff, "ortVsOpenVINOMaxAbsDiff": ov_diff})

    device_names = {}
    for key in sg_keys:
        for b in batches:
            for r in b["rounds"]:
                j = r["engines"][key].get("json") or {}
                device_names.setdefault(key, j.get("device"))
    if binary and binary_identity(binary) != identity:
        warnings_.append("the senet-gpu binary changed during the run; rounds may mix builds")
    absent = sorted({want for b in batches for r in b["rounds"] for k in sg_keys
                     for want in EXPECTED_SENET_GPU_KEYS if want not in (r["engines"][k].get("json") or {want: 0})})
    if absent:
        warnings_.append(f"senet-gpu JSON lacked {', '.join(absent)} in some rounds")
    if any("mismatch" in r["engines"][k] for b in batches for r in b["rounds"] for k in sg_keys):
        warnings_.append("senet-gpu reported a batch or iteration count other than asked; see `mismatch`")
    failed = sum(1 for b in batches for r in b["rounds"] for k in sg_keys if "medianMs" not in r["engines"][k])
    if failed:
        warnings_.append(f"{failed} senet-gpu run(s) failed; see `error` in the raw data")

    platforms = opencl_platforms()
    report = {
        "tool": "bench/peers.py", "date": started.isoformat(timespec="seconds"),
        "finished": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "reproduce": reproduce_command(args), "argv": argv, "cwd": os.getcwd(),
        "machine": f"{cpu_model()}, {os.cpu_count()} cores", "kernel": platform.platform(),
        "openclPlatforms": platforms, "loadAverageBefore": load_before, "loadAverageAfter": list(os.getloadavg()),
        "versions": {"onnxruntime": ort.__version__, "openvino": openvino_version, "torch": torch.__version__ if torch is not None else None,
                     "numpy": np.__version__, "onnx": module_version("onnx"), "pocl": pocl_version(platforms),
                     "senetGpu": sg_version, "python": platform.python_version()},
        "senetGpuBinary": {"path": binary, "identity": identity, "benchFlagsPassed": flags},
        "onnxFile": {"path": display_path(path), "exportedBy": onnx_meta},
        "settings": {"model": args.model, "size": args.size, "threads": args.threads, "rounds": args.rounds,
                     "iterations": args.iterations, "warmup": args.warmup, "devices": args.device_list,
                     "kernelFamily": args.kernel_family, "senetGpuArgs": args.senet_gpu_args,
                     "noTorch": args.no_torch, "noOpenVINO": args.no_openvino, "seed": SEED, "opset": OPSET},
        "targets": {"latencyBatch": LATENCY_BATCH, "latencyAtMost": LATENCY_TARGET, "latencyAim": LATENCY_AIM,
                    "throughputBatch": THROUGHPUT_BATCH, "throughputAtLeast": THROUGHPUT_TARGET,
                    "throughputAim": THROUGHPUT_AIM},
        "senetGpuKeys": sg_keys, "peers": peers, "deviceNames": device_names, "warnings": warnings_,
        "jsonOut": display_path(json_out), "batches": batches,
    }
    json_out.parent.mkdir(parents=True, exist_ok=True)
    json_out.write_text(json.dumps(report, indent=2) + "\n")
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
