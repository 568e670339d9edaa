#!/usr/bin/env python3
"""Pure-Python tests of bench/peers.py (no torch, ORT or OpenCL): round math, verdicts,
the senet-gpu JSON parsing with a fake binary, and the Markdown/JSON report.

    python3 bench/test_peers.py        # or: bench/peers.sh --self-test
"""

import os
import stat
import sys
import tempfile
import textwrap
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peers  # noqa: E402

FAKE = textwrap.dedent("""\
    #!/bin/sh
    # Fake senet-gpu: `bench --help` lists --no-startup only; `bench ... --json` prints noise and JSON
    # whose medianMs is 10 * (device + 1).
    [ "$1" = "--version" ] && { echo 9.9.9; exit 0; }
    [ "$2" = "--help" ] && { echo "  --no-startup   Skip start-up."; echo "  --no-ceilingx  Not a match."; exit 0; }
    dev=0; batch=1
    while [ $# -gt 0 ]; do
      case "$1" in --device) dev=$2;; --batch) batch=$2;; esac; shift
    done
    [ "$dev" = 7 ] && { echo "no device 7" >&2; exit 2; }
    echo "compiling kernels..."
    ms=$(( 10 * (dev + 1) ))
    echo "{\\"batch\\":$batch,\\"iterations\\":3,\\"device\\":\\"#$dev fake\\",\\"medianMs\\":$ms,\\"minMs\\":$ms}"
    """)


def rnd(**ms):
    """A round record with the given engine medians (None = failed)."""
    return {"engines": {k.replace("_", ":"): ({} if v is None else {"medianMs": v}) for k, v in ms.items()}}


class RoundMath(unittest.TestCase):
    def test_order_alternates(self):
        keys = ["senet-gpu:0", "senet-gpu:1", "onnxruntime", "pytorch"]
        self.assertEqual(peers.round_order(keys, 0), keys)
        self.assertEqual(peers.round_order(keys, 1), keys[::-1])
        self.assertEqual(peers.round_order(keys, 2), keys)

    def test_median_of_round_ratios(self):
        # Ratios 2.0, 1.0, 1.5 and a round without senet-gpu: median 1.5, not the ratio of medians.
        rounds = [rnd(**{"senet-gpu_0": 20, "onnxruntime": 10}), rnd(**{"senet-gpu_0": 30, "onnxruntime": 30}),
                  rnd(**{"senet-gpu_0": 12, "onnxruntime": 8}), rnd(**{"senet-gpu_0": None, "onnxruntime": 9})]
        s = peers.summarise(4, rounds, ["senet-gpu:0"], ["onnxruntime"])
        lat = s["ratios"]["senet-gpu:0"]["onnxruntime"]["latency"]
        self.assertEqual((lat["median"], lat["min"], lat["max"]), (1.5, 1.0, 2.0))
        self.assertEqual(len(lat["perRound"]), 3)
        thr = s["ratios"]["senet-gpu:0"]["onnxruntime"]["throughput"]
        self.assertAlmostEqual(thr["median"], 2 / 3)
        self.assertEqual((thr["min"], thr["max"]), (0.5, 1.0))
        e = s["engines"]["senet-gpu:0"]
        self.assertEqual((e["medianOfRoundMediansMs"], e["fastestRoundMs"], e["slowestRoundMs"], e["roundsOk"]),
                         (20, 12, 30, 3))
        self.assertEqual(s["engines"]["onnxruntime"]["medianOfRoundMediansMs"], 9.5)
        self.assertEqual(e["imagesPerSecond"], 200.0)

    def test_verdicts(self):
        self.assertEqual(peers.verdict(1.2, 1.5, True), "met")
        self.assertEqual(peers.verdict(1.0, 1.0, True), "met")
        self.assertEqual(peers.verdict(3.0, 1.5, True), "missed by 2.00×")
        self.assertEqual(peers.verdict(0.4, 0.8, False), "missed by 2.00×")
        line = peers.target_line(1, {"latency": {"median": 1.2}, "throughput": {"median": 0.8}})
        self.assertEqual(line, "senet-gpu/ORT latency 1.20×: target ≤ 1.0× missed by 1.20×")
        line = peers.target_line(1, {"latency": {"median": 0.9}}, {"latency": {"median": 1.5}})
        self.assertEqual(line, "senet-gpu/ORT latency 0.90×: target ≤ 1.0× met; senet-gpu/OpenVINO 1.50×: aim ≤ 1.0× "
                         "missed by 1.50×")
        line = peers.target_line(8, {"latency": {"median": 1.0}, "throughput": {"median": 0.9}})
        self.assertEqual(line, "senet-gpu/ORT throughput 0.90×: target ≥ 1.0× missed by 1.11×")
        self.assertIsNone(peers.target_line(2, {"latency": {"median": 1.0}}))


