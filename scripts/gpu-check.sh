#!/usr/bin/env bash
# The GPU check, for a machine with an NVIDIA GPU and driver but no .NET (the device tool): unpacks the
# self-contained skiprnn made by scripts/publish-gpu.sh, then runs `skiprnn bench --device cuda` and a short
# training run on the GPU, writing what they print under $OUT (or ./gpu-check).
#
#   here:        scripts/publish-gpu.sh
#   device tool: command "bash scripts/gpu-check.sh", carry [".publish/skiprnn-linux-x64.tar.xz"], timeout_s 560
#
# Time limits (seconds, environment): BENCH_SECONDS (default 330), TRAIN_SECONDS (default 150); REPEATS
# (default 3) timed steps per bench line.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out="${OUT:-gpu-check}"
mkdir -p "$out"
pack=.publish/skiprnn-linux-x64.tar.xz
dir="${TMPDIR:-/tmp}/skiprnn"
rm -rf "$dir" && mkdir -p "$dir"
if command -v xz >/dev/null 2>&1; then
  tar -xJf "$pack" -C "$dir"
else
  python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$pack" "$dir"
fi
export LD_LIBRARY_PATH="/usr/local/nvidia/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
skiprnn="$dir/skiprnn-linux-x64/SkipRnn.Cli"
{ nvidia-smi || echo "no nvidia-smi"; } > "$out/nvidia-smi.txt" 2>&1
echo "== skiprnn bench --device cuda" | tee "$out/bench.txt"
timeout "${BENCH_SECONDS:-330}" "$skiprnn" bench --device cuda --repeats "${REPEATS:-3}" 2>&1 | tee -a "$out/bench.txt"
echo "exit code ${PIPESTATUS[0]}" | tee -a "$out/bench.txt"
echo "== skiprnn train --device cuda (dmc, control, 100 networks, 30 steps)" | tee "$out/train.txt"
timeout "${TRAIN_SECONDS:-150}" "$skiprnn" train --task dmc --networks 100 --max-steps 30 --eval-every 10 --no-early-stop \
  --device cuda --out "$out/train-dmc" 2>&1 | tee -a "$out/train.txt"
echo "exit code ${PIPESTATUS[0]}" | tee -a "$out/train.txt"
