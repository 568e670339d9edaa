#!/usr/bin/env bash
# Installs the system packages senet-gpu needs, only when some are missing (Debian/Ubuntu).
# The OpenCL headers and ICD loader are needed to build; PoCL gives an OpenCL device on the CPU
# so everything runs on a host without a GPU.
set -euo pipefail

packages=(ocl-icd-opencl-dev opencl-headers pocl-opencl-icd clinfo pkg-config libturbojpeg0-dev libpng-dev)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]} == 0)); then exit 0; fi

echo "installing: ${missing[*]}" >&2
sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
