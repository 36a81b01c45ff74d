#!/usr/bin/env bash
# Source me: starts a private Xvfb (display picked by Xvfb itself) and exports DISPLAY.
# Cleans up on exit of the sourcing shell. The screen is 2560x1440 so that windows up to that
# size (and 2048x1280 at scale 2) fit on it.
W=$(mktemp -d)
export XDG_RUNTIME_DIR=$W/xdg; mkdir -p "$XDG_RUNTIME_DIR"; chmod 700 "$XDG_RUNTIME_DIR"
unset WAYLAND_DISPLAY
Xvfb -displayfd 3 -screen 0 2560x1440x24 -nolisten tcp 3>"$W/display.num" >"$W/xvfb.log" 2>&1 &
XVFB_PID=$!
for _ in $(seq 100); do [ -s "$W/display.num" ] && break; sleep 0.1; done
export DISPLAY=:$(cat "$W/display.num")
export SPOOLBOX_XVFB_DIR=$W
trap 'kill $XVFB_PID 2>/dev/null; rm -rf "$W"' EXIT
