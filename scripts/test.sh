#!/usr/bin/env bash
# Installs what the tests need on Debian 12 (skipping what is there) and runs every test:
# unit tests, the integration suite (store, pipeline branches, CLI, whole-app UI tests through
# egui_kittest on lavapipe) and the real binary under Xvfb.
set -euo pipefail
cd "$(dirname "$0")/.."

need=(mesa-vulkan-drivers libegl1 libegl-mesa0 libgl1-mesa-dri xvfb xauth x11-utils xdotool imagemagick
      libxkbcommon-x11-0 libxcursor1 libxi6 libxrandr2 python3)
missing=()
for p in "${need[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# A private runtime dir silences Mesa; never let winit pick Wayland; fail loudly without lavapipe.
XDG_RUNTIME_DIR=$(mktemp -d); export XDG_RUNTIME_DIR; chmod 700 "$XDG_RUNTIME_DIR"
unset WAYLAND_DISPLAY
export WGPU_BACKEND=vulkan
unset UPDATE_SNAPSHOTS

cargo test --all-targets -- --test-threads=2
