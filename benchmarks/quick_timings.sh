#!/usr/bin/env bash
# Quick side-by-side timings on one built default matrix (whole processes).
set -euo pipefail
root=$(mktemp -d /tmp/quickbench.XXXXXX)
cd "$(dirname "$0")/.." && cp -r host plugins buildconfig.toml tasks.py noxfile.py "$root"/
# The interpreter itself, not a pyenv shim (a bash script that adds ~60 ms to every
# command), and the library's bytecode compiled, as `pip install` leaves it (invoke turns
# off writing bytecode, so an uncompiled checkout compiles every module on every run).
python=$(python3 -c 'import sys; print(sys.executable)')
"$python" -m compileall -q "$(python3 -c 'import plugin_builder, os; print(os.path.dirname(plugin_builder.__file__))')" >/dev/null
cd "$root"
/usr/bin/time -f "build of the matrix: %e s" "$python" -m invoke pipeline --all >/dev/null 2>"$root"/build.err || { tail -20 "$root"/build.err; exit 1; }
tail -1 "$root"/build.err
for what in "verify --all --static-only --json" "pipeline --all"; do
  read -ra words <<< "$what"
  times=()
  for _ in 1 2 3 4 5 6 7; do
    s=$(date +%s.%N); "$python" -m invoke "${words[@]}" >/dev/null 2>&1; e=$(date +%s.%N)
    times+=("$(echo "$e - $s" | bc)")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk -v w="$what" '{a[NR]=$1} END {printf "invoke %s: median %.3f s, min %.3f s, max %.3f s (7 runs)\n", w, a[4], a[1], a[7]}'
done
s=$(date +%s.%N); "$python" -m invoke --version >/dev/null; e=$(date +%s.%N); echo "invoke --version alone: $(echo "$e - $s" | bc) s"
