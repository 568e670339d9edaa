#!/usr/bin/env bash
# Usage: fuzz/run.sh NAME SECONDS   (NAME: safetensors, npy, onnx, oip, grpc or calibration)
# Runs .fuzz/NAME-fuzzer for SECONDS. New inputs go to the scratch corpus .fuzz/corpus/NAME;
# the committed corpus Tests/Fixtures/fuzz/NAME and the generated seeds .fuzz/seeds/NAME
# (fuzz/make_seeds.py) are read as seeds. Crashes, timeouts and OOMs are written to
# .fuzz/artifacts/NAME/. The full log is .fuzz/NAME.log; the final stats are printed.
# KEEP_GOING=1 runs libFuzzer in fork mode with -ignore_crashes/-ignore_timeouts/-ignore_ooms,
# so one known bug does not end a long run: every finding is saved and the fuzzing goes on.
set -euo pipefail
cd "$(dirname "$0")/.."
name="${1:?usage: fuzz/run.sh NAME SECONDS (NAME: safetensors, npy, onnx, oip, grpc or calibration)}"
seconds="${2:?usage: fuzz/run.sh NAME SECONDS}"
binary=".fuzz/$name-fuzzer"
[[ -x "$binary" ]] || { echo "$binary is missing; run fuzz/build.sh first" >&2; exit 2; }
mkdir -p ".fuzz/corpus/$name" ".fuzz/artifacts/$name"
corpora=(".fuzz/corpus/$name")
for seeds in "Tests/Fixtures/fuzz/$name" ".fuzz/seeds/$name"; do
    [[ -d "$seeds" ]] && corpora+=("$seeds")
done
extra=()
[[ "${KEEP_GOING:-0}" == 1 ]] && extra=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
# Swift's own backtracer would race libFuzzer's crash handler (and trips ASan); turn it off.
export SWIFT_BACKTRACE=enable=no
export ASAN_SYMBOLIZER_PATH="${ASAN_SYMBOLIZER_PATH:-$(command -v llvm-symbolizer || true)}"
status=0
"$binary" "${corpora[@]}" "${extra[@]}" -dict="fuzz/$name.dict" -max_total_time="$seconds" \
    -max_len=65536 -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix=".fuzz/artifacts/$name/" >".fuzz/$name.log" 2>&1 || status=$?
grep -E '^(#[0-9]+[[:space:]]+(DONE|INITED)|stat::|Done [0-9]+ runs)' ".fuzz/$name.log" || true
grep -E '^#[0-9]+: cov:' ".fuzz/$name.log" | tail -1 || true  # fork mode's last progress line
grep -E '^(==[0-9]+==ERROR|SUMMARY|artifact_prefix|Test unit written)' ".fuzz/$name.log" || true
echo "exit status $status; log .fuzz/$name.log; corpus .fuzz/corpus/$name ($(ls ".fuzz/corpus/$name" | wc -l) files)"
exit "$status"
