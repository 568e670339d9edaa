#!/usr/bin/env python3
"""Client-side checks of `senet-gpu serve`, run by Tests/CLITests/ServeCLITests.swift.

tritonclient[http] (the client users have) for the protocol, plain http.client for load,
SIGTERM and bad requests. Each command asserts, prints a JSON summary on stdout and exits
non-zero with the failed assertion on stderr.
"""
import argparse
import http.client
import json
import os
import signal
import socket
import sys
import threading
import time

import numpy as np


def relative_error(actual, expected):
    return float(np.abs(actual - expected).max() / max(np.abs(expected).max(), 1e-30))


def binary_request(x, outputs=("logits",)):
    """A binary-data extension request for FP32 input x: JSON header, then the raw floats."""
    header = {
        "inputs": [{"name": "input", "shape": list(x.shape), "datatype": "FP32",
                    "parameters": {"binary_data_size": x.nbytes}}],
        "outputs": [{"name": name, "parameters": {"binary_data": True}} for name in outputs],
    }
    head = json.dumps(header).encode()
    headers = {"Inference-Header-Content-Length": str(len(head)), "Content-Type": "application/octet-stream"}
    return head + x.astype("<f4").tobytes(), headers


def parse_response(body, headers):
    """Outputs by name from a JSON or binary-data response."""
    length = headers.get("Inference-Header-Content-Length")
    head = json.loads(body[: int(length)] if length else body)
    rest, outputs = body[int(length):] if length else b"", {}
    for output in head["outputs"]:
        size = output.get("parameters", {}).get("binary_data_size")
        if size is None:
            outputs[output["name"]] = np.array(output["data"], dtype=np.float32).reshape(output["shape"])
        else:
            outputs[output["name"]] = np.frombuffer(rest[:size], dtype="<f4").reshape(output["shape"])
            rest = rest[size:]
    return outputs


def post(connection, path, body, headers):
    connection.request("POST", path, body=body, headers=headers)
    response = connection.getresponse()
    return response.status, dict(response.getheaders()), response.read()


def check(args):
    """Metadata, readiness, FP32 (binary and JSON) and image (BYTES) inference with tritonclient."""
    import tritonclient.http as triton

    client = triton.InferenceServerClient(args.url)
    assert client.is_server_live() and client.is_server_ready(), "server not live and ready"
    assert client.is_model_ready(args.model), "model not ready"
    server = client.get_server_metadata()
    assert server["name"] == "senet-gpu" and "binary_tensor_data" in server["extensions"], server
    before = counts(client.get_inference_statistics(args.model)["model_stats"][0])
    meta = client.get_model_metadata(args.model)
    x = np.load(args.npy)
    inputs = {entry["name"]: entry for entry in meta["inputs"]}
    assert inputs["input"]["datatype"] == "FP32" and inputs["input"]["shape"] == [-1, *x.shape[1:]], meta
    assert inputs["image"]["datatype"] == "BYTES", meta
    assert [o["name"] for o in meta["outputs"]] == ["logits", "probabilities", "labels"], meta
    expected = np.load(args.expect)
    summary = {}
    for binary in (True, False):
        tensor = triton.InferInput("input", list(x.shape), "FP32")
        tensor.set_data_from_numpy(x, binary_data=binary)
        outputs = [triton.InferRequestedOutput(name, binary_data=binary) for name in ("logits", "probabilities")]
        result = client.infer(args.model, [tensor], outputs=outputs, request_id="req-%s" % binary)
        logits = result.as_numpy("logits")
        summary["fp32_%s_max_abs" % ("binary" if binary else "json")] = float(np.abs(logits - expected).max())
        assert logits.shape == expected.shape, (logits.shape, expected.shape)
        assert np.array_equal(logits, expected), "FP32 logits differ from infer's: %g" % relative_error(logits, expected)
        probabilities = result.as_numpy("probabilities")
        assert np.allclose(probabilities.sum(axis=1), 1, atol=1e-4), probabilities.sum(axis=1)
        assert result.get_response()["id"] == "req-%s" % binary
    # Top-K as Triton's classification extension and as the labels output.
    tensor = triton.InferInput("input", list(x.shape), "FP32")
    tensor.set_data_from_numpy(x)
    result = client.infer(args.model, [tensor], outputs=[triton.InferRequestedOutput("logits", class_count=3),
                                                         triton.InferRequestedOutput("labels")],
                          parameters={"top_k": 2})
    classes = result.as_numpy("logits")
    assert classes.shape == (x.shape[0], 3), classes.shape
    for row in range(x.shape[0]):
        best = [int(entry.decode().split(":")[1]) for entry in classes[row]]
        assert best == list(np.argsort(-expected[row], kind="stable")[:3]), (best, row)
    assert result.as_numpy("labels").shape == (x.shape[0], 2)
    # Image files as BYTES go through infer's decoding and preprocessing.
    files = [open(path, "rb").read() for path in args.images]
    image_expected = np.load(args.expect_images)
    images = triton.InferInput("image", [len(files)], "BYTES")
    images.set_data_from_numpy(np.array(files, dtype=np.object_))
    result = client.infer(args.model, [images], outputs=[triton.InferRequestedOutput("logits")])
    logits = result.as_numpy("logits")
    summary["images_max_abs"] = float(np.abs(logits - image_expected).max())
    assert np.array_equal(logits, image_expected), "image logits differ: %g" % relative_error(logits, image_expected)
    # Triton's model-configuration and statistics extensions, as its client reads them.
    config = client.get_model_config(args.model)
    assert config["max_batch_size"] >= x.shape[0], config
    assert [(i["name"], i.get("optional")) for i in config["input"]] == [("input", True), ("image", True)], config
    assert config["input"][0]["dims"] == list(x.shape[1:]), config
    assert config["dynamic_batching"]["preferred_batch_size"][-1] == config["max_batch_size"], config
    stats = client.get_inference_statistics(args.model)["model_stats"][0]
    delta = {key: value - before[key] for key, value in counts(stats).items()}
    # The four infer requests above, all answered: x's rows three times, then the image files.
    assert delta["success"] == 4 and delta["fail"] == 0, delta
    assert delta["inference_count"] == 3 * x.shape[0] + len(files), delta
    assert delta["queue"] == 4 and delta["compute_infer"] == 4 and delta["compute_infer_ns"] > 0, delta
    batches = stats["batch_stats"]
    assert sum(b["compute_infer"]["count"] for b in batches) == stats["execution_count"], stats
    assert sum(b["batch_size"] * b["compute_infer"]["count"] for b in batches) == stats["inference_count"], stats
    summary["executions"] = delta["execution_count"]
    print(json.dumps(summary))


