#!/usr/bin/env bash
# Fuzzes one reader with AFL++ for SECONDS: builds this project, instruments PoNet.Core.dll with
# SharpFuzz, starts from the seed corpus in tests/PoNet.Tests/Fuzz/corpus/TARGET and writes
# AFL's findings to tests/PoNet.Fuzz/$FINDINGS/TARGET (default findings/, ignored by git; copy
# crashes into the corpus so that the replay test keeps them fixed).
# Needs: apt-get install afl++; dotnet tool install --global SharpFuzz.CommandLine
# After changing src/, delete bin/Release/net10.0/linux-x64/.instrumented to rebuild.
set -euo pipefail
target=${1:?usage: fuzz.sh TARGET SECONDS}; seconds=${2:-300}
here=$(cd "$(dirname "$0")" && pwd)
out=$here/bin/Release/net10.0/linux-x64
findings=$here/${FINDINGS:-findings}
if [ ! -f "$out/.instrumented" ]; then
  dotnet build "$here" -c Release -v q
  PATH=$PATH:$HOME/.dotnet/tools sharpfuzz "$out/PoNet.Core.dll"
  touch "$out/.instrumented"
fi
mkdir -p "$findings"
AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
  afl-fuzz -i "$here/../PoNet.Tests/Fuzz/corpus/$target" -o "$findings/$target" -t 10000 -m none -V "$seconds" \
  -- dotnet "$out/PoNet.Fuzz.dll" "$target"
