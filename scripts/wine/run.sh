#!/usr/bin/env bash
# Cargo's runner for x86_64-pc-windows-gnu (CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER): runs
# a Windows program and its arguments under Wine, in the prefix scripts/wine/setup.sh
# prepares. Also usable by hand: scripts/wine/run.sh target/x86_64-pc-windows-gnu/debug/spoolbox.exe --help
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export WINEPREFIX="${WINEPREFIX:-$root/target/wine-prefix}"
export WINEDEBUG="${WINEDEBUG:--all}"
# Tests that read back what Wine does not keep (a file's DACL) check less there.
export SPOOLBOX_UNDER_WINE=1
export WINEDLLOVERRIDES="${WINEDLLOVERRIDES:-mscoree,mshtml=}"
"$here/setup.sh"
WINE64=${WINE64:-/usr/lib/wine/wine64}
command -v "$WINE64" >/dev/null || WINE64=wine64
exec "$WINE64" "$@"