def counts(stats):
    """The statistics extension's counters as ints (gRPC's JSON gives 64-bit numbers as strings)."""
    phases = stats["inference_stats"]
    return {"success": int(phases["success"].get("count", 0)), "fail": int(phases["fail"].get("count", 0)),
            "queue": int(phases["queue"].get("count", 0)), "compute_infer": int(phases["compute_infer"].get("count", 0)),
            "compute_infer_ns": int(phases["compute_infer"].get("ns", 0)),
            "inference_count": int(stats.get("inference_count", 0)), "execution_count": int(stats.get("execution_count", 0))}


def grpc_check(args):
    """The same checks as `check`, over gRPC with tritonclient.grpc: health, metadata, config,
    FP32 and image infer (plain, async and streaming), classification, statistics, errors."""
    import queue

    import tritonclient.grpc as triton
    from tritonclient.utils import InferenceServerException

    client = triton.InferenceServerClient(args.url)
    assert client.is_server_live() and client.is_server_ready(), "server not live and ready"
    assert client.is_model_ready(args.model), "model not ready"
    server = client.get_server_metadata(as_json=True)
    assert server["name"] == "senet-gpu" and "statistics" in server["extensions"], server
    meta = client.get_model_metadata(args.model, as_json=True)
    x = np.load(args.npy)
    inputs = {entry["name"]: entry for entry in meta["inputs"]}
    assert inputs["input"]["datatype"] == "FP32" and [int(d) for d in inputs["input"]["shape"]] == [-1, *x.shape[1:]], meta
    before = counts(client.get_inference_statistics(args.model, as_json=True)["model_stats"][0])
    config = client.get_model_config(args.model, as_json=True)["config"]
    assert int(config["max_batch_size"]) >= x.shape[0], config
    assert [(i["name"], i.get("optional")) for i in config["input"]] == [("input", True), ("image", True)], config
    expected = np.load(args.expect)
    summary, answered = {}, 0

    def tensor():
        t = triton.InferInput("input", list(x.shape), "FP32")
        t.set_data_from_numpy(x)
        return t

    result = client.infer(args.model, [tensor()], outputs=[triton.InferRequestedOutput("logits")], request_id="g-1")
    answered += 1
    logits = result.as_numpy("logits")
    summary["fp32_max_abs"] = float(np.abs(logits - expected).max())
    assert np.array_equal(logits, expected), "FP32 logits differ from infer's: %g" % relative_error(logits, expected)
    assert result.get_response().id == "g-1"
    # Classification (Triton's class_count) and the labels output with parameters.top_k.
    result = client.infer(args.model, [tensor()], outputs=[triton.InferRequestedOutput("logits", class_count=3),
                                                          triton.InferRequestedOutput("labels")],
                          parameters={"top_k": 2})
    answered += 1
    classes = result.as_numpy("logits")
    for row in range(x.shape[0]):
        best = [int(entry.decode().split(":")[1]) for entry in classes[row]]
        assert best == list(np.argsort(-expected[row], kind="stable")[:3]), (best, row)
    assert result.as_numpy("labels").shape == (x.shape[0], 2)
    # Image files as BYTES.
    files = [open(path, "rb").read() for path in args.images]
    image_expected = np.load(args.expect_images)
    images = triton.InferInput("image", [len(files)], "BYTES")
    images.set_data_from_numpy(np.array(files, dtype=np.object_))
    logits = client.infer(args.model, [images], outputs=[triton.InferRequestedOutput("logits")]).as_numpy("logits")
    answered += 1
    assert np.array_equal(logits, image_expected), "image logits differ: %g" % relative_error(logits, image_expected)
    # async_infer and the bidirectional stream.
    done = queue.Queue()
    client.async_infer(args.model, [tensor()], callback=lambda result, error: done.put((result, error)))
    result, error = done.get(timeout=60)
    answered += 1
    assert error is None and np.array_equal(result.as_numpy("logits"), expected), error
    streamed = queue.Queue()
    client.start_stream(callback=lambda result, error: streamed.put((result, error)))
    for index in range(3):
        client.async_stream_infer(args.model, [tensor()], request_id="s-%d" % index)
    for _ in range(3):
        result, error = streamed.get(timeout=60)
        assert error is None and np.array_equal(result.as_numpy("logits"), expected), error
    answered += 3
    # A bad request in the stream comes back as an error, and the stream goes on.
    bad = triton.InferInput("input", [1, 3, 2, 2], "FP32")
    bad.set_data_from_numpy(np.zeros((1, 3, 2, 2), dtype=np.float32))
    client.async_stream_infer(args.model, [bad])
    client.async_stream_infer(args.model, [tensor()])
    outcomes = [streamed.get(timeout=60) for _ in range(2)]
    client.stop_stream()
    assert outcomes[0][1] is not None and "shape" in str(outcomes[0][1]), outcomes[0]
    assert outcomes[1][1] is None and np.array_equal(outcomes[1][0].as_numpy("logits"), expected), outcomes[1]
    answered += 1
    # Errors carry the protocol's codes.
    for model, inputs_, code in ((args.model, [bad], "StatusCode.INVALID_ARGUMENT"),
                                 ("resnet50", [tensor()], "StatusCode.NOT_FOUND")):
        try:
            client.infer(model, inputs_)
            raise AssertionError("%s was answered" % model)
        except InferenceServerException as error:
            assert error.status() == code, (error.status(), error.message())
    # The statistics count what was sent over this transport.
    stats = client.get_inference_statistics(args.model, as_json=True)["model_stats"][0]
    delta = {key: value - before[key] for key, value in counts(stats).items()}
    # The bad shape, once in the stream and once alone; the unknown model counts for no model.
    assert delta["success"] == answered and delta["fail"] == 2, (answered, delta)
    assert delta["inference_count"] == (answered - 1) * x.shape[0] + len(files), delta
    assert delta["compute_infer"] == answered and delta["compute_infer_ns"] > 0, delta
    summary.update(answered=answered, executions=delta["execution_count"])
    print(json.dumps(summary))


