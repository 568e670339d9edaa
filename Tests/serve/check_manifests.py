#!/usr/bin/env python3
"""Checks the deployment manifests in docs/DEPLOY.md against the server they deploy.

Usage: check_manifests.py DEPLOY.md SERVE_HELP.txt CONTAINERFILE

Nothing here is applied to a cluster (there is none where this runs): every ```yaml block must
parse, and what must agree with `senet-gpu serve` does: flags, probe paths and ports, Service
and autoscaler targets, metric names, GPU resource names, the image's ENTRYPOINT and EXPOSE.
Prints each check; exits 1 listing every failure. Run by Tests/CLITests/DeployManifestTests.swift.
"""
import json
import pathlib
import re
import sys

import yaml

API_VERSIONS = {
    "InferenceService": "serving.kserve.io/v1beta1",
    "Deployment": "apps/v1",
    "Service": "v1",
    "HorizontalPodAutoscaler": "autoscaling/v2",
    "ConfigMap": "v1",
}
GPU_RESOURCES = {"amd.com/gpu", "gpu.intel.com/i915", "nvidia.com/gpu"}
PLAIN_RESOURCES = {"cpu", "memory", "ephemeral-storage"}
SCALING_METRICS = {"senet_queue_depth", "senet_request_duration_seconds"}
PROBES = {"readinessProbe": "/v2/health/ready", "livenessProbe": "/v2/health/live"}
# The metric names the server registers are read from its sources, so a renamed metric fails here.
SERVER_SOURCES = pathlib.Path(__file__).resolve().parents[2] / "Sources" / "SENetServe"


class Checker:
    def __init__(self):
        self.failures = []
        self.passed = 0

    def check(self, condition, what):
        """Records and prints `what` as passed or failed; returns the condition."""
        if condition:
            self.passed += 1
            print(f"ok: {what}")
        else:
            self.failures.append(what)
            print(f"FAIL: {what}")
        return condition


def help_flags(help_text):
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", help_text))


def help_default(help_text, flag):
    """The `(default: X)` in `flag`'s entry of the help text, as a float, else None."""
    entry = re.search(re.escape(flag) + r" <[^>]*>(.*?)(?=\n  -|\Z)", help_text, flags=re.S)
    value = entry and re.search(r"\(default:\s*([\d.]+)\)", entry.group(1))
    return float(value.group(1)) if value else None


def flag_value(argv, flag):
    """The last value given to `flag` in argv (`--flag v` or `--flag=v`), else None."""
    value = None
    for i, arg in enumerate(argv):
        if arg == flag and i + 1 < len(argv):
            value = argv[i + 1]
        elif arg.startswith(flag + "="):
            value = arg.split("=", 1)[1]
    return value


def flags_in(argv):
    return [arg.split("=", 1)[0] for arg in argv if arg.startswith("--")]


def containerfile_facts(text):
    """The final stage's ENTRYPOINT (exec form), EXPOSEd ports and USER."""
    final = re.split(r"^FROM\s", text, flags=re.M)[-1]
    entry = re.findall(r"^ENTRYPOINT\s+(\[.*\])\s*$", final, flags=re.M)
    exposed = re.findall(r"^EXPOSE\s+(.+)$", final, flags=re.M)
    ports = {int(port.split("/")[0]) for line in exposed for port in line.split()}
    users = re.findall(r"^USER\s+(\S+)", final, flags=re.M)
    return (json.loads(entry[-1]) if entry else []), ports, (users[-1] if users else None)


def server_metrics():
    names = set()
    for source in SERVER_SOURCES.rglob("*.swift"):
        names |= set(re.findall(r'"(senet_[a-z0-9_]+)"', source.read_text()))
    return names


def pod_spec(document):
    """The pod spec of a Deployment, or the predictor of an InferenceService (a pod spec inline)."""
    if document["kind"] == "Deployment":
        return document["spec"]["template"]["spec"]
    return document["spec"]["predictor"]


def gpu_resources(spec):
    """The GPU resource names any container of a pod spec asks for."""
    return {
        name
        for container in spec.get("containers") or []
        for key in ("limits", "requests")
        for name in (container.get("resources") or {}).get(key) or {}
        if name in GPU_RESOURCES
    }


def check_containerfile(c, flags, entrypoint, user):
    c.check(entrypoint[:2] == ["senet-gpu", "serve"], f"Containerfile ENTRYPOINT runs senet-gpu serve ({entrypoint})")
    for flag in flags_in(entrypoint):
        c.check(flag in flags, f"Containerfile ENTRYPOINT flag {flag} is in `senet-gpu serve --help`")
    c.check(user not in (None, "0", "root"), f"Containerfile runs as a non-root USER ({user})")


