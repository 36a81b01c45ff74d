#!/usr/bin/env bash
# Regenerates screenshots/ from the real binary under Xvfb on a fresh demo store.
# Needs: xvfb xauth xdotool imagemagick (scripts/test.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q
BIN=$PWD/target/debug/spoolbox
OUT=$PWD/screenshots
mkdir -p "$OUT"
source scripts/xvfb-env.sh

shot() { # shot NAME: wait for the frame to settle, then grab the window
  sleep 1.5; import -window "$WID" "$OUT/$1.png"; echo "saved screenshots/$1.png"
}
click() { xdotool mousemove --window "$WID" "$1" "$2" click 1; sleep 0.6; }

run_app() { # run_app STORE [ARGS...]
  "$BIN" --store "$@" >/dev/null 2>&1 & APP=$!
  WID=$(timeout 30 xdotool search --sync --name 'Spoolbox' | head -1)
  xdotool windowactivate --sync "$WID" 2>/dev/null || true
  sleep 2
}

# Coordinates are for the 1280x800 window this script opens; regenerate and look at every PNG
# after a layout change.
TABS_Y=481
# 1. Demo store, light mode, a breakpoint before NonDeliveryReport. Select "Quarterly
#    report", Resume: the spooler stops there. Continue: the mixed message waits for
#    the busy fax; the X.400 order stops before NonDeliveryReport with one row TRUE and the
#    X.400 row still FALSE (no transport).
run_app "$SPOOLBOX_XVFB_DIR/demo" --break NonDeliveryReport
click 400 135
click 469 16
sleep 1
click 638 16
sleep 2
shot outbox-mid-send
click 400 160
shot pipeline-breakpoint
click 284 $TABS_Y
shot properties
click 354 $TABS_Y
shot trace
kill $APP; wait $APP 2>/dev/null || true

# 2. Dark mode: the whole queue sent, the X.400 order's NDR open in Inbox.
run_app "$SPOOLBOX_XVFB_DIR/demo-dark" --dark
click 469 16
sleep 4
click 60 80
click 400 135
shot dark-ndr
kill $APP; wait $APP 2>/dev/null || true
