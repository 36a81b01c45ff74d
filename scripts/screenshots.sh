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

# 1. The outbox of a fresh demo store, with Quarterly report selected (pipeline tab).
run_app "$SPOOLBOX_XVFB_DIR/demo"
click 400 135
shot outbox
# 2. Step with F10 to just before Transmit: locked, every PR_RESPONSIBILITY still FALSE.
click 552 16; click 552 16; click 552 16
shot pipeline-breakpoint
# 3. One more step: Transmit ran, the rows flipped TRUE; stopped before NonDeliveryReport.
click 552 16
shot pipeline-after-transmit
# 4. Let the queue run; then the mixed message (SMTP + fax + EX): rows flipped one by one.
click 638 16
sleep 3
click 60 126
click 400 135
shot sent-mixed
kill $APP; wait $APP 2>/dev/null || true

# 5. Dark mode, the X.400 order's NDR in Inbox.
run_app "$SPOOLBOX_XVFB_DIR/demo" --dark
click 638 16
sleep 4
click 60 80
click 400 110
shot dark-ndr
kill $APP; wait $APP 2>/dev/null || true
