#!/usr/bin/env bash
# Installs Intel's OpenCL CPU runtime (PyPI: intel-opencl-rt, intel-cmplr-lib-rt) into a virtual
# environment and registers it with the ICD loader, so a second, independent OpenCL compiler
# runs the device tests next to PoCL. The ICD file's name sorts after pocl.icd, so PoCL stays
# device 0 and Intel's runtime is device 1. Skips what is already there.
set -euo pipefail
prefix="${SENET_GPU_INTEL_OCL:-/opt/senet-gpu/intel-opencl}"
vendors=/etc/OpenCL/vendors
sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
if [[ ! -e "$prefix/lib/libintelocl.so" ]]; then
    echo "installing Intel's OpenCL CPU runtime into $prefix" >&2
    $sudo python3 -m venv "$prefix"
    $sudo "$prefix/bin/pip" install --quiet --disable-pip-version-check intel-opencl-rt intel-cmplr-lib-rt
fi
library="$prefix/lib/libintelocl.so"
[[ -e "$library" ]] || { echo "intel-opencl-rt did not install $library" >&2; exit 1; }
$sudo mkdir -p "$vendors"
echo "$library" | $sudo tee "$vendors/zz-senet-gpu-intel-cpu.icd" >/dev/null
