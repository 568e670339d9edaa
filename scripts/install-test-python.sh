#!/usr/bin/env bash
# The test-time Python for the serve tests: tritonclient[http] (the client users have), numpy
# and PyYAML (the deployment manifests' parser) in .venv-test. Skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
if .venv-test/bin/python -c "import tritonclient.http, numpy, yaml" 2>/dev/null; then exit 0; fi
echo "installing tritonclient[http], numpy and PyYAML into .venv-test" >&2
python3 -m venv .venv-test
.venv-test/bin/pip install --quiet --disable-pip-version-check "tritonclient[http]" numpy pyyaml
