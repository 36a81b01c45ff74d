#!/usr/bin/env bash
# Prepares the Wine prefix the Windows build's tests run in (target/wine-prefix, or
# $WINEPREFIX): `wineboot -i` once, headless, and the bcryptprimitives.dll shim
# (scripts/wine/bcryptprimitives.c, built with mingw-w64) in its system32. Idempotent and
# quick when done; scripts/wine/run.sh calls it before every program.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export WINEPREFIX="${WINEPREFIX:-$root/target/wine-prefix}"
export WINEDEBUG=-all
# No Mono or Gecko installer dialogs: console programs need neither.
export WINEDLLOVERRIDES="${WINEDLLOVERRIDES:-mscoree,mshtml=}"
WINE64=${WINE64:-/usr/lib/wine/wine64}
command -v "$WINE64" >/dev/null || WINE64=wine64
# No display: console programs need none, and wineboot must not wait for one.
unset DISPLAY WAYLAND_DISPLAY

sys32="$WINEPREFIX/drive_c/windows/system32"
dll="$sys32/bcryptprimitives.dll"
src="$here/bcryptprimitives.c"
[ -f "$WINEPREFIX/.spoolbox-ready" ] && [ -f "$dll" ] && [ "$dll" -nt "$src" ] && exit 0

# One setup at a time (cargo may start several test binaries through run.sh at once).
mkdir -p "$(dirname "$WINEPREFIX")"
exec 9>"$WINEPREFIX.setup-lock"
flock 9
[ -f "$WINEPREFIX/.spoolbox-ready" ] && [ -f "$dll" ] && [ "$dll" -nt "$src" ] && exit 0

if [ ! -f "$WINEPREFIX/.spoolbox-ready" ]; then
  echo "wine: creating the prefix $WINEPREFIX (once)" >&2
  "$WINE64" wineboot -i >/dev/null 2>&1
  "${WINESERVER:-/usr/lib/wine/wineserver64}" -w 2>/dev/null || wineserver -w 2>/dev/null || true
fi
x86_64-w64-mingw32-gcc -shared -O2 -s -o "$WINEPREFIX/bcryptprimitives.dll" "$src"
install -m 644 "$WINEPREFIX/bcryptprimitives.dll" "$dll"
touch "$WINEPREFIX/.spoolbox-ready"
