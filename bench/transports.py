#!/usr/bin/env python3
"""`senet-gpu serve` over gRPC and HTTP, beside `infer`'s own rate.

One server (HTTP and `--grpc-port`) takes, for each concurrency level and transport, a fixed
window of single-image FP32 requests from that many concurrent callers: tritonclient.grpc.aio
over gRPC, tritonclient.http.aio over HTTP, both as asyncio tasks in one process. Windows run in
interleaved rounds (the transport order alternates), and `senet-gpu bench --batch 1` and
`--batch MAX` give infer's rate in each round. Every answer's logits are checked against the
first one's (one input), and the server's statistics extension must count exactly the requests
the clients sent. Prints one line per window, then a Markdown table of medians; everything lands
in bench/results/transports-*.json.

usage: .venv-test/bin/python bench/transports.py [--model seresnet50] [--size 224] [--device 0]
       [--concurrency 1,2,4,8] [--seconds 10] [--rounds 3] [--max-batch 8]
"""
import argparse
import asyncio
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


def bench(args, batch):
    command = [BIN, "bench", "--device", args.device, "--model", args.model, "--size", str(args.size), "--batch",
               str(batch), "--no-startup", "--no-ceiling", "--iterations", "10", "--warmup", "2", "--json"]
    result = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
    return result["imagesPerSecond"]


def start_server(args, log):
    command = [BIN, "serve", "--device", args.device, "--model", args.model, "--crop", str(args.size), "--resize",
               str(args.size), "--port", "0", "--grpc-port", "0", "--max-batch", str(args.max_batch),
               "--max-queue", "1024", "--drain-window", "0", "--log-format", "json"]
    server = subprocess.Popen(command, stderr=log, stdout=subprocess.DEVNULL)
    ports = {}
    for _ in range(12000):
        log.seek(0)
        for line in log.read().splitlines():
            entry = json.loads(line) if line.startswith("{") else {}
            if entry.get("message") == "listening":
                ports["http"] = int(entry["port"])
            if entry.get("message") == "listening (gRPC)":
                ports["grpc"] = int(entry["grpc_port"])
            if entry.get("message") == "ready" and len(ports) == 2:
                return server, ports, " ".join(command)
        if server.poll() is not None:
            break
        time.sleep(0.05)
    server.kill()
    log.seek(0)
    sys.exit("the server did not become ready:\n" + log.read())


def stats(port, model):
    with urllib.request.urlopen("http://127.0.0.1:%d/v2/models/%s/stats" % (port, model)) as response:
        entry = json.load(response)["model_stats"][0]
    return entry["inference_stats"]["success"]["count"], entry["inference_stats"]["fail"]["count"]


