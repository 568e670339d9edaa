#!/usr/bin/env python3
"""ONNX fixtures without weights: Tests/Fixtures/onnx/NAME.{onnx,json}.

For each case the model is built, filled with the synthetic weights of
tools/synthetic.py (base seed 1) and exported by PyTorch's TorchScript
exporter (`dynamo=False`, constant folding on, so BatchNorm is folded into
Conv) or its dynamo exporter (`dynamo=True`, whose onnxscript optimizer also
folds BatchNorm into Conv). Every float32 initializer then moves to one
external data file NAME.weights (onnx external_data entries "location",
"offset", "length"); integer initializers (Reshape shapes, axes) and small
constants stay in the graph. Only NAME.onnx (the graph) and NAME.json are
kept; NAME.weights is rebuilt from the JSON by whoever needs it.

NAME.json holds, for every external tensor, a recipe that rebuilds its
float32 values from the synthetic state_dict (keys and shapes regenerate the
values, see synthetic.py). Recipes are evaluated in float64 and rounded to
float32 once at the end; they agree with the exporter's own float32
arithmetic to within 1e-6 of the tensor's max |value| (checked here), not
bit for bit. Kinds:

  {"kind": "param", "key": K, "shape": S}
      state_dict[K] (state_dict shape S), bytes unchanged; the initializer
      may have another shape with the same element count (row-major).
  {"kind": "conv_bn_weight", "conv": K, "convShape": S, "bn": P, "eps": e}
      s[o] = P.weight[o] / sqrt(P.running_var[o] + e)
      value[o, ...] = K[o, ...] * s[o]         (K has shape S, P.* shape [S[0]])
  {"kind": "conv_bn_bias", "conv": K, "convShape": S, "bn": P,
   "convBias": K2 or null, "eps": e}
      value[o] = P.bias[o] - P.running_mean[o] * s[o]  (+ K2[o] * s[o] if K2)

No other kind occurs in these cases (the dynamo exporter keeps Linear
weights untransposed and uses Gemm with transB=1, like the TorchScript one);
a tensor that matches no recipe stops the script.

A float `Constant` node holding more than 16 elements would be turned into
an initializer of the same name (and go external) before saving; none of
these exports has one. Integer Constant nodes stay (the classic TorchScript
export has 16 int64 ones, the SE gate's [1, C, 1, 1] view shapes).

Names do not tell what a tensor holds: the dynamo exporter folds BatchNorm
into a Conv weight but keeps the weight's state_dict name ("conv1.weight"
holds conv1.weight * s) and adds "conv1.weight_bias"; TorchScript calls
folded tensors "onnx::Conv_NNN". Recipes are found by value, not name.

NAME.json fields: name, exporter ("torchscript" | "dynamo"), opset, model,
family, numClasses, weightSeed, inputSeed, inputShape, output ("logits" |
"probabilities"), outputName, expected (ONNX Runtime's output on the
synthetic input, CPU provider, graph optimizations off, float32 written as
exact decimals), expectedShape, torchMaxAbsDiff, dataFile, dataSize,
initializers [{name, offset, length, dtype, shape, recipe}], graphInputShape,
graphOutputShape (ints, or strings for dynamic dims), dynamicAxes, onnx,
torch, onnxruntime, onnxscript (versions), nodeOpTypes.

Usage:
  python3 tools/make_onnx_fixtures.py [--only NAME ...] [--keep-weights]
  python3 tools/make_onnx_fixtures.py --verify [--only NAME ...]

--verify needs only numpy, onnx and onnxruntime: it rebuilds NAME.weights
from the JSON recipes (synthetic.py, no torch), runs ONNX Runtime on the
committed NAME.onnx with it and compares with "expected" (max abs diff
<= 1e-5 * max |expected|).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shutil
import sys
import tempfile
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import synthetic  # noqa: E402

WEIGHT_SEED = 1
CONSTANT_LIMIT = 16  # float Constant tensors with more elements go external
RECIPE_RTOL = 1e-6  # per tensor, relative to max |value|
VERIFY_RTOL = 1e-5

# name: model, family, num_classes, exporter, opset, input shape, input seed,
#       dynamic (batch/height/width), output name (None: the exporter's own)
CASES = [
    dict(name="timm_seresnet18_ts13", model="seresnet18", family="timm", num_classes=1000,
         exporter="torchscript", opset=13, shape=(1, 3, 64, 64), seed=71, dynamic=False, output_name=None),
    dict(name="seresnext26d_ts17_b2_64x96", model="seresnext26d_32x4d", family="timm", num_classes=1000,
         exporter="torchscript", opset=17, shape=(2, 3, 64, 96), seed=72, dynamic=True, output_name="logits"),
    dict(name="legacy_seresnext26_dynamo18", model="legacy_seresnext26_32x4d", family="legacy", num_classes=1000,
         exporter="dynamo", opset=18, shape=(1, 3, 65, 71), seed=73, dynamic=True, output_name=None),
    dict(name="timm_seresnet50_dynamo18_b2", model="seresnet50", family="timm", num_classes=10,
         exporter="dynamo", opset=18, shape=(2, 3, 64, 64), seed=74, dynamic=False, output_name=None),
    dict(name="classic_senet50_ts17_softmax", model="classic50", family="classic", num_classes=10,
         exporter="torchscript", opset=17, shape=(1, 3, 48, 40), seed=75, dynamic=False, output_name="probabilities"),
    dict(name="legacy_seresnet18_ts15", model="legacy_seresnet18", family="legacy", num_classes=1000,
         exporter="torchscript", opset=15, shape=(1, 3, 64, 64), seed=76, dynamic=False, output_name="logits"),
    # The classic class as its author wrote it (fixed AvgPool2d squeeze and head, x.view with
    # x.size(0)), dynamic batch: Shape subgraphs feed every Reshape.
    dict(name="classic_senet34_fixedpool_ts17_b2_224", model="classic34_fixedpool", family="classic", num_classes=10,
         exporter="torchscript", opset=17, shape=(2, 3, 224, 224), seed=77, dynamic="batch", output_name="probabilities"),
    dict(name="classic_senet34_fixedpool_dynamo18_224", model="classic34_fixedpool", family="classic", num_classes=10,
         exporter="dynamo", opset=18, shape=(1, 3, 224, 224), seed=78, dynamic="batch", output_name=None),
    # Our classic class (adaptive pools), every dimension dynamic, at a size other than 224.
    dict(name="classic_senet18_ts17_dynamic_96x80", model="classic18", family="classic", num_classes=10,
         exporter="torchscript", opset=17, shape=(1, 3, 96, 80), seed=79, dynamic=True, output_name="probabilities"),
    # The SE gate spelled y.view(b, c, 1, 1).expand_as(x): an Expand before the Mul.
    dict(name="classic_senet18_expand_ts17_b2_64", model="classic18_expand", family="classic", num_classes=10,
         exporter="torchscript", opset=17, shape=(2, 3, 64, 64), seed=81, dynamic="batch", output_name="probabilities"),
    dict(name="classic_senet18_dynamo18_dynamic_b2_80x96", model="classic18", family="classic", num_classes=10,
         exporter="dynamo", opset=18, shape=(2, 3, 80, 96), seed=80, dynamic=True, output_name=None),
]


def f32_list(a) -> list:
    # float32 widened to a Python float (exact); json prints repr, which
    # round-trips through Double -> Float back to the same float32.
    return [float(v) for v in np.asarray(a, dtype=np.float32).reshape(-1)]


def dims_of(value_info) -> list:
    out = []
    for d in value_info.type.tensor_type.shape.dim:
        out.append(d.dim_param if d.HasField("dim_param") else int(d.dim_value))
    return out


def versions() -> dict:
    import onnx
    import onnxruntime

    v = {"onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__}
    try:
        import torch

        v["torch"] = torch.__version__
    except ImportError:
        v["torch"] = None
    try:
        import onnxscript

        v["onnxscript"] = onnxscript.__version__
    except ImportError:
        v["onnxscript"] = None
    return v


def ort_run(onnx_path: str, x: np.ndarray) -> tuple:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(onnx_path, sess_options=so, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0].name
    out = sess.get_outputs()[0].name
    return sess.run([out], {inp: x})[0], out


# ---------------------------------------------------------------- recipes


def _bn_scale(sd: dict, bn: str, eps: float) -> np.ndarray:
    var = sd[bn + ".running_var"].astype(np.float64)
    return sd[bn + ".weight"].astype(np.float64) / np.sqrt(var + eps)


def evaluate_recipe(recipe: dict, sd: dict) -> np.ndarray:
    """float64 values of a recipe; `sd` maps state_dict keys to arrays."""
    kind = recipe["kind"]
    if kind == "param":
        return sd[recipe["key"]].astype(np.float64)
    if kind == "conv_bn_weight":
        w = sd[recipe["conv"]].astype(np.float64)
        s = _bn_scale(sd, recipe["bn"], recipe["eps"])
        return w * s.reshape((-1,) + (1,) * (w.ndim - 1))
    if kind == "conv_bn_bias":
        bn = recipe["bn"]
        s = _bn_scale(sd, bn, recipe["eps"])
        b = sd[bn + ".bias"].astype(np.float64) - sd[bn + ".running_mean"].astype(np.float64) * s
        if recipe.get("convBias"):
            b = b + sd[recipe["convBias"]].astype(np.float64) * s
        return b
    raise ValueError(f"unknown recipe kind {kind!r}")


def recipe_keys(recipe: dict) -> list:
    """(key, shape) of every state_dict entry a recipe reads."""
    kind = recipe["kind"]
    if kind == "param":
        return [(recipe["key"], recipe["shape"])]
    c = recipe["convShape"][0]
    keys = [(recipe["conv"], recipe["convShape"])]
    keys += [(recipe["bn"] + s, [c]) for s in (".weight", ".bias", ".running_mean", ".running_var")]
    if kind == "conv_bn_bias" and recipe.get("convBias"):
        keys.append((recipe["convBias"], [c]))
    return keys


def recipe_error(recipe: dict, sd: dict, actual: np.ndarray) -> float:
    """max |rebuilt - actual| / max |actual| (rebuilt rounded to float32)."""
    try:
        rebuilt = evaluate_recipe(recipe, sd)
    except KeyError:
        return math.inf
    if rebuilt.size != actual.size:
        return math.inf
    rebuilt = rebuilt.astype(np.float32).reshape(actual.shape)
    diff = float(np.max(np.abs(rebuilt.astype(np.float64) - actual.astype(np.float64)))) if actual.size else 0.0
    scale = float(np.max(np.abs(actual))) if actual.size else 0.0
    return diff / scale if scale > 0 else (0.0 if diff == 0 else math.inf)


class RecipeFinder:
    """Matches exported tensors numerically against a model's state_dict."""

    def __init__(self, model):
        import torch

        self.sd = {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()
                   if v.dtype == torch.float32}
        self.shapes = {k: list(v.shape) for k, v in self.sd.items()}
        self.by_bytes = {}
        for k, v in self.sd.items():
            self.by_bytes.setdefault((v.size, hashlib.sha256(v.tobytes()).hexdigest()), []).append(k)
        self.bn = {}  # BatchNorm prefix -> (channels, eps)
        for name, mod in model.named_modules():
            if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm):
                self.bn[name] = (mod.num_features, float(mod.eps))
        self.convs = [k for k, s in self.shapes.items() if len(s) == 4]
        self.pairs = {}  # weight initializer name -> (conv key, bn prefix)

    def param(self, a: np.ndarray):
        keys = self.by_bytes.get((a.size, hashlib.sha256(a.astype(np.float32).tobytes()).hexdigest()), [])
        if keys:
            return {"kind": "param", "key": keys[0], "shape": self.shapes[keys[0]]}
        return None

    def conv_bn_weight(self, a: np.ndarray):
        best = None
        for k in self.convs:
            w = self.sd[k]
            if w.size != a.size or w.shape[0] != (a.shape[0] if a.ndim else -1):
                continue
            aw = a.reshape(w.shape).astype(np.float64).reshape(w.shape[0], -1)
            ww = w.astype(np.float64).reshape(w.shape[0], -1)
            denom = np.sum(ww * ww, axis=1)
            if np.any(denom == 0):
                continue
            r = np.sum(aw * ww, axis=1) / denom
            if np.max(np.abs(aw - r[:, None] * ww)) > 1e-5 * np.max(np.abs(aw)):
                continue  # not a per-output-channel scaling of this conv
            for p, (c, eps) in self.bn.items():
                if c != w.shape[0]:
                    continue
                s = _bn_scale(self.sd, p, eps)
                if np.max(np.abs(s - r)) > 1e-5 * np.max(np.abs(s)):
                    continue
                rec = {"kind": "conv_bn_weight", "conv": k, "convShape": self.shapes[k], "bn": p, "eps": eps}
                err = recipe_error(rec, self.sd, a)
                if best is None or err < best[0]:
                    best = (err, rec)
        return best[1] if best else None

    def conv_bn_bias(self, a: np.ndarray, weight_recipe: dict | None):
        cands = []
        if weight_recipe and weight_recipe["kind"] == "conv_bn_weight":
            cands.append((weight_recipe["conv"], weight_recipe["bn"]))
        else:  # no pairing from the graph: try every conv/BN of this width
            for p, (c, _) in self.bn.items():
                if c == a.size:
                    cands += [(k, p) for k in self.convs if self.shapes[k][0] == c]
        best = None
        for k, p in cands:
            eps = self.bn[p][1]
            kb = k[: -len("weight")] + "bias" if k.endswith("weight") else None
            rec = {"kind": "conv_bn_bias", "conv": k, "convShape": self.shapes[k], "bn": p,
                   "convBias": kb if kb in self.sd else None, "eps": eps}
            err = recipe_error(rec, self.sd, a)
            if best is None or err < best[0]:
                best = (err, rec)
        return best[1] if best and best[0] <= RECIPE_RTOL else None


