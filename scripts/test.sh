#!/usr/bin/env bash
# Installs what the tests need on Debian 12 (skipping what is there) and runs every test:
# unit tests, the integration suite (store, pipeline branches, CLI, whole-app UI tests through
# egui_kittest on lavapipe, the SMTP transport against a real server on loopback) and the real
# binary under Xvfb; then the Windows build (x86_64-pc-windows-gnu, Debian's mingw-w64) and its
# tests under Debian's Wine (scripts/wine/test.sh says which). SPOOLBOX_SKIP_WINDOWS=1 skips
# the Windows part (for a quick local run; CI never sets it).
set -euo pipefail
cd "$(dirname "$0")/.."

need=(mesa-vulkan-drivers libegl1 libegl-mesa0 libgl1-mesa-dri xvfb xauth x11-utils xdotool imagemagick
      libxkbcommon-x11-0 libxcursor1 libxi6 libxrandr2 python3 postfix openssl desktop-file-utils)
windows=1
[ "${SPOOLBOX_SKIP_WINDOWS:-}" = 1 ] && windows=0
[ "$windows" = 1 ] && need+=(mingw-w64 wine wine64)
missing=()
for p in "${need[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  # Postfix may start a system instance on port 25; the tests bind their servers to free ports.
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# aiosmtpd, the real SMTP server the tests start (tests/fixtures/smtp_server.py), and
# mail-parser, which reads exported reports back (tests/all/reports.rs): into the python3 on
# PATH where pip may install, else into a venv under target/ (Debian's own python3 refuses pip
# as "externally managed"); the tests find it through SPOOLBOX_TEST_PYTHON.
pydeps=(aiosmtpd mail-parser)
has_pydeps() { "$1" -c 'import aiosmtpd, mailparser' >/dev/null 2>&1; }
if ! has_pydeps python3 \
   && ! { python3 -m pip install --quiet --disable-pip-version-check "${pydeps[@]}" >/dev/null 2>&1 \
          && has_pydeps python3; }; then
  venv=target/smtp-venv
  if ! has_pydeps "$venv/bin/python3"; then
    if ! python3 -m venv "$venv" >/dev/null 2>&1; then
      SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
      $SUDO apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
      rm -rf "$venv"; python3 -m venv "$venv"
    fi
    "$venv/bin/python3" -m pip install --quiet --disable-pip-version-check "${pydeps[@]}"
  fi
  SPOOLBOX_TEST_PYTHON="$PWD/$venv/bin/python3"; export SPOOLBOX_TEST_PYTHON
fi

# A private runtime dir silences Mesa; never let winit pick Wayland; fail loudly without lavapipe.
XDG_RUNTIME_DIR=$(mktemp -d); export XDG_RUNTIME_DIR; chmod 700 "$XDG_RUNTIME_DIR"
unset WAYLAND_DISPLAY
export WGPU_BACKEND=vulkan
unset UPDATE_SNAPSHOTS

# The Windows target from rustup: without it there is no Windows build to test, and CI must
# say so loudly rather than pass without it.
if [ "$windows" = 1 ] && ! rustup target list --installed 2>/dev/null | grep -qx x86_64-pc-windows-gnu; then
  echo "adding the Rust target x86_64-pc-windows-gnu"
  if ! rustup target add x86_64-pc-windows-gnu; then
    echo "==================================================================================" >&2
    echo "ERROR: rustup could not add the target x86_64-pc-windows-gnu, so the Windows build" >&2
    echo "and its tests under Wine cannot run. Give this machine access to rustup's servers" >&2
    echo "(static.rust-lang.org), or run with SPOOLBOX_SKIP_WINDOWS=1 to test Linux alone." >&2
    echo "==================================================================================" >&2
    exit 1
  fi
fi

# The tests must leave the checkout as they found it (a benchmark once committed 18,000 sent
# copies it had written into the working directory): what `git status` shows before the run
# must be what it shows after.
checkout_before=$(git status --porcelain --untracked-files=all 2>/dev/null || true)
checkout_unchanged() {
  local after
  after=$(git status --porcelain --untracked-files=all 2>/dev/null || true)
  if [ "$after" != "$checkout_before" ]; then
    echo "ERROR: the tests changed the checkout (git status before and after differ):" >&2
    diff <(echo "$checkout_before") <(echo "$after") | head -20 >&2
    exit 1
  fi
}

cargo test --lib --bins --tests -- --test-threads=2
checkout_unchanged

if [ "$windows" = 1 ]; then
  scripts/wine/test.sh
  checkout_unchanged
fi