async def window(transport, ports, args, x, concurrency, reference):
    """`concurrency` callers send requests back to back for --seconds; the latencies of those
    answered, and any failure."""
    if transport == "grpc":
        import tritonclient.grpc.aio as triton
        client = triton.InferenceServerClient("127.0.0.1:%d" % ports["grpc"])
    else:
        import tritonclient.http.aio as triton
        client = triton.InferenceServerClient("127.0.0.1:%d" % ports["http"], conn_limit=concurrency)
    latencies, failures = [], []
    deadline = time.perf_counter() + args.seconds

    async def caller():
        while time.perf_counter() < deadline:
            tensor = triton.InferInput("input", list(x.shape), "FP32")
            tensor.set_data_from_numpy(x)
            start = time.perf_counter()
            try:
                result = await client.infer(args.model, [tensor], outputs=[triton.InferRequestedOutput("logits")])
                logits = result.as_numpy("logits")
                if reference is not None and not np.array_equal(logits, reference):
                    failures.append("logits differ")
                latencies.append(time.perf_counter() - start)
            except Exception as error:  # noqa: BLE001 - every failure is reported
                failures.append(str(error)[:200])

    start = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    await client.close()
    return latencies, failures, elapsed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="seresnet50")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--device", default="0")
    parser.add_argument("--concurrency", default="1,2,4,8")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-batch", type=int, default=8)
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    x = np.random.default_rng(7).standard_normal((1, 3, args.size, args.size)).astype(np.float32)
    log = tempfile.NamedTemporaryFile("w+", suffix=".log")
    server, ports, command = start_server(args, log)
    runs, sent = [], 0
    try:
        import tritonclient.http as plain
        client = plain.InferenceServerClient("127.0.0.1:%d" % ports["http"])
        tensor = plain.InferInput("input", list(x.shape), "FP32")
        tensor.set_data_from_numpy(x)
        reference = client.infer(args.model, [tensor]).as_numpy("logits")
        sent += 1
        before = stats(ports["http"], args.model)
        for round_index in range(args.rounds):
            infer_rates = {1: bench(args, 1), args.max_batch: bench(args, args.max_batch)}
            runs.append({"round": round_index, "kind": "infer", "images_per_second": infer_rates})
            print("round %d: infer %.1f img/s at batch 1, %.1f at batch %d" % (
                round_index, infer_rates[1], infer_rates[args.max_batch], args.max_batch), flush=True)
            transports = ["grpc", "http"] if round_index % 2 == 0 else ["http", "grpc"]
            for concurrency in levels:
                for transport in transports:
                    latencies, failures, elapsed = asyncio.run(window(transport, ports, args, x, concurrency, reference))
                    sent += len(latencies) + len(failures)
                    run = {"round": round_index, "kind": transport, "concurrency": concurrency,
                           "answered": len(latencies), "failures": failures[:5], "seconds": elapsed,
                           "images_per_second": len(latencies) / elapsed,
                           "p50_ms": float(np.percentile(latencies, 50) * 1000) if latencies else None,
                           "p99_ms": float(np.percentile(latencies, 99) * 1000) if latencies else None}
                    runs.append(run)
                    print("round %d %-4s x%d: %.1f img/s, p50 %.1f ms, p99 %.1f ms, %d failures" % (
                        round_index, transport, concurrency, run["images_per_second"], run["p50_ms"] or 0,
                        run["p99_ms"] or 0, len(failures)), flush=True)
                    if failures:
                        sys.exit("requests failed: %s" % failures[:3])
        after = stats(ports["http"], args.model)
        counted = (after[0] - before[0]) + (after[1] - before[1])
        answered = sum(r["answered"] for r in runs if r["kind"] != "infer")
        print("server statistics: %d requests counted, clients sent %d after the baseline read" % (counted, answered))
        if counted != answered or after[1] != before[1]:
            sys.exit("the server's statistics (%s -> %s) disagree with the clients' %d answers" % (before, after, answered))
    finally:
        server.terminate()
        server.wait(timeout=60)

    def median(values):
        return statistics.median(values) if values else float("nan")

    infer_max = median([r["images_per_second"][args.max_batch] for r in runs if r["kind"] == "infer"])
    infer_one = median([r["images_per_second"][1] for r in runs if r["kind"] == "infer"])
    print("\n| transport | callers | images/s (median) | p50 ms | p99 ms | of infer at batch %d |" % args.max_batch)
    print("|---|---:|---:|---:|---:|---:|")
    print("| infer, batch 1 | | %.1f | | | %.2f |" % (infer_one, infer_one / infer_max))
    print("| infer, batch %d | | %.1f | | | 1.00 |" % (args.max_batch, infer_max))
    for concurrency in levels:
        for transport in ("grpc", "http"):
            rows = [r for r in runs if r["kind"] == transport and r["concurrency"] == concurrency]
            rate = median([r["images_per_second"] for r in rows])
            print("| %s | %d | %.1f | %.1f | %.1f | %.2f |" % (
                "gRPC" if transport == "grpc" else "HTTP", concurrency, rate, median([r["p50_ms"] for r in rows]),
                median([r["p99_ms"] for r in rows]), rate / infer_max))
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = os.path.join(ROOT, "bench", "results", "transports-%s-%s.json" % (args.model, stamp))
    with open(path, "w") as f:
        json.dump({"args": vars(args), "server": command, "runs": runs}, f, indent=1)
    print("\nraw data: %s" % os.path.relpath(path, ROOT))


if __name__ == "__main__":
    main()