def find_recipes(model_proto, finder: RecipeFinder, external: list) -> dict:
    """Recipe per external initializer name; raises if one has none."""
    from onnx import numpy_helper

    arrays = {t.name: numpy_helper.to_array(t) for t in model_proto.graph.initializer if t.name in external}
    recipes = {}
    # Pass 1: parameters and folded conv weights.
    for name, a in arrays.items():
        rec = finder.param(a)
        if rec is None and a.ndim >= 2:
            rec = finder.conv_bn_weight(a)
        if rec is not None:
            recipes[name] = rec
    # Pass 2: folded biases, paired through the graph with their Conv's weight.
    bias_weight = {}
    for node in model_proto.graph.node:
        if node.op_type == "Conv" and len(node.input) >= 3:
            bias_weight[node.input[2]] = node.input[1]
    for name, a in arrays.items():
        if name in recipes:
            continue
        rec = finder.conv_bn_bias(a, recipes.get(bias_weight.get(name)))
        if rec is not None:
            recipes[name] = rec
    missing = [n for n in arrays if n not in recipes]
    if missing:
        raise RuntimeError(f"no recipe for {len(missing)} tensor(s): "
                           + ", ".join(f"{n} {list(arrays[n].shape)}" for n in missing[:20]))
    for name, rec in recipes.items():
        err = recipe_error(rec, finder.sd, arrays[name])
        if not err <= RECIPE_RTOL:
            raise RuntimeError(f"recipe for {name} is off by {err:.3g} of max|value|: {rec}")
    return recipes


