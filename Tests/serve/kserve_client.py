#!/usr/bin/env python3
"""The `kserve` SDK's v2 clients against `senet-gpu serve`, run by ServeCLITests: its
InferenceRESTClient (protocol v2) and InferenceGRPCClient, readiness and FP32 infer on both,
the logits bit for bit `infer`'s. Prints a JSON summary; exits non-zero with the failed
assertion on stderr.

usage: kserve_client.py HTTP_HOST:PORT GRPC_HOST:PORT MODEL X.npy LOGITS.npy
(positional: importing kserve parses the command line for its own server's --options)
"""
import argparse
import asyncio
import json

import numpy as np
from kserve import InferenceGRPCClient, InferenceRESTClient, InferInput, InferRequest, RESTConfig


def request(model, x):
    tensor = InferInput(name="input", shape=list(x.shape), datatype="FP32")
    tensor.set_data_from_numpy(x, binary_data=False)
    return InferRequest(model_name=model, infer_inputs=[tensor], request_id="kserve-1")


def logits_of(response):
    output = next(o for o in response.outputs if o.name == "logits")
    return output.as_numpy()


async def main(args):
    x = np.load(args.npy)
    expected = np.load(args.expect)
    summary = {}
    rest = InferenceRESTClient(config=RESTConfig(protocol="v2", retries=0))
    base = "http://" + args.http
    assert await rest.is_server_live(base) and await rest.is_server_ready(base), "REST: not live and ready"
    assert await rest.is_model_ready(base, args.model), "REST: model not ready"
    response = await rest.infer(base, request(args.model, x), model_name=args.model)
    logits = logits_of(response)
    summary["rest_max_abs"] = float(np.abs(logits - expected).max())
    assert np.array_equal(logits, expected), "REST logits differ from infer's"
    await rest.close()
    grpc = InferenceGRPCClient(url=args.grpc, retries=2)
    assert await grpc.is_server_live() and await grpc.is_server_ready(), "gRPC: not live and ready"
    assert await grpc.is_model_ready(args.model), "gRPC: model not ready"
    response = await grpc.infer(request(args.model, x))
    logits = logits_of(response)
    summary["grpc_max_abs"] = float(np.abs(logits - expected).max())
    assert np.array_equal(logits, expected), "gRPC logits differ from infer's"
    assert response.id == "kserve-1", response.id
    await grpc.close()
    print(json.dumps(summary))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    for name in ("http", "grpc", "model", "npy", "expect"):
        parser.add_argument(name)
    asyncio.run(main(parser.parse_args()))
