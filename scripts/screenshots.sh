#!/usr/bin/env bash
# Regenerates screenshots/ from the real binary under Xvfb on a fresh demo store.
# Needs: xvfb xauth xdotool imagemagick, and aiosmtpd for the SMTP scene (scripts/test.sh
# installs them all).
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

# 3. SMTP for real, to the tests' aiosmtpd on loopback (it offers PIPELINING, refuses
#    reject-...@ with 550 and later-...@ with 451): a message to three people, one refused,
#    and one whose first recipient is greylisted. Resume: the status row says the transport
#    is connected and pipelining; the greylisted one waits for its retry with Eve done.
PY=python3; [ -x target/smtp-venv/bin/python3 ] && PY=target/smtp-venv/bin/python3
SMTP_DIR=$SPOOLBOX_XVFB_DIR/smtp; mkdir -p "$SMTP_DIR"
"$PY" tests/fixtures/smtp_server.py --log "$SMTP_DIR/server.jsonl" --max-seconds 120 \
  </dev/zero >"$SMTP_DIR/ready" 2>/dev/null & SRV=$!
for _ in $(seq 100); do grep -q READY "$SMTP_DIR/ready" 2>/dev/null && break; sleep 0.1; done
PORT=$(awk '/READY/{print $2}' "$SMTP_DIR/ready")
S=$SMTP_DIR/store
"$BIN" --store "$S" profile set-smtp --host 127.0.0.1 --port "$PORT" --tls none >/dev/null
eml() { # eml FILE SUBJECT TO
  printf 'From: Ada <ada@example.com>\r\nTo: %s\r\nSubject: %s\r\nDate: Tue, 01 Dec 2026 09:00:00 +0000\r\n\r\nHello.\r\n' "$3" "$2" >"$1"
}
eml "$SMTP_DIR/a.eml" "Launch plan: one address refused" \
  "Ann <ann@example.com>, Bob <reject-bob@example.com>, Cat <cat@example.com>"
eml "$SMTP_DIR/b.eml" "Greylisted: Dan waits for the retry" \
  "Dan <later-dan@example.com>, Eve <eve@example.com>"
"$BIN" --store "$S" import "$SMTP_DIR/a.eml" --submit >/dev/null
"$BIN" --store "$S" import "$SMTP_DIR/b.eml" --submit >/dev/null
run_app "$S"
click 469 16
sleep 4
click 400 235
shot smtp-live
kill $APP; wait $APP 2>/dev/null || true
kill $SRV 2>/dev/null || true
