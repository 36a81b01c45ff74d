#!/usr/bin/env bash
# Installs Spoolbox for the current user on a Linux desktop: the release binary in
# ~/.local/bin, the icon in the hicolor theme and the .desktop entry, so it shows in the
# application menu. `--uninstall` removes them again. Nothing outside $HOME is touched.
# Usage: scripts/install-desktop.sh [--uninstall]
set -euo pipefail
cd "$(dirname "$0")/.."
bin_dir="${XDG_BIN_HOME:-$HOME/.local/bin}"
data="${XDG_DATA_HOME:-$HOME/.local/share}"
icons="$data/icons/hicolor"
apps="$data/applications"
if [[ "${1:-}" == "--uninstall" ]]; then
  rm -f "$bin_dir/spoolbox" "$apps/spoolbox.desktop" \
        "$icons/256x256/apps/spoolbox.png" "$icons/scalable/apps/spoolbox.svg"
  command -v update-desktop-database >/dev/null && update-desktop-database -q "$apps" || true
  echo "Spoolbox removed from $bin_dir and $apps"
  exit 0
fi
# SPOOLBOX_BIN: a binary built elsewhere (the tests install their debug build).
binary="${SPOOLBOX_BIN:-target/release/spoolbox}"
if [[ -z "${SPOOLBOX_BIN:-}" ]]; then
  cargo build --release --locked
fi
install -Dm755 "$binary" "$bin_dir/spoolbox"
install -Dm644 assets/spoolbox.png "$icons/256x256/apps/spoolbox.png"
install -Dm644 assets/spoolbox.svg "$icons/scalable/apps/spoolbox.svg"
mkdir -p "$apps"
# Exec with the full path: ~/.local/bin is not on every desktop session's PATH.
sed -e "s|^Exec=spoolbox|Exec=$bin_dir/spoolbox|" -e "s|^TryExec=spoolbox|TryExec=$bin_dir/spoolbox|" \
  assets/linux/spoolbox.desktop > "$apps/spoolbox.desktop.tmp"
chmod 644 "$apps/spoolbox.desktop.tmp"
mv "$apps/spoolbox.desktop.tmp" "$apps/spoolbox.desktop"
if command -v desktop-file-validate >/dev/null; then
  desktop-file-validate "$apps/spoolbox.desktop"
fi
command -v update-desktop-database >/dev/null && update-desktop-database -q "$apps" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$icons" || true
echo "Spoolbox installed: $bin_dir/spoolbox, in the application menu as \"Spoolbox\""
