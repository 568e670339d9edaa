"""Running senet-gpu for the benchmark script: finding or building the binary, the `bench`
command, its JSON, and the interleaved rounds (bench/peers.py drives them)."""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

from peers_report import round_order

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BINARY = ".build/release/senet-gpu"
OPTIONAL_BENCH_FLAGS = ("--no-startup", "--no-ceiling")  # passed when `senet-gpu bench --help` lists them
EXPECTED_SENET_GPU_KEYS = ("medianMs", "minMs", "maxMs", "imagesPerSecond", "device", "batch", "iterations")
BINARY_WAIT_SECONDS = 120  # a binary being rebuilt may vanish for a moment

# --- senet-gpu ------------------------------------------------------------------

def resolve_binary(path: str) -> Path:
    return Path(path) if os.path.isabs(path) else ROOT / path


def ensure_binary(path: str) -> str | None:
    binary = resolve_binary(path)
    if not binary.exists() and path == DEFAULT_BINARY:
        print("peers: building senet-gpu (swift build -c release --product senet-gpu) ...", file=sys.stderr)
        if subprocess.run(["swift", "build", "-c", "release", "--product", "senet-gpu"], cwd=ROOT).returncode:
            print("peers: swift build failed", file=sys.stderr)
    if not binary.exists():
        print(f"peers: senet-gpu binary {binary} not found; reporting peers only", file=sys.stderr)
        return None
    return str(binary)


def binary_identity(binary: str) -> dict | None:
    try:
        st = os.stat(binary)
        return {"sizeBytes": st.st_size, "mtime": datetime.datetime.fromtimestamp(st.st_mtime).astimezone()
                .isoformat(timespec="seconds"),
                "sha256": hashlib.sha256(Path(binary).read_bytes()).hexdigest()}
    except OSError:
        return None


def wait_for_binary(binary: str) -> bool:
    deadline = time.monotonic() + BINARY_WAIT_SECONDS
    while not os.path.exists(binary):
        if time.monotonic() > deadline:
            return False
        time.sleep(2)
    return True


def bench_flags(binary: str) -> list[str]:
    """The optional flags of OPTIONAL_BENCH_FLAGS that this binary's `bench --help` lists."""
    try:
        proc = subprocess.run([binary, "bench", "--help"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return []
    text = proc.stdout + proc.stderr
    return [f for f in OPTIONAL_BENCH_FLAGS if re.search(re.escape(f) + r"(?![\w-])", text)]


def senet_gpu_command(binary: str, args, device: int, batch: int, flags: list[str]) -> list[str]:
    cmd = [binary, "bench", "--device", str(device), "--model", args.model, "--batch", str(batch),
           "--size", str(args.size), "--iterations", str(args.iterations), "--warmup", str(args.warmup),
           "--json", *flags]
    if args.kernel_family:
        cmd += ["--kernel-family", args.kernel_family]
    return cmd + list(args.extra_args)


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


def run_senet_gpu(cmd: list[str], timeout: float, expect: dict | None = None) -> dict:
    """One bench child process. Always returns the raw record; `medianMs` only when usable.
    expect: JSON keys whose values must match (batch, iterations); a mismatch is recorded and warned."""
    rec = {"command": cmd}
    if not wait_for_binary(cmd[0]):
        rec["error"] = f"binary {cmd[0]} missing for {BINARY_WAIT_SECONDS} s"
        print(f"peers: {rec['error']}", file=sys.stderr)
        return rec
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    except (OSError, subprocess.TimeoutExpired) as err:
        rec["error"] = str(err)
        print(f"peers: senet-gpu failed: {err}", file=sys.stderr)
        return rec
    rec["wallSeconds"] = time.perf_counter() - t0
    rec["returncode"] = proc.returncode
    result = parse_json(proc.stdout) if proc.returncode == 0 else None
    rec["json"] = result
    if result is None or not isinstance(result.get("medianMs"), (int, float)) or result["medianMs"] <= 0:
        rec["error"] = "no usable JSON (medianMs)"
        rec["stdout"], rec["stderr"] = proc.stdout[-4000:], proc.stderr[-4000:]
        print(f"peers: `{shlex.join(cmd)}` exited {proc.returncode} without usable JSON", file=sys.stderr)
        for label, text in (("stderr", proc.stderr), ("stdout", proc.stdout)):
            if text.strip():
                print(f"--- senet-gpu {label} ---\n{text.rstrip()[-2000:]}", file=sys.stderr)
        return rec
    rec["medianMs"] = float(result["medianMs"])
    bad = {k: result[k] for k, v in (expect or {}).items() if k in result and result[k] != v}
    if bad:
        rec["mismatch"] = bad
        print(f"peers: senet-gpu reported {bad}, expected {expect}", file=sys.stderr)
    if proc.stderr.strip():
        rec["stderr"] = proc.stderr[-4000:]
    return rec


def run_rounds(engines: dict, rounds: int) -> list[dict]:
    """engines: key -> callable returning a record dict (with medianMs when it worked), in forward order."""
    out = []
    for r in range(rounds):
        order = round_order(list(engines), r)
        rec = {"round": r, "order": order, "startedAt": datetime.datetime.now().astimezone()
               .isoformat(timespec="seconds"), "loadAverage": list(os.getloadavg()), "engines": {}}
        for key in order:
            rec["engines"][key] = engines[key]()
        out.append(rec)
    return out