# ---------------------------------------------------------------- export


def build(case: dict):
    import models

    if case["family"] == "classic":
        from classic_senet import classic_senet

        depth = int(case["model"][len("classic"):].split("_")[0])
        model = classic_senet(depth, case["num_classes"], fixed_pools=case["model"].endswith("_fixedpool"),
                              expand_gate=case["model"].endswith("_expand"))
    else:
        model = models.build_model(case["family"], 0, case["num_classes"], timm_model=case["model"])
    synthetic.fill_model_(model, WEIGHT_SEED)
    return model.float().eval()


def export(case: dict, model, x, path: str) -> None:
    import torch

    opset = case["opset"]
    out_names = [case["output_name"]] if case["output_name"] else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        if case["exporter"] == "torchscript":
            kw = {}
            if case["dynamic"]:
                axes = {0: "batch"} if case["dynamic"] == "batch" else {0: "batch", 2: "height", 3: "width"}
                kw["dynamic_axes"] = {"input": axes, case["output_name"]: {0: "batch"}}
            torch.onnx.export(model, (x,), path, dynamo=False, opset_version=opset,
                              input_names=["input"], output_names=out_names, **kw)
        else:
            kw = {}
            if case["dynamic"]:
                dim = torch.export.Dim
                # min=32: without a lower bound torch.export rejects the
                # ceil-mode max-pool's derived size (4*h - 3 must be >= 0).
                shapes = {0: dim("batch", min=1)}
                if case["dynamic"] != "batch":
                    shapes.update({2: dim("height", min=32), 3: dim("width", min=32)})
                kw["dynamic_shapes"] = (shapes,)
            torch.onnx.export(model, (x,), path, dynamo=True, opset_version=opset,
                              input_names=["input"], output_names=out_names, verbose=False, **kw)


