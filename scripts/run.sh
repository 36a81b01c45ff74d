#!/usr/bin/env bash
# Runs the app on the default store (created with demo data on first run), installing the
# few run-time libraries eframe loads (X11 input, Vulkan/EGL) if they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
need=(libxkbcommon-x11-0 libxcursor1 libxi6 libxrandr2 libegl1 libgl1-mesa-dri mesa-vulkan-drivers)
missing=()
for p in "${need[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
exec cargo run --release -- "$@"
