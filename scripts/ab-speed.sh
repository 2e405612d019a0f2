#!/bin/bash
# Is one build of the engine faster than another? Times two builds' SkipRnn.dll in one process, in alternation
# (scripts/ab-speed/Runner.fs), on one worker: a training step of one network (control, DASC40) and an evaluation
# pass of one network over 200 trials. Separate runs on a shared machine drift by ±15 %; alternating round by round
# takes the drift out, but each process also places the two builds' code and buffers differently, which moved the
# evaluation of a build against a copy of itself by up to 4 % in one process. So the script runs PROCESSES
# processes (4 by default), which build is loaded first alternating, and reports per workload the median of their
# ratios B/A and their range. Builds nothing of SkipRnn itself.
#   scripts/ab-speed.sh OLD/src/SkipRnn/bin/Release/net10.0/SkipRnn.dll NEW/src/SkipRnn/bin/Release/net10.0/SkipRnn.dll [ROUNDS] [PROCESSES]
set -e
[ $# -ge 2 ] || { echo "usage: $0 OLD_SKIPRNN_DLL NEW_SKIPRNN_DLL [ROUNDS]" >&2; exit 2; }
here=$(cd "$(dirname "$0")/ab-speed" && pwd)
a=$(realpath "$1"); b=$(realpath "$2"); rounds=${3:-30}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Built outside the repository, so that its build settings and package management stay out of it.
cp "$here"/* "$work/"
build() { dotnet build "$work/$1" -c Release -o "$2" -v quiet -nologo ${3:+-p:SkipRnnDll=$3} > "$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }; }
build Probe.fsproj "$work/a" "$a"
rm -rf "$work/obj"
build Probe.fsproj "$work/b" "$b"
build Runner.fsproj "$work/runner"
echo "A: $1"
echo "B: $2"
processes=${4:-4}
for p in $(seq 1 "$processes"); do
    # Odd processes load A first, even ones B first; every ratio is turned into B/A.
    if [ $((p % 2)) = 1 ]; then dotnet "$work/runner/Runner.dll" "$work/a" "$work/b" "$rounds" | sed 's/$/ ab/'
    else dotnet "$work/runner/Runner.dll" "$work/b" "$work/a" "$rounds" | sed 's/$/ ba/'; fi
done | awk '
    { r = ($5 == "ab") ? $2 : 1 / $2; ta = ($5 == "ab") ? $3 : $4; tb = ($5 == "ab") ? $4 : $3
      n[$1]++; ratio[$1, n[$1]] = r; a[$1] = a[$1] " " sprintf("%.3f", ta); b[$1] = b[$1] " " sprintf("%.3f", tb)
      if (!($1 in seen)) { seen[$1] = 1; order[++names] = $1 } }
    END {
        for (i = 1; i <= names; i++) {
            w = order[i]; k = n[w]
            for (x = 1; x <= k; x++) v[x] = ratio[w, x]
            for (x = 1; x <= k; x++) for (y = x + 1; y <= k; y++) if (v[y] < v[x]) { t = v[x]; v[x] = v[y]; v[y] = t }
            med = (k % 2) ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2
            list = ""; for (x = 1; x <= k; x++) list = list sprintf(" %.3f", ratio[w, x])
            printf "%-10s B/A %.3f (%d processes: %.3f to %.3f; each:%s)  A ms:%s  B ms:%s\n", w, med, k, v[1], v[k], list, a[w], b[w]
        }
    }'
