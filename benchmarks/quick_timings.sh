#!/usr/bin/env bash
# Quick side-by-side timings on one built default matrix (whole processes).
set -euo pipefail
root=$(mktemp -d /tmp/quickbench.XXXXXX)
cd "$(dirname "$0")/.." && cp -r host plugins buildconfig.toml tasks.py noxfile.py $root/
cd $root
/usr/bin/time -f "build of the matrix: %e s" python3 -m invoke pipeline --all >/dev/null 2>$root/build.err || { tail -20 $root/build.err; exit 1; }
tail -1 $root/build.err
for what in "verify --all --static-only --json" "pipeline --all"; do
  times=()
  for i in 1 2 3 4 5 6 7; do
    s=$(date +%s.%N); python3 -m invoke $what >/dev/null 2>&1; e=$(date +%s.%N)
    times+=($(echo "$e - $s" | bc))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk -v w="$what" '{a[NR]=$1} END {printf "invoke %s: median %.3f s, min %.3f s, max %.3f s (7 runs)\n", w, a[4], a[1], a[7]}'
done
s=$(date +%s.%N); python3 -m invoke --version >/dev/null; e=$(date +%s.%N); echo "invoke --version alone: $(echo "$e - $s" | bc) s"
