#!/bin/bash
# Is one build of the engine faster than another? Times two builds' SkipRnn.dll in one process, in alternation
# (scripts/ab-speed/Runner.fs), on one worker: a training step of one network (control, DASC40) and an evaluation
# pass of one network over 200 trials. Separate runs on a shared machine drift by ±15 %; alternating round by round
# resolves about 1 %. Builds nothing of SkipRnn itself.
#   scripts/ab-speed.sh OLD/src/SkipRnn/bin/Release/net10.0/SkipRnn.dll NEW/src/SkipRnn/bin/Release/net10.0/SkipRnn.dll [ROUNDS]
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
dotnet "$work/runner/Runner.dll" "$work/a" "$work/b" "$rounds"
