"""Summaries of interleaved benchmark rounds and their Markdown report (pure functions of
the raw data; bench/peers.py measures, bench/test_peers.py tests these)."""

from __future__ import annotations

import statistics
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = 1  # synthetic weights and inputs (tools/synthetic.py)
# Targets of issue 34, as medians of the per-round ratios: the target against ORT, the aim
# against OpenVINO (fp32 forced).
LATENCY_BATCH, LATENCY_TARGET, LATENCY_AIM = 1, 1.0, 1.0  # latency at batch 1: at most
THROUGHPUT_BATCH, THROUGHPUT_TARGET, THROUGHPUT_AIM = 8, 1.0, 1.0  # images/s at batch 8: at least
ORT, OPENVINO, TORCH = "onnxruntime", "openvino", "pytorch"
LABELS = {ORT: "ONNX Runtime", OPENVINO: "OpenVINO", TORCH: "PyTorch"}

# --- statistics (pure; see bench/test_peers.py) --------------------------------

def stats(batch: int, times: list[float]) -> dict:
    med = statistics.median(times)
    return {"medianMs": med, "minMs": min(times), "maxMs": max(times),
            "msPerImage": med / batch, "imagesPerSecond": batch * 1e3 / med}


def spread(values: list[float]) -> dict | None:
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "perRound": values}


def round_order(keys: list[str], round_index: int) -> list[str]:
    """Forward in even rounds, reversed in odd ones, so no engine always runs first."""
    return list(keys) if round_index % 2 == 0 else list(reversed(keys))


def engine_ms(rnd: dict, key: str) -> float | None:
    entry = rnd["engines"].get(key)
    return entry.get("medianMs") if entry else None


def summarise(batch: int, rounds: list[dict], sg_keys: list[str], peer_keys: list[str]) -> dict:
    """Per engine: median/min/max of round medians. Per senet-gpu key and peer: per-round ratios.

    A round counts for a ratio only when both of its engines produced a median.
    Latency ratio = senet-gpu ms / peer ms; throughput ratio = senet-gpu images/s / peer images/s.
    """
    engines = {}
    for key in sg_keys + peer_keys:
        meds = [m for m in (engine_ms(r, key) for r in rounds) if m is not None]
        engines[key] = None if not meds else {
            "medianOfRoundMediansMs": statistics.median(meds), "fastestRoundMs": min(meds),
            "slowestRoundMs": max(meds), "roundsOk": len(meds),
            "msPerImage": statistics.median(meds) / batch,
            "imagesPerSecond": batch * 1e3 / statistics.median(meds)}
    ratios = {}
    for sg in sg_keys:
        ratios[sg] = {}
        for peer in peer_keys:
            pairs = [(engine_ms(r, sg), engine_ms(r, peer)) for r in rounds]
            pairs = [(a, b) for a, b in pairs if a is not None and b is not None]
            ratios[sg][peer] = {"latency": spread([a / b for a, b in pairs]),
                                "throughput": spread([(batch * 1e3 / a) / (batch * 1e3 / b) for a, b in pairs])}
    return {"engines": engines, "ratios": ratios}


def verdict(ratio: float, target: float, at_most: bool) -> str:
    if (ratio <= target) if at_most else (ratio >= target):
        return "met"
    return f"missed by {ratio / target if at_most else target / ratio:.2f}×"


def target_line(batch: int, ratios: dict, openvino: dict | None = None) -> str | None:
    """Verdict against the target (ORT's ratios) and the aim (OpenVINO's, when it ran), for the
    batch sizes that have one."""
    if batch == LATENCY_BATCH and ratios.get("latency"):
        what, sign, target, aim, at_most = "latency", "≤", LATENCY_TARGET, LATENCY_AIM, True
    elif batch == THROUGHPUT_BATCH and ratios.get("throughput"):
        what, sign, target, aim, at_most = "throughput", "≥", THROUGHPUT_TARGET, THROUGHPUT_AIM, False
    else:
        return None
    r = ratios[what]["median"]
    line = f"senet-gpu/ORT {what} {r:.2f}×: target {sign} {target}× {verdict(r, target, at_most)}"
    if openvino and openvino.get(what):
        o = openvino[what]["median"]
        line += f"; senet-gpu/OpenVINO {o:.2f}×: aim {sign} {aim}× {verdict(o, aim, at_most)}"
    return line


# --- report ------------------------------------------------------------------------

def fmt_spread(s: dict | None) -> str:
    return "—" if s is None else f"{s['median']:.2f}× ({s['min']:.2f}–{s['max']:.2f})"


