#!/usr/bin/env bash
# Runs every shipped scenario's `npx ddil sim scenarios/<x>.yaml --json` (its own seed) in two
# checkouts and compares the reports with `wall_ms` removed: a refactor that must change no
# behaviour leaves them byte-identical. city-200 takes minutes. Reports already in OUT_DIR
# are reused (delete them to run again). Exit 0 when every report is identical, 1 otherwise.
#
#   git worktree add --detach /tmp/base main && ln -s "$PWD/node_modules" /tmp/base/
#   bench/compare-sim-reports.sh /tmp/base . /tmp/reports            # every scenario
#   bench/compare-sim-reports.sh /tmp/base . /tmp/reports ferry      # one
set -euo pipefail
if [ $# -lt 3 ]; then echo "usage: $0 BASE_DIR NEW_DIR OUT_DIR [scenario ...]" >&2; exit 2; fi
base=$(cd "$1" && pwd); new=$(cd "$2" && pwd); out=$3; shift 3
mkdir -p "$out/base" "$out/new"
names=("$@")
if [ ${#names[@]} -eq 0 ]; then for f in "$new"/scenarios/*.yaml; do names+=("$(basename "$f" .yaml)"); done; fi
strip () { node -e 'const r = JSON.parse(require("fs").readFileSync(0, "utf8")); delete r.wall_ms; process.stdout.write(JSON.stringify(r, null, 1) + "\n")'; }
status=0
for name in "${names[@]}"; do
  for side in base new; do
    dir=$base; [ "$side" = new ] && dir=$new
    file="$out/$side/$name.json"
    # ddil exits 1 when an expectation fails; the report is still the thing compared.
    [ -s "$file" ] || { (cd "$dir" && npx --no -- ddil sim "scenarios/$name.yaml" --json || true) | strip > "$file.tmp" && mv "$file.tmp" "$file"; }
  done
  if cmp -s "$out/base/$name.json" "$out/new/$name.json"; then echo "$name: identical"
  else echo "$name: DIFFERENT"; diff "$out/base/$name.json" "$out/new/$name.json" | head -20 || true; status=1; fi
done
exit $status