def constants_to_initializers(model_proto) -> list:
    """Float Constant nodes with > CONSTANT_LIMIT elements become initializers."""
    import onnx
    from onnx import numpy_helper

    moved = []
    keep = []
    for node in model_proto.graph.node:
        if node.op_type == "Constant" and len(node.attribute) == 1:
            attr = node.attribute[0]
            arr = None
            if attr.name == "value" and attr.type == onnx.AttributeProto.TENSOR:
                arr = numpy_helper.to_array(attr.t)
            elif attr.name == "value_floats":
                arr = np.asarray(attr.floats, dtype=np.float32)
            if arr is not None and arr.dtype == np.float32 and arr.size > CONSTANT_LIMIT:
                model_proto.graph.initializer.append(numpy_helper.from_array(arr, node.output[0]))
                moved.append(node.output[0])
                continue
        keep.append(node)
    if moved:
        del model_proto.graph.node[:]
        model_proto.graph.node.extend(keep)
    return moved


def make_case(case: dict, out_dir: str, keep_weights: bool, vers: dict) -> dict:
    import onnx
    import torch
    from onnx import numpy_helper
    from onnx.external_data_helper import set_external_data

    name = case["name"]
    t0 = time.time()
    model = build(case)
    x = torch.from_numpy(synthetic.synthetic_input(case["shape"], case["seed"]))
    with torch.inference_mode():
        ref = model(x).to(torch.float32).numpy()  # classic: softmax probabilities
    finder = RecipeFinder(model)

    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "raw")
        os.makedirs(raw)
        export(case, model, x, os.path.join(raw, "model.onnx"))
        mp = onnx.load(os.path.join(raw, "model.onnx"))  # pulls in the exporter's own external data
        subgraphs = [a for n in mp.graph.node for a in n.attribute
                     if a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS)]
        if subgraphs:
            raise RuntimeError(f"{name}: subgraphs are not handled")
        moved = constants_to_initializers(mp)
        float_consts = [n.output[0] for n in mp.graph.node if n.op_type == "Constant"
                        and any(a.type == onnx.AttributeProto.TENSOR and a.t.data_type == onnx.TensorProto.FLOAT
                                for a in n.attribute)]

        data_file = f"{name}.weights"
        external = [t.name for t in mp.graph.initializer if t.data_type == onnx.TensorProto.FLOAT]
        recipes = find_recipes(mp, finder, external)
        for t in mp.graph.initializer:
            if t.data_type != onnx.TensorProto.FLOAT:
                continue
            if not t.HasField("raw_data"):
                t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t), t.name))
            set_external_data(t, data_file)

        onnx_path = os.path.join(tmp, f"{name}.onnx")
        onnx.save_model(mp, onnx_path)  # writes the tensors marked external above
        onnx.checker.check_model(onnx_path)
        data_path = os.path.join(tmp, data_file)
        out, out_name = ort_run(onnx_path, x.numpy())
        graph = onnx.load(onnx_path, load_external_data=False)

        inits = []
        for t in graph.graph.initializer:
            if t.data_location != onnx.TensorProto.EXTERNAL:
                continue
            info = {e.key: e.value for e in t.external_data}
            if info["location"] != data_file:
                raise RuntimeError(f"{name}: {t.name} stored in {info['location']}")
            inits.append({"name": t.name, "offset": int(info.get("offset", 0)), "length": int(info["length"]),
                          "dtype": "F32", "shape": [int(d) for d in t.dims], "recipe": recipes[t.name]})
        if sorted(i["name"] for i in inits) != sorted(external):
            raise RuntimeError(f"{name}: external tensors differ from the float initializers")

        op_types = sorted({n.op_type for n in graph.graph.node})
        output_kind = "probabilities" if graph.graph.node[-1].op_type == "Softmax" else "logits"
        doc = {
            "name": name,
            "exporter": case["exporter"],
            "opset": case["opset"],
            "model": case["model"],
            "family": case["family"],
            "numClasses": case["num_classes"],
            "weightSeed": WEIGHT_SEED,
            "inputSeed": case["seed"],
            "inputShape": list(case["shape"]),
            "output": output_kind,
            "outputName": out_name,
            "expected": f32_list(out),
            "expectedShape": list(out.shape),
            "torchMaxAbsDiff": float(np.max(np.abs(out.astype(np.float64) - ref.astype(np.float64)))),
            "dataFile": data_file,
            "dataSize": os.path.getsize(data_path),
            "initializers": inits,
            "graphInputShape": dims_of(graph.graph.input[0]),
            "graphOutputShape": dims_of(graph.graph.output[0]),
            "dynamicAxes": bool(case["dynamic"]),
            "onnx": vers["onnx"],
            "torch": vers["torch"],
            "onnxruntime": vers["onnxruntime"],
            "onnxscript": vers["onnxscript"],
            "nodeOpTypes": op_types,
        }
        if list(out.shape) != [case["shape"][0], case["num_classes"]]:
            raise RuntimeError(f"{name}: output shape {list(out.shape)}")
        if (output_kind == "probabilities") != (case["family"] == "classic"):
            raise RuntimeError(f"{name}: graph ends in {graph.graph.node[-1].op_type}")

        os.makedirs(out_dir, exist_ok=True)
        shutil.copyfile(onnx_path, os.path.join(out_dir, f"{name}.onnx"))
        if keep_weights:
            shutil.copyfile(data_path, os.path.join(out_dir, data_file))
        with open(os.path.join(out_dir, f"{name}.json"), "w") as f:
            json.dump(doc, f, separators=(",", ":"))
            f.write("\n")
        kinds = {}
        for i in inits:
            kinds[i["recipe"]["kind"]] = kinds.get(i["recipe"]["kind"], 0) + 1
        return {
            "onnx_bytes": os.path.getsize(onnx_path),
            "weights_bytes": doc["dataSize"],
            "json_bytes": os.path.getsize(os.path.join(out_dir, f"{name}.json")),
            "ops": op_types,
            "diff": doc["torchMaxAbsDiff"],
            "max_abs": float(np.max(np.abs(out))),
            "kinds": kinds,
            "moved_constants": moved,
            "float_constants_left": float_consts,
            "seconds": time.time() - t0,
        }


