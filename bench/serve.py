#!/usr/bin/env python3
"""`senet-gpu serve` under load against `infer`'s own throughput, in interleaved rounds.

Each round runs, in an order that alternates between rounds:
  - `senet-gpu bench --device D --batch B` (infer's engine, batch 1 and --max-batch) per device;
  - a server per configuration (devices, batch window), loaded by Tests/serve/oip_client.py
    load: --requests single-image FP32 requests from --clients threads on keep-alive
    connections, every answer checked against infer's logits; and, for latency without a
    queue, --light-requests from one client.
Prints one line per run, then a Markdown table of medians and of the median per-round ratio of
each configuration's throughput to infer's at --max-batch on device 0. Everything lands in
bench/results/serve-*.json.

With --baseline-bin (the binary of an earlier commit), the servers run instead as pairs, this
tree's and the baseline's, interleaved, and the table adds each pair's median per-round ratio.

usage: bench/serve.py [--model seresnet50] [--size 224] [--requests 400] [--clients 16]
                      [--rounds 3] [--max-batch 8] [--baseline-bin PATH]
(run with the test Python: .venv-test/bin/python bench/serve.py ...)
"""
import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, ".build/release/senet-gpu")
CLIENT = os.path.join(ROOT, "Tests/serve/oip_client.py")


def bench(args, device, batch):
    command = [BIN, "bench", "--device", device, "--model", args.model, "--size", str(args.size), "--batch", str(batch),
               "--no-startup", "--no-ceiling", "--iterations", "10", "--warmup", "2", "--json"]
    result = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
    return {"images_per_second": result["imagesPerSecond"], "median_ms": result["medianMs"], "command": " ".join(command)}


def drain_flags(binary):
    """No SIGTERM drain window between runs, where the binary has one."""
    help_text = subprocess.run([binary, "serve", "--help"], capture_output=True, text=True).stdout
    return ["--drain-window", "0"] if "--drain-window" in help_text else []


