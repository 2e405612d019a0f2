#!/bin/bash
# Do two builds train the same networks? Runs four fixed-seed trainings with each build's SkipRnn.Cli.dll
# (go control; dlygo DASC40; rule reversal SCTT10 with strategic skips; dlygo CD10) and compares, run by run,
# evaluations.csv without its wall-clock column, every array of weights.npz and config.json. Prints IDENTICAL,
# or what differs; exit code 0 or 1. SKIPRNN_SIMD, if set, applies to both builds.
#   scripts/same-results.sh OLD/src/SkipRnn.Cli/bin/Release/net10.0/SkipRnn.Cli.dll NEW/src/SkipRnn.Cli/bin/Release/net10.0/SkipRnn.Cli.dll
set -e
[ $# -eq 2 ] || { echo "usage: $0 OLD_CLI_DLL NEW_CLI_DLL" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
train() {  # dll out
    local dll=$1 out=$2 common="--no-early-stop --seed 3 --quiet"
    dotnet "$dll" train --task go --method control --networks 6 --max-steps 200 --anneal-steps 100 --eval-trials 50 $common --out "$out/go-control"
    dotnet "$dll" train --task dlygo --method dasc --skip 40 --networks 4 --max-steps 120 --anneal-steps 100 --eval-trials 50 $common --out "$out/dlygo-dasc40"
    dotnet "$dll" train --task rulereversal --method sctt --skip 10 --strategic-ratio 0.5 --networks 4 --max-steps 60 --anneal-steps 40 --eval-trials 20 --trials 8 $common --out "$out/rr-strategic"
    dotnet "$dll" train --task dlygo --method cd --skip 10 --networks 4 --max-steps 60 --anneal-steps 40 --eval-trials 50 $common --out "$out/dlygo-cd10"
}
train "$1" "$work/old" > /dev/null
train "$2" "$work/new" > /dev/null
same=1
for run in go-control dlygo-dasc40 rr-strategic dlygo-cd10; do
    a=$work/old/$run; b=$work/new/$run
    cmp -s <(cut -d, -f1,3- "$a/evaluations.csv") <(cut -d, -f1,3- "$b/evaluations.csv") || { echo "$run: evaluations.csv differs"; same=0; }
    mkdir -p "$work/wa/$run" "$work/wb/$run"
    (cd "$work/wa/$run" && unzip -q "$a/weights.npz") && (cd "$work/wb/$run" && unzip -q "$b/weights.npz")
    diff -r -q "$work/wa/$run" "$work/wb/$run" > /dev/null || { echo "$run: weights.npz differs"; same=0; }
    cmp -s "$a/config.json" "$b/config.json" || { echo "$run: config.json differs"; same=0; }
done
[ $same = 1 ] && echo IDENTICAL && exit 0
exit 1
