#!/usr/bin/env python3
"""`serve --dynamic-size` through tritonclient.http and tritonclient.grpc, run by
Tests/CLITests/ServeDynamicSizeCLITests.swift.

usage: dynamic_size_client.py --url HOST:PORT --grpc-url HOST:PORT --model NAME --range MIN MAX
       X.npy:LOGITS.npy ...

Each X.npy (its own H×W) is sent alone over both transports and must get LOGITS.npy (what
`infer` gave for it) bit for bit; then every input is sent at once, asynchronously, so sizes meet
in the queue, within fp32's 1e-4 relative error. Sizes outside the range must be refused, and
the statistics must count exactly the requests answered. Prints a JSON summary.
"""
import argparse
import json
import queue
from functools import partial

import numpy as np
import tritonclient.grpc as triton_grpc
import tritonclient.http as triton_http
from tritonclient.utils import InferenceServerException


def relative_error(actual, expected):
    return float(np.abs(actual - expected).max() / max(np.abs(expected).max(), 1e-30))


def tensor(module, x):
    t = module.InferInput("input", list(x.shape), "FP32")
    t.set_data_from_numpy(x)
    return t


def infer(module, client, model, x):
    return client.infer(model, [tensor(module, x)], outputs=[module.InferRequestedOutput("logits")]).as_numpy("logits")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--grpc-url", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--range", type=int, nargs=2, required=True)
    parser.add_argument("pairs", nargs="+")
    args = parser.parse_args()
    low, high = args.range
    pairs = [(np.load(a), np.load(b)) for a, b in (pair.split(":") for pair in args.pairs)]
    clients = [(triton_http, triton_http.InferenceServerClient(args.url, concurrency=4)),
               (triton_grpc, triton_grpc.InferenceServerClient(args.grpc_url))]
    http_meta = clients[0][1].get_model_metadata(args.model)
    grpc_meta = clients[1][1].get_model_metadata(args.model, as_json=True)
    for meta in (http_meta, grpc_meta):
        shape = [int(d) for d in meta["inputs"][0]["shape"]]
        assert meta["inputs"][0]["name"] == "input" and shape == [-1, 3, -1, -1], meta
    config = clients[1][1].get_model_config(args.model, as_json=True)["config"]
    assert [int(d) for d in config["input"][0]["dims"]] == [3, -1, -1], config
    answered, summary = 0, {"sizes": [list(x.shape) for x, _ in pairs]}
    for module, client in clients:
        for x, expected in pairs:
            logits = infer(module, client, args.model, x)
            answered += 1
            assert np.array_equal(logits, expected), "%s %s: %g" % (module.__name__, x.shape, relative_error(logits, expected))
    # Every input at once, so sizes meet in the queue: HTTP's async_infer (gevent greenlets, not
    # threads: its client is not thread-safe) beside gRPC's callbacks.
    http, grpc = clients[0][1], clients[1][1]
    finished = queue.Queue()

    def done(expected, result, error):  # tritonclient passes result= and error= by name.
        finished.put((result, error, expected))

    pending = []
    for i in range(8 * len(pairs)):
        x, expected = pairs[i % len(pairs)]
        if i % 2:
            grpc.async_infer(args.model, [tensor(triton_grpc, x)], partial(done, expected),
                             outputs=[triton_grpc.InferRequestedOutput("logits")])
        else:
            pending.append((http.async_infer(args.model, [tensor(triton_http, x)],
                                             outputs=[triton_http.InferRequestedOutput("logits")]), expected))
    results = [(request.get_result().as_numpy("logits"), expected) for request, expected in pending]
    for _ in range(8 * len(pairs) - len(pending)):
        result, error, expected = finished.get(timeout=300)
        assert error is None, error
        results.append((result.as_numpy("logits"), expected))
    answered += len(results)
    summary["mixed_worst_relative_error"] = max(relative_error(logits, expected) for logits, expected in results)
    assert summary["mixed_worst_relative_error"] <= 1e-4, summary
    for module, client in clients:
        for side in (low - 1, high + 1):
            try:
                infer(module, client, args.model, np.zeros((1, 3, side, low), np.float32))
                raise AssertionError("%s: %d×%d was served" % (module.__name__, side, low))
            except InferenceServerException as error:
                assert "--dynamic-size %d..%d" % (low, high) in str(error), str(error)
    stats = clients[1][1].get_inference_statistics(args.model, as_json=True)["model_stats"][0]["inference_stats"]
    summary["answered"], summary["stats_success"] = answered, int(stats["success"]["count"])
    assert summary["stats_success"] == answered, summary
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
