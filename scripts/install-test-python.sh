#!/usr/bin/env bash
# The test-time Python for the serve tests: tritonclient[http,grpc] and the kserve SDK (the
# clients users have), numpy and PyYAML (the deployment manifests' parser) in .venv-test. Skips
# what is already there. tritonclient.grpc and kserve both register protobuf's `inference.*`
# messages, so a process imports one of them, never both (Tests/serve/kserve_client.py alone).
set -euo pipefail
cd "$(dirname "$0")/.."
if .venv-test/bin/python -c "import tritonclient.http, tritonclient.grpc, numpy, yaml" 2>/dev/null \
    && .venv-test/bin/python -c "import kserve" 2>/dev/null; then exit 0; fi
echo "installing tritonclient[http,grpc], kserve, numpy and PyYAML into .venv-test" >&2
python3 -m venv .venv-test
.venv-test/bin/pip install --quiet --disable-pip-version-check "tritonclient[http,grpc]" kserve numpy pyyaml