def load_documents(c, markdown):
    documents = []
    for number, block in enumerate(re.findall(r"^```yaml\n(.*?)^```", markdown, flags=re.M | re.S), 1):
        try:
            loaded = [d for d in yaml.safe_load_all(block) if d is not None]
        except yaml.YAMLError as error:
            c.check(False, f"yaml block {number} parses: {error}")
            continue
        c.check(True, f"yaml block {number} parses ({len(loaded)} documents)")
        documents += loaded
    for d in documents:
        name = (d.get("metadata") or {}).get("name") if isinstance(d, dict) else None
        c.check(name and d.get("apiVersion") and d.get("kind"), f"{d.get('kind')}/{name} has apiVersion, kind, metadata.name")
        if d.get("kind") in API_VERSIONS:
            expected = API_VERSIONS[d["kind"]]
            c.check(d.get("apiVersion") == expected, f"{d['kind']}/{name} apiVersion is {expected}")
    kinds = {d.get("kind") for d in documents}
    c.check(set(API_VERSIONS) <= kinds, f"kinds {sorted(kinds)} include {sorted(API_VERSIONS)}")
    return {kind: [d for d in documents if d.get("kind") == kind] for kind in API_VERSIONS}


def check_workload(c, d, container, entrypoint, flags, help_text):
    """One container of a Deployment or InferenceService: what runs, its ports, probes, resources."""
    where = f"{d['kind']}/{d['metadata']['name']} container {container.get('name')}"
    args = [str(a) for a in container.get("args") or []]
    if container.get("command"):
        argv = [str(a) for a in container["command"]] + args
    else:  # The image's ENTRYPOINT runs, with args after it.
        image = container.get("image", "")
        c.check("senet-gpu" in image, f"{where} image {image} is the senet-gpu image (its ENTRYPOINT runs)")
        argv = entrypoint + args
    c.check(argv[:2] == ["senet-gpu", "serve"], f"{where} runs `senet-gpu serve` (argv {argv[:2]})")
    for flag in flags_in(argv):
        c.check(flag in flags, f"{where} flag {flag} is in `senet-gpu serve --help`")
    ports = container.get("ports") or []
    numbers = {p.get("containerPort") for p in ports}
    names = {p.get("name") for p in ports if p.get("name")}
    port = flag_value(argv, "--port")
    listens = port and port.isdigit() and int(port) in numbers
    c.check(listens, f"{where} listens (--port {port}) on its containerPort {sorted(numbers)}")
    c.check(flag_value(argv, "--host") == "0.0.0.0", f"{where} listens on 0.0.0.0 (--host), not loopback")
    for probe, path in PROBES.items():
        get = (container.get(probe) or {}).get("httpGet") or {}
        c.check(get.get("path") == path, f"{where} {probe} GETs {path} (has {get.get('path')})")
        c.check(get.get("port") in numbers | names, f"{where} {probe} port {get.get('port')} is the container port")
    resources = container.get("resources") or {}
    for name in sorted({n for key in ("limits", "requests") for n in resources.get(key) or {}}):
        known = name in PLAIN_RESOURCES | GPU_RESOURCES or name.startswith("hugepages-")
        c.check(known, f"{where} resource {name} is cpu, memory or one of {sorted(GPU_RESOURCES)}")
    if d["kind"] == "InferenceService":
        env = {e.get("name"): e.get("value") for e in container.get("env") or []}
        c.check(container.get("name") == "kserve-container", f"{where} is named kserve-container")
        c.check(env.get("PROTOCOL") == "v2", f"{where} sets PROTOCOL=v2 (a custom predictor's protocol version)")
        port_names = [p.get("name") for p in ports]
        c.check(port_names and set(port_names) <= {"http1", "h2c"}, f"{where} port name {port_names} is http1 or h2c")
        return
    # Deployment: a preStop sleep, then SIGTERM, then the server's drain window and drain
    # timeout (or a queued request's --timeout, if longer): the grace period must cover them all.
    stop = (container.get("lifecycle") or {}).get("preStop") or {}
    command = (stop.get("exec") or {}).get("command") or []
    sleep = command[1] if command[:1] == ["sleep"] and len(command) == 2 else (stop.get("sleep") or {}).get("seconds")
    c.check(sleep is not None and float(sleep) > 0, f"{where} has a preStop sleep ({sleep} s) before SIGTERM")
    def setting(flag):
        return float(flag_value(argv, flag) or help_default(help_text, flag) or 0)
    drain = max(setting("--timeout"), setting("--drain-timeout"))
    needed = float(sleep or 0) + setting("--drain-window") + drain
    grace = pod_spec(d).get("terminationGracePeriodSeconds")
    enough = grace is not None and grace > needed
    c.check(enough, f"{where} terminationGracePeriodSeconds {grace} > preStop + --drain-window + "
            f"max(--timeout, --drain-timeout) ({needed:g} s)")


