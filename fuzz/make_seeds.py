#!/usr/bin/env python3
"""Writes small seed inputs for the fuzzers into .fuzz/seeds/{safetensors,npy,onnx}/.

Valid files of every dtype and header version plus a few deliberately broken ones, so the
fuzzer starts next to every branch of the parsers. Needs numpy (for the .npy seeds) and the
`onnx` package (for the ONNX seeds; without it they are skipped).
Usage: python3 fuzz/make_seeds.py
"""

import json
import pathlib
import shutil
import struct

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
SEEDS = ROOT / ".fuzz" / "seeds"


def safetensors(header, data=b"", pad=0, length=None):
    text = json.dumps(header, separators=(",", ":")).encode() + b" " * pad
    return struct.pack("<Q", len(text) if length is None else length) + text + data


def safetensors_seeds():
    sizes = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}
    seeds = {}
    for dtype, size in sizes.items():
        data = bytes(range(1, 2 * 3 * size + 1))
        seeds[f"dtype_{dtype.lower()}"] = safetensors({"t": {"dtype": dtype, "shape": [2, 3], "data_offsets": [0, len(data)]}}, data)
    f32 = struct.pack("<4f", 1.0, -2.5, float("inf"), float("nan"))
    seeds["metadata"] = safetensors(
        {"__metadata__": {"format": "pt"}, "w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, f32, pad=5
    )
    seeds["empty_tensors"] = safetensors(
        {
            "a": {"dtype": "F32", "shape": [0, 3], "data_offsets": [0, 0]},
            "b": {"dtype": "BF16", "shape": [], "data_offsets": [0, 2]},
            "c": {"dtype": "F16", "shape": [0], "data_offsets": [2, 2]},
        },
        b"\x80\x3f",
    )
    seeds["empty_header"] = safetensors({})
    seeds["two_tensors"] = safetensors(
        {
            "x.weight": {"dtype": "F32", "shape": [1, 2], "data_offsets": [0, 8]},
            "x.bias": {"dtype": "F64", "shape": [1], "data_offsets": [8, 16]},
        },
        struct.pack("<2fd", 0.5, 0.25, -1.0),
    )
    seeds["overlap"] = safetensors(
        {
            "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
            "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]},
        },
        bytes(12),
    )
    seeds["out_of_range"] = safetensors({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, bytes(8))
    seeds["size_mismatch"] = safetensors({"a": {"dtype": "F16", "shape": [3], "data_offsets": [0, 4]}}, bytes(4))
    seeds["unknown_dtype"] = safetensors({"a": {"dtype": "F8_E4M3", "shape": [1], "data_offsets": [0, 1]}}, bytes(1))
    seeds["bad_metadata"] = safetensors({"__metadata__": {"n": 1}})
    seeds["header_too_long"] = safetensors({"a": 1}, length=1 << 40)
    seeds["not_object"] = safetensors([1, 2, 3])
    seeds["unicode_name"] = safetensors({"\u00e9\u4e2d": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, bytes(4))
    return seeds


def npy(array, version):
    import io

    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, version=version)
    return buffer.getvalue()


def raw_npy(header, data=b"", version=1):
    text = header.encode()
    length = struct.pack("<H", len(text)) if version == 1 else struct.pack("<I", len(text))
    return b"\x93NUMPY" + bytes([version, 0]) + length + text + data


def npy_seeds():
    seeds = {}
    rng = np.random.default_rng(7)
    for version in [(1, 0), (2, 0), (3, 0)]:
        tag = f"v{version[0]}"
        seeds[f"{tag}_f4_2x3"] = npy(rng.standard_normal((2, 3)).astype("<f4"), version)
    seeds["f4_scalar"] = npy(np.float32(1.5), (1, 0))
    seeds["f4_empty"] = npy(np.zeros((0, 4), "<f4"), (1, 0))
    seeds["f4_1x3x2x2"] = npy(rng.standard_normal((1, 3, 2, 2)).astype("<f4"), (1, 0))
    seeds["f4_vector"] = npy(np.arange(5, dtype="<f4"), (1, 0))
    seeds["f8"] = npy(np.arange(3, dtype="<f8"), (1, 0))
    seeds["f4_big_endian"] = npy(np.arange(3, dtype=">f4"), (1, 0))
    seeds["i4"] = npy(np.arange(3, dtype="<i4"), (1, 0))
    seeds["u1"] = npy(np.arange(3, dtype="u1"), (1, 0))
    seeds["f4_fortran"] = npy(np.asfortranarray(np.ones((2, 2), "<f4")), (1, 0))
    seeds["f4_big_endian_2x3"] = npy(rng.standard_normal((2, 3)).astype(">f4"), (1, 0))
    seeds["f4_fortran_2x3x4"] = npy(np.asfortranarray(rng.standard_normal((2, 3, 4)).astype("<f4")), (1, 0))
    seeds["f4_fortran_be_1x3x2x2"] = npy(np.asfortranarray(rng.standard_normal((1, 3, 2, 2)).astype(">f4")), (2, 0))
    seeds["f4_fortran_be_2x1x3x2"] = npy(np.asfortranarray(rng.standard_normal((2, 1, 3, 2)).astype(">f4")), (3, 0))
    seeds["hand_fortran_scalar"] = raw_npy("{'descr': '>f4', 'fortran_order': True, 'shape': (), }\n", bytes(4))
    seeds["hand_fortran_vector"] = raw_npy("{'descr': '<f4', 'fortran_order': True, 'shape': (3,), }\n", bytes(12))
    seeds["hand_fortran_empty"] = raw_npy("{'descr': '>f4', 'fortran_order': True, 'shape': (0, 2, 5), }\n")
    seeds["hand_fortran_truncated"] = raw_npy("{'descr': '>f4', 'fortran_order': True, 'shape': (2, 3), }\n", bytes(20))
    seeds["hand_fortran_not_bool"] = raw_npy("{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 2), }\n", bytes(16))
    seeds["hand_pipe_f4"] = raw_npy("{'descr': '|f4', 'fortran_order': False, 'shape': (2, 1), }\n", bytes(8))
    seeds["hand_truncated"] = raw_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }\n", bytes(8))
    seeds["hand_no_shape"] = raw_npy("{'descr': '<f4', 'fortran_order': False}\n")
    return seeds


# ---------------------------------------------------------------- ONNX
#
# The importer only maps whole SE-ResNet graphs, so the useful seeds are whole (tiny) graphs
# with embedded weights: the fuzzer then mutates a file that imports, next to every check.
# tiny_* are the committed fixture graphs (Tests/Fixtures/onnx) with every external float
# tensor replaced by a small embedded one of a shape the importer accepts (one channel
# between layers, or the groups around a grouped conv; FC weights [1, 1]); hand_* are built
# here with 4 channels
# and vary what the exporters write: unfolded BatchNormalization, ReduceMean and MatMul + Add,
# an average-pool shortcut, Softmax, and every tensor storage (raw_data, float_data,
# double_data, float16 in int32_data, bfloat16, Constant nodes); bad_* break one rule each.


def onnx_seeds():
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(11)

    def strip(model):
        for node in model.graph.node:
            node.doc_string = ""
            del node.metadata_props[:]
        del model.graph.value_info[:]
        del model.metadata_props[:]
        model.doc_string = model.graph.doc_string = ""
        return model

    def tiny(path):
        # Channels chain as the importer checks: every value has one channel, except the inputs
        # and outputs of grouped convolutions, which have as many as the groups.
        model = strip(onnx.load(str(path), load_external_data=False))
        graph = model.graph
        readers = {}
        for node in graph.node:
            for name in node.input:
                readers.setdefault(name, []).append(node)

        def groups(node):
            return next((helper.get_attribute_value(a) for a in node.attribute if a.name == "group"), 1)

        def next_groups(value):  # the groups of a Conv reading `value`, through Relu/BatchNormalization
            for node in readers.get(value, []):
                if node.op_type == "Conv":
                    return groups(node)
                if node.op_type in ("Relu", "BatchNormalization"):
                    return next_groups(node.output[0])
            return 1

        channels = {value.name: 3 for value in graph.input}
        shapes = {}
        for node in graph.node:
            inputs = list(node.input)
            known = [channels[name] for name in inputs if name in channels]
            if node.op_type == "Conv":
                attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
                group = attributes.get("group", 1)
                out = max(group, next_groups(node.output[0]))
                kernel = list(attributes.get("kernel_shape", [1, 1]))
                shapes[inputs[1]] = [out, channels.get(inputs[0], 1) // group] + kernel
                if len(inputs) > 2:
                    shapes[inputs[2]] = [out]
                channels[node.output[0]] = out
            elif node.op_type in ("Gemm", "MatMul"):
                shapes[inputs[1]] = [1, channels.get(inputs[0], 1)]
                transposed = any(a.name == "transB" and a.i == 1 for a in node.attribute)
                if node.op_type == "MatMul" or not transposed:
                    shapes[inputs[1]].reverse()
                if len(inputs) > 2:
                    shapes[inputs[2]] = [1]
                channels[node.output[0]] = 1
            else:
                for name in node.output:
                    channels[name] = max(known, default=1)
        for tensor in graph.initializer:
            if tensor.data_type != TensorProto.FLOAT or tensor.data_location != TensorProto.EXTERNAL:
                continue
            shape = shapes.get(tensor.name, [1])
            values = rng.standard_normal(shape).astype(np.float32)
            tensor.CopyFrom(numpy_helper.from_array(values, tensor.name))
        return model

    def hand(
        stem=1, bottleneck=False, bn=False, se="conv", shortcut="conv", head="gemm", softmax=False, storage="raw",
        channels=4, opset=17,
    ):
        nodes, initializers = [], []
        counter = [0]

        def fresh(prefix):
            counter[0] += 1
            return f"{prefix}_{counter[0]}"

        def weight(name, shape, kind=None):
            values = (rng.standard_normal(shape) * 0.5).astype(np.float32)
            kind = kind or storage
            if kind == "raw":
                tensor = numpy_helper.from_array(values, name)
            elif kind == "float_data":
                tensor = helper.make_tensor(name, TensorProto.FLOAT, shape, values.flatten().tolist())
            elif kind == "double":
                tensor = helper.make_tensor(name, TensorProto.DOUBLE, shape, values.astype(np.float64).ravel().tolist())
            elif kind == "double_raw":
                tensor = numpy_helper.from_array(values.astype(np.float64), name)
            elif kind == "f16_int32":  # 16-bit floats one per int32_data entry, as onnx.helper writes them
                tensor = helper.make_tensor(name, TensorProto.FLOAT16, shape, values.astype(np.float16).ravel().tolist())
            elif kind == "f16_raw":
                tensor = numpy_helper.from_array(values.astype(np.float16), name)
            elif kind == "bf16_raw":
                bits = (values.view(np.uint32) >> 16).astype("<u2").tobytes()
                tensor = helper.make_tensor(name, TensorProto.BFLOAT16, shape, bits, raw=True)
            else:
                raise ValueError(kind)
            initializers.append(tensor)
            return name

        def conv(x, out_channels, in_channels, kernel, stride=1, groups=1, relu=True, name=None):
            name = name or fresh("conv")
            w = weight(name + ".weight", [out_channels, in_channels // groups, kernel, kernel])
            inputs = [x, w]
            if not bn:
                inputs.append(weight(name + ".bias", [out_channels]))
            pad = kernel // 2
            y = name + "_out"
            nodes.append(
                helper.make_node(
                    "Conv", inputs, [y], name=name, kernel_shape=[kernel, kernel], strides=[stride, stride],
                    pads=[pad] * 4, dilations=[1, 1], group=groups,
                )
            )
            if bn:
                params = [weight(f"{name}.bn.{p}", [out_channels]) for p in ("scale", "bias", "mean")]
                variance = name + ".bn.var"
                variances = rng.uniform(0.5, 2, [out_channels]).astype(np.float32)
                initializers.append(numpy_helper.from_array(variances, variance))
                nodes.append(
                    helper.make_node("BatchNormalization", [y] + params + [variance], [y + "_bn"], epsilon=1e-5)
                )
                y = y + "_bn"
            if relu:
                nodes.append(helper.make_node("Relu", [y], [y + "_relu"]))
                y = y + "_relu"
            return y

        def pool(x, prefix):
            y = fresh(prefix + "_pool")
            if se == "reducemean" or (head == "matmul" and prefix == "head"):
                if opset >= 18:
                    axes = fresh("axes")
                    initializers.append(numpy_helper.from_array(np.array([2, 3], np.int64), axes))
                    nodes.append(helper.make_node("ReduceMean", [x, axes], [y], keepdims=1))
                else:
                    nodes.append(helper.make_node("ReduceMean", [x], [y], axes=[-1, -2], keepdims=1))
            else:
                nodes.append(helper.make_node("GlobalAveragePool", [x], [y]))
            return y

        def fc(x, out_features, in_features, kind):
            name = fresh("fc")
            y = name + "_out"
            if kind == "gemm":
                w = weight(name + ".weight", [out_features, in_features], "raw")
                b = weight(name + ".bias", [out_features], "float_data")
                nodes.append(helper.make_node("Gemm", [x, w, b], [y], name=name, alpha=1.0, beta=1.0, transB=1))
            elif kind == "matmul":
                w = weight(name + ".weight", [in_features, out_features], "raw")
                nodes.append(helper.make_node("MatMul", [x, w], [name + "_mm"], name=name))
                b = weight(name + ".bias", [out_features], "raw")
                nodes.append(helper.make_node("Add", [name + "_mm", b], [y]))
            else:  # a 1x1 Conv on [N, C, 1, 1]
                w = weight(name + ".weight", [out_features, in_features, 1, 1], "raw")
                b = weight(name + ".bias", [out_features], "raw")
                nodes.append(helper.make_node("Conv", [x, w, b], [y], name=name, kernel_shape=[1, 1]))
            return y

        def squeeze_excite(x, c):
            squeezed = pool(x, "se")
            if se in ("gemm", "matmul"):
                flat = fresh("flat")
                nodes.append(helper.make_node("Flatten", [squeezed], [flat], axis=1))
                hidden = fc(flat, 2, c, se)
            else:
                hidden = fc(squeezed, 2, c, "conv")
            nodes.append(helper.make_node("Relu", [hidden], [hidden + "_relu"]))
            gate = fc(hidden + "_relu", c, 2, se if se in ("gemm", "matmul") else "conv")
            nodes.append(helper.make_node("Sigmoid", [gate], [gate + "_sig"]))
            gate += "_sig"
            if se in ("gemm", "matmul"):
                shape, reshaped = fresh("shape"), fresh("reshaped")
                nodes.append(
                    helper.make_node(
                        "Constant", [], [shape],
                        value=helper.make_tensor(shape, TensorProto.INT64, [4], [-1, c, 1, 1]),
                    )
                )
                nodes.append(helper.make_node("Reshape", [gate, shape], [reshaped]))
                gate = reshaped
            y = fresh("scaled")
            nodes.append(helper.make_node("Mul", [x, gate], [y]))
            return y

        def block(x, in_channels, out_channels, stride):
            if bottleneck:
                width = 4
                y = conv(x, width, in_channels, 1)
                y = conv(y, width, width, 3, stride, groups=2)
                y = conv(y, out_channels, width, 1, relu=False)
            else:
                y = conv(x, out_channels, in_channels, 3, stride)
                y = conv(y, out_channels, out_channels, 3, relu=False)
            y = squeeze_excite(y, out_channels)
            short = x
            if stride > 1 or in_channels != out_channels:
                if shortcut == "avgpool":
                    pooled = fresh("avg")
                    nodes.append(
                        helper.make_node(
                            "AveragePool", [x], [pooled], kernel_shape=[stride, stride], strides=[stride, stride],
                            ceil_mode=1, count_include_pad=0,
                        )
                    )
                    short = conv(pooled, out_channels, in_channels, 1, relu=False)
                else:
                    short = conv(x, out_channels, in_channels, 1, stride, relu=False)
            added = fresh("add")
            nodes.append(helper.make_node("Add", [y, short], [added]))
            nodes.append(helper.make_node("Relu", [added], [added + "_relu"]))
            return added + "_relu"

        x = "input"
        c = channels
        for i in range(stem):
            x = conv(x, c, 3 if i == 0 else c, 7 if stem == 1 else 3, 2 if i == 0 else 1)
        nodes.append(
            helper.make_node(
                "MaxPool", [x], ["stem_pool"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                ceil_mode=1 if shortcut == "avgpool" else 0,
            )
        )
        x = "stem_pool"
        for stage in range(4):
            out = channels * (2 if bottleneck else 1)
            x = block(x, c, out, 1 if stage == 0 else 2)
            c = out
        x = pool(x, "head")
        nodes.append(helper.make_node("Flatten", [x], ["features"], axis=1))
        logits = fc("features", 3, c, head)
        output = logits
        if softmax:
            nodes.append(helper.make_node("Softmax", [logits], ["probabilities"], axis=1))
            output = "probabilities"
        graph = helper.make_graph(
            nodes, "tiny_seresnet",
            [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 32, 32])],
            [helper.make_tensor_value_info(output, TensorProto.FLOAT, ["N", 3])], initializers,
        )
        model = helper.make_model(graph, producer_name="make_seeds", opset_imports=[helper.make_opsetid("", opset)])
        model.ir_version = 8
        return model

    seeds = {}
    for path in sorted((ROOT / "Tests/Fixtures/onnx").glob("*.onnx")):
        # The fixtures as committed (external weights, absent here), stripped of doc strings.
        seeds[f"fixture_{path.stem}"] = strip(onnx.load(str(path), load_external_data=False))
        seeds[f"tiny_{path.stem}"] = tiny(path)
    seeds["hand_basic"] = hand()
    seeds["hand_basic_bn_float_data"] = hand(bn=True, storage="float_data", stem=3)
    seeds["hand_bottleneck_avgpool_softmax"] = hand(bottleneck=True, shortcut="avgpool", softmax=True, se="reducemean")
    seeds["hand_gemm_se_f16"] = hand(se="gemm", storage="f16_int32", head="gemm", opset=13)
    seeds["hand_matmul_bf16_opset18"] = hand(se="matmul", head="matmul", storage="bf16_raw", opset=18)
    seeds["hand_double_stem2"] = hand(storage="double", stem=2)
    seeds["hand_double_raw"] = hand(storage="double_raw", bn=True)
    seeds["hand_f16_raw"] = hand(storage="f16_raw", head="conv", softmax=True)

    # One broken rule each.
    model = hand()
    model.graph.node[0].op_type = "Gelu"
    seeds["bad_unknown_op"] = model
    model = hand()
    model.graph.node[1].domain = "com.microsoft"
    seeds["bad_custom_domain"] = model
    model = hand()
    model.graph.node.insert(0, helper.make_node("Constant", [], ["c"], value_int=3))
    seeds["bad_constant_without_tensor"] = model
    model = hand()
    first = model.graph.initializer[0]
    raw = first.raw_data
    first.ClearField("raw_data")
    first.data_location = TensorProto.EXTERNAL
    for key, value in [("location", "weights.bin"), ("offset", "16"), ("length", str(len(raw)))]:
        entry = first.external_data.add()
        entry.key, entry.value = key, value
    seeds["bad_external_data"] = model
    model = hand()
    entry = model.graph.initializer[0]
    entry.ClearField("raw_data")
    entry.data_location = TensorProto.EXTERNAL
    kv = entry.external_data.add()
    kv.key, kv.value = "location", "../outside.bin"
    seeds["bad_external_outside"] = model
    model = hand()
    model.graph.initializer[0].dims[0] = 5
    seeds["bad_weight_size"] = model
    model = hand()
    model.graph.initializer[0].data_type = TensorProto.INT8
    seeds["bad_weight_dtype"] = model
    model = hand()
    model.graph.node.append(helper.make_node("Identity", ["stray_in"], ["stray_out"], name="stray"))
    model.graph.node.append(helper.make_node("Sigmoid", ["input"], ["stray_sigmoid"], name="stray\nline"))
    seeds["bad_stray_node"] = model
    model = hand()
    model.graph.output.append(helper.make_tensor_value_info("second", TensorProto.FLOAT, [1]))
    seeds["bad_two_outputs"] = model
    model = hand()
    del model.graph.node[:]
    seeds["bad_no_nodes"] = model

    out = {}
    for name, model in seeds.items():
        data = model.SerializeToString()
        if len(data) > 65536:
            print(f"  {name}: {len(data)} bytes, over the fuzzers' 64 KiB limit (libFuzzer truncates it)")
        out[name] = data
    out["bad_truncated"] = out["hand_basic"][: len(out["hand_basic"]) // 2]
    out["bad_not_protobuf"] = b"\x08\x07\x12\xff\xff\xff\xff\x0f"
    return out


def main():
    groups = [("safetensors", safetensors_seeds()), ("npy", npy_seeds())]
    try:
        groups.append(("onnx", onnx_seeds()))
    except ImportError as error:
        print(f"no ONNX seeds: {error}")
    for name, seeds in groups:
        folder = SEEDS / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for seed, content in seeds.items():
            (folder / seed).write_bytes(content)
        print(f"{len(seeds)} seeds in {folder.relative_to(ROOT)}")
    shutil.copy(ROOT / "Tests/Fixtures/dtypes.safetensors", SEEDS / "safetensors" / "fixture_dtypes")
    shutil.copy(ROOT / "Tests/Fixtures/input_1x3x32x40.npy", SEEDS / "npy" / "fixture_input_1x3x32x40")


if __name__ == "__main__":
    main()