# ---------------------------------------------------------------- verify


def rebuild_weights(doc: dict, path: str) -> None:
    """Write doc["dataFile"]'s bytes from the recipes alone (numpy + synthetic.py)."""
    cache = {}
    sd = {}
    buf = bytearray(doc["dataSize"])
    for init in doc["initializers"]:
        rec = init["recipe"]
        for key, shape in recipe_keys(rec):
            if key not in cache:
                cache[key] = synthetic.synthetic_tensor(key, shape, doc["weightSeed"])
            sd[key] = cache[key]
        vals = evaluate_recipe(rec, sd).astype(np.float32).reshape(init["shape"])
        data = vals.astype("<f4").tobytes()
        if len(data) != init["length"]:
            raise RuntimeError(f"{init['name']}: {len(data)} bytes, JSON says {init['length']}")
        buf[init["offset"]:init["offset"] + len(data)] = data
    with open(path, "wb") as f:
        f.write(buf)


def verify_case(json_path: str) -> tuple:
    with open(json_path) as f:
        doc = json.load(f)
    onnx_path = os.path.join(os.path.dirname(json_path), doc["name"] + ".onnx")
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copyfile(onnx_path, os.path.join(tmp, doc["name"] + ".onnx"))
        rebuild_weights(doc, os.path.join(tmp, doc["dataFile"]))
        x = synthetic.synthetic_input(doc["inputShape"], doc["inputSeed"])
        out, out_name = ort_run(os.path.join(tmp, doc["name"] + ".onnx"), x)
    exp = np.asarray(doc["expected"], dtype=np.float32).reshape(doc["expectedShape"])
    if out_name != doc["outputName"] or list(out.shape) != doc["expectedShape"]:
        raise RuntimeError(f"{doc['name']}: output {out_name} {list(out.shape)}")
    diff = float(np.max(np.abs(out.astype(np.float64) - exp.astype(np.float64))))
    scale = float(np.max(np.abs(exp)))
    return diff, scale, diff <= VERIFY_RTOL * scale


