#!/usr/bin/env python3
"""fp16 against fp32 on one device, in interleaved rounds (GUIDE §7).

Each round runs `senet-gpu bench --json` once per mode (fp32, fp16 storage, and fp16 with half
arithmetic where the device has it), in an order that alternates between rounds, and the
report gives each mode's median time, its median per-round ratio to fp32 (with the range),
and the memory the plan needs.

    bench/precision.py --device 1 --model seresnet50 --batch 1 --rounds 5
"""
import argparse
import json
import statistics
import subprocess
import sys

MODES = {
    "fp32": ["--precision", "fp32"],
    "fp16": ["--precision", "fp16", "--arithmetic", "fp32"],
    "fp16 half-math": ["--precision", "fp16", "--arithmetic", "fp16"],
}


def bench(binary, device, model, batch, size, iterations, flags):
    command = [binary, "bench", "--device", str(device), "--model", model, "--batch", str(batch), "--size", size,
               "--iterations", str(iterations), "--warmup", "2", "--no-startup", "--no-ceiling", "--json"] + flags
    run = subprocess.run(command, capture_output=True, text=True)
    if run.returncode != 0:
        return None, run.stderr.strip()
    return json.loads(run.stdout), None


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--binary", default=".build/release/senet-gpu")
    p.add_argument("--device", default="0")
    p.add_argument("--model", default="seresnet50")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--size", default="224")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--iterations", type=int, default=10)
    p.add_argument("--no-half-math", action="store_true", help="skip half arithmetic (30x slower on CPUs without fp16 units)")
    args = p.parse_args(argv)

    modes = dict(MODES)
    if args.no_half_math:
        del modes["fp16 half-math"]
    else:
        first, skipped = bench(args.binary, args.device, args.model, args.batch, args.size, 1, modes["fp16 half-math"])
        if first is None:
            print(f"no half arithmetic on device {args.device}: {skipped}", file=sys.stderr)
            del modes["fp16 half-math"]
    times = {mode: [] for mode in modes}
    reports = {}
    for round_index in range(args.rounds):
        order = list(modes) if round_index % 2 == 0 else list(reversed(modes))
        for mode in order:
            report, error = bench(args.binary, args.device, args.model, args.batch, args.size, args.iterations, modes[mode])
            if report is None:
                raise SystemExit(f"{mode}: {error}")
            times[mode].append(report["medianMs"])
            reports[mode] = report
        print(f"round {round_index + 1}: " + ", ".join(f"{m} {times[m][-1]:.1f} ms" for m in modes), file=sys.stderr)

    device = reports["fp32"]["device"]
    print(f"{args.model}, batch {args.batch}, {args.size}, on {device}; {args.rounds} interleaved rounds")
    print("| mode | median ms | vs fp32 (median of rounds, range) | weights MiB | activations MiB |")
    print("|---|---:|---:|---:|---:|")
    for mode in modes:
        ratios = [t / f for t, f in zip(times[mode], times["fp32"])]
        r = reports[mode]
        print(f"| {mode} | {statistics.median(times[mode]):.1f} | {statistics.median(ratios):.2f}× "
              f"({min(ratios):.2f}–{max(ratios):.2f}) | {r['weightBytes'] / 2**20:.1f} | "
              f"{r['peakActivationBytes'] / 2**20:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