class FakeBinary(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.binary = os.path.join(self.dir.name, "senet-gpu")
        Path(self.binary).write_text(FAKE)
        os.chmod(self.binary, os.stat(self.binary).st_mode | stat.S_IXUSR)

    def tearDown(self):
        self.dir.cleanup()

    def test_parse_json(self):
        self.assertEqual(peers.parse_json('log\n{"medianMs": 3}\n'), {"medianMs": 3})
        self.assertEqual(peers.parse_json('{"a": 1,\n "b": 2}'), {"a": 1, "b": 2})
        self.assertIsNone(peers.parse_json("no json\n[1, 2]"))

    def test_flags_and_rounds(self):
        self.assertEqual(peers.bench_flags(self.binary), ["--no-startup"])
        args = peers.parse_args(["--model", "seresnet18", "--size", "64", "--iterations", "3", "--devices", "0,1",
                                 "--kernel-family", "cpu", "--senet-gpu-args", "--cpu-ops 'layer4*'",
                                 "--senet-gpu", self.binary, "--no-torch"])
        cmd = peers.senet_gpu_command(self.binary, args, 1, 2, ["--no-startup"])
        self.assertEqual(cmd[1:4] + cmd[-6:], ["bench", "--device", "1", "--json", "--no-startup",
                                               "--kernel-family", "cpu", "--cpu-ops", "layer4*"])
        self.assertEqual(peers.parse_args(["--senet-gpu-args=--no-cache"]).extra_args, ["--no-cache"])
        again = peers.parse_args(peers.shlex.split(peers.reproduce_command(args))[1:])
        self.assertEqual((again.extra_args, again.device_list, again.no_torch), (["--cpu-ops", "layer4*"], [0, 1], True))
        expect = {"batch": 2, "iterations": 3}
        engines = {f"senet-gpu:{d}": (lambda d=d: peers.run_senet_gpu(
            peers.senet_gpu_command(self.binary, args, d, 2, []), 30, expect)) for d in (0, 1, 7)}
        engines["onnxruntime"] = lambda: {"medianMs": 5.0, "timesMs": [5.0]}
        rounds = peers.run_rounds(engines, 2)
        self.assertEqual(rounds[1]["order"][0], "onnxruntime")
        r0 = rounds[0]["engines"]
        self.assertEqual((r0["senet-gpu:0"]["medianMs"], r0["senet-gpu:1"]["medianMs"]), (10.0, 20.0))
        self.assertEqual(r0["senet-gpu:1"]["json"]["device"], "#1 fake")
        self.assertNotIn("mismatch", r0["senet-gpu:0"])
        self.assertIn("error", r0["senet-gpu:7"])  # exit 2: recorded, not fatal
        s = peers.summarise(2, rounds, ["senet-gpu:0", "senet-gpu:1", "senet-gpu:7"], ["onnxruntime"])
        self.assertEqual(s["ratios"]["senet-gpu:1"]["onnxruntime"]["latency"]["median"], 4.0)
        self.assertEqual(s["ratios"]["senet-gpu:1"]["onnxruntime"]["throughput"]["median"], 0.25)
        self.assertIsNone(s["engines"]["senet-gpu:7"])

        report = {"settings": {"model": "seresnet18", "size": 64, "threads": 2, "rounds": 2, "iterations": 3,
                               "warmup": 3, "kernelFamily": "cpu", "senetGpuArgs": ""},
                  "peers": ["onnxruntime"], "senetGpuKeys": ["senet-gpu:0", "senet-gpu:1", "senet-gpu:7"],
                  "reproduce": peers.reproduce_command(args), "date": "2026-01-02T03:04:05+00:00",
                  "machine": "m", "loadAverageBefore": [0.1, 0.2, 0.3],
                  "versions": {"onnxruntime": "1", "torch": None, "pocl": "PoCL x", "senetGpu": "9.9.9",
                               "python": "3"},
                  "deviceNames": {"senet-gpu:0": "#0 fake"}, "warnings": ["w"], "jsonOut": "bench/results/x.json",
                  "batches": [{"batch": 1, "summary": s, "ortVsTorchMaxAbsDiff": None}]}
        md = peers.markdown(report)
        self.assertTrue(md.startswith("Reproduce: `bench/peers.sh --model seresnet18"))
        self.assertTrue(md.endswith("Raw data: `bench/results/x.json`"))
        self.assertIn("| 1 | 1 | 4.00× (4.00–4.00) | 0.25× (0.25–0.25) | 2 |", md)
        self.assertIn("- batch 1, device 0: senet-gpu/ORT latency 2.00×: target ≤ 1.0× missed by 2.00×", md)
        self.assertIn("| batch | device | latency vs ONNX Runtime | throughput vs ONNX Runtime | rounds |", md)
        self.assertIn("| 1 | senet-gpu dev 7 | failed |", md)


if __name__ == "__main__":
    unittest.main()