# ---------------------------------------------------------------- main


def main(argv=None) -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=os.path.join(here, "..", "Tests", "Fixtures", "onnx"))
    p.add_argument("--only", nargs="*", help="case names; default all")
    p.add_argument("--keep-weights", action="store_true",
                   help="also copy NAME.weights next to NAME.onnx (ignored by git)")
    p.add_argument("--verify", action="store_true",
                   help="rebuild NAME.weights from the committed JSON recipes and check ONNX Runtime against 'expected'")
    args = p.parse_args(argv)
    out_dir = os.path.normpath(args.out)
    names = [c["name"] for c in CASES]
    if args.only:
        unknown = set(args.only) - set(names)
        if unknown:
            p.error(f"unknown case(s): {sorted(unknown)}")
    wanted = [c for c in CASES if not args.only or c["name"] in args.only]

    if args.verify:
        ok = True
        for c in wanted:
            t0 = time.time()
            diff, scale, good = verify_case(os.path.join(out_dir, c["name"] + ".json"))
            ok &= good
            print(f"{c['name']:30s} rebuilt from recipes: max|ORT - expected| {diff:.3g} "
                  f"({diff / scale:.2g} of max {scale:.4g})  {'OK' if good else 'FAILED'}  {time.time() - t0:.1f}s",
                  flush=True)
        return 0 if ok else 1

    import models

    models.strict_fp32()
    models.import_timm()
    vers = versions()
    print(", ".join(f"{k} {v}" for k, v in vers.items()), f"-> {out_dir}")
    for c in wanted:
        s = make_case(c, out_dir, args.keep_weights, vers)
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(s["kinds"].items()))
        print(f"{c['name']:30s} .onnx {s['onnx_bytes']} B  .weights {s['weights_bytes']} B  .json {s['json_bytes']} B  "
              f"|ORT-torch| {s['diff']:.3g} (max|out| {s['max_abs']:.4g})  {s['seconds']:.1f}s", flush=True)
        print(f"{'':30s} ops {' '.join(s['ops'])}", flush=True)
        print(f"{'':30s} recipes: {kinds}; float Constants moved {len(s['moved_constants'])}, "
              f"left {len(s['float_constants_left'])}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
