#!/usr/bin/env bash
# The Windows CLI under Wine, end to end: a demo store created, listed, sent through the
# pickup folder, doctored. Every .eml the pickup folder gets must have CRLF line ends only.
# Usage: scripts/wine/cli.sh target/x86_64-pc-windows-gnu/debug/spoolbox.exe
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
exe=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/spoolbox-wine-cli.XXXXXX")
trap 'rm -rf "$work"' EXIT
store="$work/store"
sb() { "$here/run.sh" "$exe" --store "$store" "$@"; }
fail() { echo "wine cli: FAILED: $*" >&2; exit 1; }

out=$(sb list) || fail "list (creating the demo store)"
echo "$out" | grep -q "Quarterly report" || fail "the demo store's Outbox is not listed: $out"
[ -f "$store/store.json" ] && [ -f "$store/store.lock" ] || fail "no store.json/store.lock in $store"
grep -qx "[0-9]*" "$store/store.lock" || fail "store.lock holds no pid"

sb send --all >"$work/send.out" 2>&1 || { cat "$work/send.out" >&2; fail "send --all"; }
shopt -s nullglob
emls=("$store"/pickup/*.eml)
[ "${#emls[@]}" -ge 1 ] || fail "send --all wrote no .eml into $store/pickup"
for f in "${emls[@]}"; do
  # A bare LF (not after CR) or a bare CR anywhere is a failure.
  python3 - "$f" <<'PY' || fail "$f: not CRLF throughout"
import sys
b = open(sys.argv[1], "rb").read()
bad = [i for i, c in enumerate(b) if (c == 10 and (i == 0 or b[i-1] != 13)) or (c == 13 and (i + 1 == len(b) or b[i+1] != 10))]
sys.exit(1 if bad else 0)
PY
done
out=$(sb list) || fail "list after send"
echo "$out" | grep -q "Sent Items" || fail "nothing in Sent Items after send: $out"
sb doctor >"$work/doctor.out" 2>&1 || { cat "$work/doctor.out" >&2; fail "doctor"; }
echo "wine cli: demo store created, listed, ${#emls[@]} .eml file(s) through the pickup folder (CRLF), doctor OK"