def load(args):
    """`--requests` single-image requests from `--clients` threads, each on one keep-alive
    connection; every answer must be 200 with the right image's logits."""
    x = np.load(args.npy)
    expected = np.load(args.expect)
    bodies = [binary_request(x[i : i + 1]) for i in range(x.shape[0])]
    host, port = args.url.split(":")
    path = "/v2/models/%s/infer" % args.model
    latencies, failures, refused, lock = [], [], [], threading.Lock()
    counter = iter(range(args.requests))

    def client():
        connection = http.client.HTTPConnection(host, int(port), timeout=120)
        while True:
            with lock:
                index = next(counter, None)
            if index is None:
                return
            image = index % len(bodies)
            start = time.perf_counter()
            status, headers, body = post(connection, path, *bodies[image])
            elapsed = time.perf_counter() - start
            with lock:
                if status == 503 and args.expect_refused:
                    refused.append((elapsed, body[:200].decode(errors="replace")))
                    continue
                if status != 200:
                    failures.append("request %d: %d %s" % (index, status, body[:200]))
                    continue
                logits = parse_response(body, headers)["logits"]
                error = relative_error(logits[0], expected[image])
                if error > 1e-4:
                    failures.append("request %d (image %d): relative error %g" % (index, image, error))
                latencies.append(elapsed)

    start = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(args.clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - start
    summary = {"requests": args.requests, "clients": args.clients, "ok": len(latencies), "failures": failures[:5],
               "seconds": seconds, "requests_per_second": len(latencies) / seconds,
               "p50_ms": float(np.percentile(latencies, 50) * 1000) if latencies else None,
               "p99_ms": float(np.percentile(latencies, 99) * 1000) if latencies else None,
               "refused": len(refused), "refused_max_s": max((r[0] for r in refused), default=None),
               "refusals": sorted({r[1] for r in refused})}
    print(json.dumps(summary))
    # With --expect-refused K (a device hung on purpose), exactly K requests get 503, each
    # within --refused-within seconds; every other one is answered.
    assert not failures and len(latencies) + len(refused) == args.requests, summary
    assert len(refused) == args.expect_refused, summary
    assert all(r[0] <= args.refused_within for r in refused), summary


def sigterm(args):
    """Clients send requests on fresh connections; SIGTERM goes to the server once `--after`
    answers arrived. Reports how each request ended: answered (by status), refused at
    connect (the listener was closed), closed before the server read the request, or
    anything else."""
    x = np.load(args.npy)
    body, headers = binary_request(x[:1])
    headers["Connection"] = "close"
    host, port = args.url.split(":")
    path = "/v2/models/%s/infer" % args.model
    outcomes, lock, stop = {}, threading.Lock(), threading.Event()
    answered = [0]

    def record(key):
        with lock:
            outcomes[key] = outcomes.get(key, 0) + 1

    def client():
        while not stop.is_set():
            connection = http.client.HTTPConnection(host, int(port), timeout=60)
            try:
                connection.connect()
            except (ConnectionRefusedError, socket.error):
                record("refused")
                return
            try:
                connection.request("POST", path, body=body, headers=headers)
            except (BrokenPipeError, ConnectionResetError):
                # Connected while the listener closed: the server never read the request.
                record("closed before the request was read")
                continue
            try:
                response = connection.getresponse()
                response.read()
                record(str(response.status))
                with lock:
                    answered[0] += 1
            except (ConnectionResetError, http.client.RemoteDisconnected):
                # Closed with no response byte. The caller checks that the server read no
                # request it did not answer, so these were never read (accepted by the kernel
                # while the listener closed).
                record("closed before the request was read")
            except Exception as error:  # noqa: BLE001 - every other ending is reported
                record("error: %s" % type(error).__name__)
            finally:
                connection.close()

    threads = [threading.Thread(target=client) for _ in range(args.clients)]
    for thread in threads:
        thread.start()
    while True:
        with lock:
            if answered[0] >= args.after:
                break
        time.sleep(0.005)
    os.kill(args.pid, signal.SIGTERM)
    for thread in threads:
        thread.join(timeout=120)
    stop.set()
    print(json.dumps(outcomes))


def main():
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("check", "grpc", "load", "sigterm"):
        command = commands.add_parser(name)
        command.add_argument("--url", required=True)
        command.add_argument("--model", required=True)
        command.add_argument("--npy", required=True)
    commands.choices["check"].add_argument("--expect", required=True)
    commands.choices["check"].add_argument("--images", nargs="+", required=True)
    commands.choices["check"].add_argument("--expect-images", required=True)
    commands.choices["grpc"].add_argument("--expect", required=True)
    commands.choices["grpc"].add_argument("--images", nargs="+", required=True)
    commands.choices["grpc"].add_argument("--expect-images", required=True)
    commands.choices["load"].add_argument("--expect", required=True)
    commands.choices["load"].add_argument("--requests", type=int, default=2000)
    commands.choices["load"].add_argument("--clients", type=int, default=16)
    commands.choices["load"].add_argument("--expect-refused", type=int, default=0)
    commands.choices["load"].add_argument("--refused-within", type=float, default=float("inf"))
    commands.choices["sigterm"].add_argument("--pid", type=int, required=True)
    commands.choices["sigterm"].add_argument("--clients", type=int, default=8)
    commands.choices["sigterm"].add_argument("--after", type=int, default=20)
    args = parser.parse_args()
    {"check": check, "grpc": grpc_check, "load": load, "sigterm": sigterm}[args.command](args)


if __name__ == "__main__":
    main()