def display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def markdown(report: dict) -> str:
    """The Markdown summary of a raw report (pure function of it)."""
    a = report["settings"]
    peers = report["peers"]
    sg_keys = report["senetGpuKeys"]
    lines = [f"Reproduce: `{report['reproduce']}`", ""]
    lines.append(f"### {a['model']}, {a['size']}×{a['size']}, synthetic weights (seed {SEED}) — "
                 f"{report['date'][:16].replace('T', ' ')}")
    lines.append("")
    load = report["loadAverageBefore"]
    lines.append(f"- Machine: {report['machine']}; load average before {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} "
                 f"(1 / 5 / 15 min)")
    v = report["versions"]
    lines.append(f"- Versions: onnxruntime {v['onnxruntime']}, openvino {v.get('openvino') or 'not used'}, "
                 f"torch {v['torch'] or 'not used'}, "
                 f"{v['pocl']}, senet-gpu {v['senetGpu']}, Python {v['python']}")
    devs = ", ".join(f"{k.split(':')[1]} = {report['deviceNames'].get(k) or '?'}" for k in sg_keys) or "none"
    extra = ""
    if a.get("kernelFamily"):
        extra += f", `--kernel-family {a['kernelFamily']}`"
    if a.get("senetGpuArgs"):
        extra += f", extra args `{a['senetGpuArgs']}`"
    lines.append(f"- senet-gpu on OpenCL device {devs}{extra}; {', '.join(LABELS[p] for p in peers)} on "
                 f"{a['threads']} threads" + (" (OpenVINO: fp32 forced, one stream)" if OPENVINO in peers else ""))
    lines.append(f"- {a['rounds']} interleaved rounds per batch; per round and engine {a['warmup']} warm-up + "
                 f"{a['iterations']} timed calls, median (senet-gpu: one `bench --json` process, its own median; "
                 "peers: time.perf_counter around each call); order alternates each round. Engine ms: median of "
                 "round medians (fastest–slowest round). Ratios: median of per-round ratios (lowest–highest round)")
    lines.append("")
    lines.append("| batch | engine | median ms | round medians ms | ms / image | images/s |")
    lines.append("|---:|---|---:|---|---:|---:|")
    for b in report["batches"]:
        for key in sg_keys + peers:
            label = (f"senet-gpu dev {key.split(':')[1]}" if key in sg_keys else LABELS[key])
            e = b["summary"]["engines"][key]
            if e is None:
                lines.append(f"| {b['batch']} | {label} | failed | | | |")
            else:
                lines.append(f"| {b['batch']} | {label} | {e['medianOfRoundMediansMs']:.2f} | "
                             f"{e['fastestRoundMs']:.2f}–{e['slowestRoundMs']:.2f} | {e['msPerImage']:.2f} | "
                             f"{e['imagesPerSecond']:.2f} |")
    lines.append("")
    if sg_keys:
        head, rule = "| batch | device |", "|---:|---:|"
        for peer in peers:
            head += f" latency vs {LABELS[peer]} | throughput vs {LABELS[peer]} |"
            rule += "---:|---:|"
        lines += [head + " rounds |", rule + "---:|"]
        for b in report["batches"]:
            for key in sg_keys:
                rs = b["summary"]["ratios"][key]
                n = len((rs[ORT]["latency"] or {}).get("perRound", []))
                row = f"| {b['batch']} | {key.split(':')[1]} |"
                for peer in peers:
                    row += f" {fmt_spread(rs[peer]['latency'])} | {fmt_spread(rs[peer]['throughput'])} |"
                lines.append(row + f" {n} |")
        lines.append("")
        for b in report["batches"]:
            for key in sg_keys:
                t = target_line(b["batch"], b["summary"]["ratios"][key][ORT], b["summary"]["ratios"][key].get(OPENVINO))
                if t:
                    lines.append(f"- batch {b['batch']}, device {key.split(':')[1]}: {t}")
    else:
        lines.append("- senet-gpu missing: peers only")
    for b in report["batches"]:
        for peer, field in ((TORCH, "ortVsTorchMaxAbsDiff"), (OPENVINO, "ortVsOpenVINOMaxAbsDiff")):
            if b.get(field) is not None:
                lines.append(f"- batch {b['batch']}: ORT vs {LABELS[peer]} output max |Δ| {b[field]:.2e}")
    for w in report.get("warnings", []):
        lines.append(f"- Warning: {w}")
    lines.append("")
    lines.append(f"Raw data: `{report['jsonOut']}`")
    return "\n".join(lines)