def serve(args, devices, window, inputs, expected, clients=None, requests=None, binary=BIN):
    command = [binary, "serve", "--device", devices, "--model", args.model, "--crop", str(args.size),
               "--resize", str(args.size), "--port", "0", "--max-batch", str(args.max_batch),
               "--batch-window-ms", str(window), "--max-queue", "1024"] + drain_flags(binary)
    log = tempfile.NamedTemporaryFile("w+", suffix=".log")
    server = subprocess.Popen(command, stderr=log, stdout=subprocess.DEVNULL)
    try:
        port = None
        for _ in range(6000):
            log.seek(0)
            for line in log:
                if '"listening"' in line:
                    port = json.loads(line)["port"]
            if port:
                try:
                    if urllib.request.urlopen("http://127.0.0.1:%s/v2/health/ready" % port).status == 200:
                        break
                except OSError:
                    pass
            time.sleep(0.1)
        load = [sys.executable, CLIENT, "load", "--url", "127.0.0.1:%s" % port, "--model", args.model, "--npy", inputs,
                "--expect", expected, "--requests", str(requests or args.requests), "--clients", str(clients or args.clients)]
        result = json.loads(subprocess.run(load, check=True, capture_output=True, text=True).stdout)
        metrics = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % port).read().decode()
        batches = [float(line.split()[-1]) for line in metrics.splitlines() if line.startswith("senet_batch_size_count")]
        result["mean_batch"] = (requests or args.requests) / batches[0] if batches and batches[0] else None
        result["command"] = " ".join(command)
        return result
    finally:
        server.terminate()
        server.wait(timeout=120)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="seresnet50")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-batch", type=int, default=8)
    parser.add_argument("--light-requests", type=int, default=60, help="requests of the one-client runs")
    parser.add_argument("--baseline-bin", help="an earlier commit's senet-gpu: its servers run beside this tree's")
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="senet-serve-bench-")
    inputs, expected = os.path.join(work, "x.npy"), os.path.join(work, "logits.npy")
    np.save(inputs, np.random.default_rng(1).standard_normal((8, 3, args.size, args.size), dtype=np.float32))
    subprocess.run([BIN, "infer", "--device", "0", "--model", args.model, "--input", inputs, "--save-logits", expected],
                   check=True, capture_output=True)
    runs = [("infer b1 on 0", lambda: bench(args, "0", 1)),
            ("infer b%d on 0" % args.max_batch, lambda: bench(args, "0", args.max_batch)),
            ("infer b%d on 1" % args.max_batch, lambda: bench(args, "1", args.max_batch)),
            ("serve on 0, window 0 ms", lambda: serve(args, "0", 0, inputs, expected)),
            ("serve on 0, window 2 ms", lambda: serve(args, "0", 2, inputs, expected)),
            ("serve on 0,1, window 2 ms", lambda: serve(args, "0,1", 2, inputs, expected)),
            ("serve on 0, window 0 ms, 1 client", lambda: serve(args, "0", 0, inputs, expected, 1, args.light_requests)),
            ("serve on 0, window 2 ms, 1 client", lambda: serve(args, "0", 2, inputs, expected, 1, args.light_requests))]
    pairs = {}
    if args.baseline_bin:
        base = args.baseline_bin
        runs = runs[1:2] + [
            ("serve on 0, window 2 ms", lambda: serve(args, "0", 2, inputs, expected)),
            ("baseline: serve on 0, window 2 ms", lambda: serve(args, "0", 2, inputs, expected, binary=base)),
            ("serve on 0, window 2 ms, 1 client", lambda: serve(args, "0", 2, inputs, expected, 1, args.light_requests)),
            ("baseline: serve on 0, window 2 ms, 1 client",
             lambda: serve(args, "0", 2, inputs, expected, 1, args.light_requests, binary=base))]
        pairs = {name: "baseline: " + name for name, _ in runs if not name.startswith(("baseline", "infer"))}
    results = {name: [] for name, _ in runs}
    for round_ in range(args.rounds):
        for name, run in runs if round_ % 2 == 0 else reversed(runs):
            result = run()
            results[name].append(result)
            rate = result.get("requests_per_second") or result["images_per_second"]
            print(round_ + 1, name, "%.2f images/s" % rate,
                  "p50 %.1f ms p99 %.1f ms" % (result["p50_ms"], result["p99_ms"]) if "p50_ms" in result else "",
                  flush=True)
    baseline = "infer b%d on 0" % args.max_batch
    rate = lambda r: r.get("requests_per_second") or r["images_per_second"]
    print("\n| run | images/s (median) | ratio to %s (median per round) | p50 ms | p99 ms | mean batch |" % baseline)
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, _ in runs:
        rows = results[name]
        ratios = [rate(r) / rate(b) for r, b in zip(rows, results[baseline])]
        p50 = statistics.median(r["p50_ms"] for r in rows) if "p50_ms" in rows[0] else None
        p99 = statistics.median(r["p99_ms"] for r in rows) if "p99_ms" in rows[0] else None
        batch = statistics.median(r["mean_batch"] for r in rows) if "mean_batch" in rows[0] else None
        fmt = lambda v, f="%.1f": f % v if v is not None else "–"
        print("| %s | %.2f | %.2f | %s | %s | %s |" % (name, statistics.median(rate(r) for r in rows),
                                                       statistics.median(ratios), fmt(p50), fmt(p99), fmt(batch, "%.2f")))
    if pairs:
        print("\n| run | images/s ratio to baseline (median per round) | p50 ratio | p99 ratio |")
        print("| --- | ---: | ---: | ---: |")
        for name, base in pairs.items():
            ratio = lambda key: statistics.median(a[key] / b[key] for a, b in zip(results[name], results[base]))
            print("| %s | %.3f | %.3f | %.3f |" % (name, statistics.median(
                rate(a) / rate(b) for a, b in zip(results[name], results[base])), ratio("p50_ms"), ratio("p99_ms")))
    os.makedirs(os.path.join(ROOT, "bench/results"), exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = os.path.join(ROOT, "bench/results/serve-%s-%s.json" % (args.model, stamp))
    with open(path, "w") as out:
        json.dump({"arguments": vars(args), "results": results}, out, indent=1)
    print("\nwrote", path)


if __name__ == "__main__":
    main()
