#!/usr/bin/env bash
# Packs the skiprnn command for a GPU machine that has the NVIDIA driver but no .NET:
# a self-contained linux-x64 publish (runtime included, not trimmed: ILGPU compiles kernels from the
# program's own IL at run time, which trimming can remove), packed as one .tar.xz under the git-ignored .publish/.
#
#   scripts/publish-gpu.sh                      # → .publish/skiprnn-linux-x64.tar.xz
#
# On the GPU machine (see scripts/gpu-check.sh, which does all of this and writes the results to a folder):
#   mkdir -p /tmp/skiprnn && tar -xJf skiprnn-linux-x64.tar.xz -C /tmp/skiprnn
#   LD_LIBRARY_PATH=/usr/local/nvidia/lib64 DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 \
#     /tmp/skiprnn/skiprnn-linux-x64/SkipRnn.Cli bench --device cuda
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
name=skiprnn-linux-x64
out=".publish/$name"
rm -rf "$out" ".publish/$name.tar.xz"
dotnet publish src/SkipRnn.Cli/SkipRnn.Cli.fsproj -c Release -r linux-x64 --self-contained true \
  -p:InvariantGlobalization=true -p:DebugType=none -p:GenerateDocumentationFile=false -o "$out" -v quiet -nologo
# The device tool carries at most 64 MiB; xz -9 brings the ~80 MB folder to about a third of that.
tar -C .publish -cf - "$name" | xz -9 -T0 > ".publish/$name.tar.xz"
ls -l ".publish/$name.tar.xz"
