#!/usr/bin/env bash
# Installs a headless browser for the test that renders `compare --report`'s page
# (CompareReportCLITests), only when none is there. Debian 12 ships chromium-headless-shell;
# where apt has no such package the install is skipped with a note, and that one test skips.
set -euo pipefail
for browser in chromium-headless-shell chromium chromium-browser; do
    if command -v "$browser" >/dev/null || [[ -x /usr/lib/chromium/$browser ]]; then exit 0; fi
done
sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-cache show chromium-headless-shell >/dev/null 2>&1; then $sudo apt-get update -qq; fi
if apt-cache show chromium-headless-shell >/dev/null 2>&1; then
    echo "installing: chromium-headless-shell" >&2
    $sudo apt-get install -y -qq --no-install-recommends chromium-headless-shell >/dev/null
else
    echo "note: apt has no chromium-headless-shell; the report-rendering test will skip" >&2
fi