def check_service(c, s, deployments):
    name = s["metadata"]["name"]
    selector = s["spec"].get("selector") or {}
    targets = [d for d in deployments if selector and selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()]
    c.check(targets, f"Service/{name} selector {selector} selects a Deployment's pods")
    for port in s["spec"].get("ports") or []:
        target = port.get("targetPort", port.get("port"))
        ports = [[p for ct in pod_spec(d)["containers"] for p in ct.get("ports") or []] for d in targets]
        matches = [any(target in (p.get("containerPort"), p.get("name")) for p in pod_ports) for pod_ports in ports]
        c.check(matches and all(matches), f"Service/{name} targetPort {target} is the Deployment's container port")


def check_autoscaling(c, config_maps, autoscalers, deployments):
    served = server_metrics()
    c.check(SCALING_METRICS <= served, f"the server registers {sorted(SCALING_METRICS)} ({len(served)} senet_ metrics found)")
    adapted = set()
    for m in config_maps:
        for key, text in (m.get("data") or {}).items():
            for rule in (yaml.safe_load(text) or {}).get("rules") or []:
                series = re.match(r"'?([a-zA-Z_:][a-zA-Z0-9_:]*)", rule.get("seriesQuery", "")).group(1)
                exported = re.sub(r"_(count|sum|bucket)$", "", series) in served
                c.check(exported, f"ConfigMap/{m['metadata']['name']} {key}: a rule reads {series}, which the server exports")
                adapted.add((rule.get("name") or {}).get("as") or series)
    names = {d["metadata"]["name"] for d in deployments}
    for h in autoscalers:
        where = f"HPA/{h['metadata']['name']}"
        ref = h["spec"].get("scaleTargetRef") or {}
        c.check(ref.get("kind") == "Deployment" and ref.get("name") in names, f"{where} scales Deployment/{ref.get('name')}")
        metrics = h["spec"].get("metrics") or []
        c.check(metrics, f"{where} has metrics")
        for metric in metrics:
            kind = metric.get("type", "")  # Pods -> pods, Object -> object, External -> external
            name = ((metric.get(kind[:1].lower() + kind[1:]) or {}).get("metric") or {}).get("name")
            c.check(name in SCALING_METRICS, f"{where} metric {name} is one of {sorted(SCALING_METRICS)}")
            c.check(name in adapted, f"{where} metric {name} is made by a prometheus-adapter rule")


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: check_manifests.py DEPLOY.md SERVE_HELP.txt CONTAINERFILE")
    markdown, help_text, containerfile = (pathlib.Path(p).read_text() for p in sys.argv[1:])
    c = Checker()
    flags = help_flags(help_text)
    c.check(len(flags) > 10 and "--max-batch" in flags, f"the help text lists serve's flags ({len(flags)})")
    entrypoint, exposed, user = containerfile_facts(containerfile)
    check_containerfile(c, flags, entrypoint, user)

    by_kind = load_documents(c, markdown)
    deployments = by_kind["Deployment"]
    container_ports, gpu_used = set(), set()
    for d in deployments + by_kind["InferenceService"]:
        containers = pod_spec(d).get("containers") or []
        c.check(containers, f"{d['kind']}/{d['metadata']['name']} has containers")
        for container in containers:
            check_workload(c, d, container, entrypoint, flags, help_text)
            container_ports |= {p.get("containerPort") for p in container.get("ports") or []}
        gpu_used |= gpu_resources(pod_spec(d))
    for d in deployments:
        labels, match = d["spec"]["template"]["metadata"]["labels"], d["spec"]["selector"]["matchLabels"]
        c.check(match.items() <= labels.items(), f"Deployment/{d['metadata']['name']} selector matches its pod labels")
    cpu_only = [d["metadata"]["name"] for d in deployments if not gpu_resources(pod_spec(d))]
    c.check(cpu_only, f"a CPU-only Deployment (no GPU resource) is shown: {cpu_only}")
    covered = exposed and container_ports <= exposed
    c.check(covered, f"Containerfile EXPOSE {sorted(exposed)} covers containerPorts {sorted(container_ports)}")
    for s in by_kind["Service"]:
        check_service(c, s, deployments)
    check_autoscaling(c, by_kind["ConfigMap"], by_kind["HorizontalPodAutoscaler"], deployments)

    c.check(gpu_used and gpu_used <= GPU_RESOURCES, f"GPU resources in the manifests: {sorted(gpu_used)}")
    for resource in sorted(GPU_RESOURCES):
        c.check(resource in markdown, f"the doc names {resource}")
    c.check(re.search(r"not run on a cluster", markdown, flags=re.I), "the doc says the manifests were not run on a cluster")

    if c.failures:
        print(f"check_manifests: {len(c.failures)} of {len(c.failures) + c.passed} checks FAILED:", file=sys.stderr)
        for failure in c.failures:
            print(f"  {failure}", file=sys.stderr)
        sys.exit(1)
    print(f"check_manifests: all {c.passed} checks passed")


if __name__ == "__main__":
    try:
        main()
    except (KeyError, TypeError, AttributeError) as error:  # A manifest without a field the checks read.
        sys.exit(f"check_manifests: FAILED: a manifest lacks or misshapes a field the checks need: {error!r}")
