#!/usr/bin/env bash
# Regenerates screenshots/ from the real binary under Xvfb on a fresh demo store.
# Needs: xvfb xauth xdotool imagemagick, and aiosmtpd for the SMTP scene (scripts/test.sh
# installs them all).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${SPOOLBOX_BIN:-}" ]; then cargo build -q; fi
BIN=${SPOOLBOX_BIN:-$PWD/target/debug/spoolbox}
OUT=$PWD/screenshots
mkdir -p "$OUT"
source scripts/xvfb-env.sh

shot() { # shot NAME: wait for the frame to settle, then grab the window
  sleep 1.5; import -window "$WID" "$OUT/$1.png"; echo "saved screenshots/$1.png"
}
# The pointer rests before the click: a move and a click in one slow llvmpipe frame (a large
# window) hit what was under the pointer before the move.
click() { xdotool mousemove --window "$WID" "$1" "$2"; sleep 0.3; xdotool click 1; sleep 0.6; }

# The window remembers its state (theme, folder, sort...): each scene starts from defaults,
# in a config directory of its own, never the user's.
export XDG_CONFIG_HOME=$SPOOLBOX_XVFB_DIR/config
run_app() { # run_app STORE [ARGS...]  (SCALE=2 for a scale factor of 2)
  WINIT_X11_SCALE_FACTOR=${SCALE:-1} "$BIN" --reset-ui --store "$@" >/dev/null 2>&1 & APP=$!
  WID=$(timeout 30 xdotool search --sync --name 'Spoolbox' | head -1)
  sleep 2
  # No window manager under Xvfb: give the window the keyboard ourselves, once it is mapped.
  xdotool windowfocus --sync "$WID" 2>/dev/null || true
  sleep 0.5
}

# Coordinates are for the 1280x800 window this script opens (and, in scenes 6 to 8, for the
# size each sets); regenerate and look at every PNG after a layout change. The detail's tabs sit at TABS_Y under a message that says why it
# waits, at SENT_TABS_Y under one that is done.
TABS_Y=507
SENT_TABS_Y=489
TRANSCRIPT_X=480
TRANSCRIPT_Y=697
# In the 1920x1080 window (scene 7) the tabs sit at LARGE_TABS_Y.
LARGE_TABS_Y=787
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
click 276 $TABS_Y
shot properties
click 346 $TABS_Y
shot trace
kill $APP; wait $APP 2>/dev/null || true

# 2. Dark mode: the whole queue sent, the X.400 order's NDR open in Inbox (sorted by the
#    time received: the local delivery, then the DR and the NDR of the same second); its
#    Source, an RFC 3464 multipart/report; then the DR "Quarterly report" asked for.
run_app "$SPOOLBOX_XVFB_DIR/demo-dark" --dark
click 469 16
sleep 4
click 60 80
click 700 160
shot dark-ndr
click 405 $SENT_TABS_Y
shot ndr-source
click 700 135
click 199 $SENT_TABS_Y
shot delivery-report
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
# 4. The same message in Sent Items: its Trace, with the first hand-off's SMTP transcript
#    open (greeting to the 250 after the final dot, pipelined).
click 60 126
click 400 110
sleep 1
click 346 $SENT_TABS_Y
sleep 0.5
click "$TRANSCRIPT_X" "$TRANSCRIPT_Y"
xdotool mousemove --window "$WID" 700 650 click --repeat 3 --delay 80 5
shot trace-smtp-transcript
kill $APP; wait $APP 2>/dev/null || true
kill $SRV 2>/dev/null || true

# 5. The composer: New message puts the cursor in the first recipient; a pasted list splits
#    into rows, and an address that is not one says so, in MAPI's words, as you type.
#    The recipients come first, then the subject and the body (the order Tab takes); Submit
#    and Save sit under the form.
run_app "$SPOOLBOX_XVFB_DIR/compose"
click 55 16
sleep 1
# (typing waits a moment before each click: llvmpipe frames are slow, and a key that lands
# in the frame of a click elsewhere is dropped with the focus)
xdotool type --delay 80 'Ann Example <ann@example.com>,'
sleep 0.8
xdotool type --delay 80 'bob@example'
sleep 0.8
click 700 633
xdotool type --delay 80 'Launch plan for Monday'
sleep 0.8
click 700 700
xdotool type --delay 60 'Hello both, the plan is attached.'
shot composer
kill $APP; wait $APP 2>/dev/null || true

# 6. The smallest window, 1024x640, with a fault armed in Faults… (Fax: fail the next 3
#    hand-offs) before Resume: the status bar lists it with what is left and its Clear; the
#    kickoff message waits for its retry after the injected failure. The toolbar is one row:
#    what does not fit is under More (⋯). Then that menu open, and Help (F1).
run_app "$SPOOLBOX_XVFB_DIR/small"
xdotool windowsize "$WID" 1024 640
sleep 1
click 40 40           # (the first click after a resize may be lost: one on the heading)
click 780 16          # Faults…
click 70 67           # its transport...
click 48 140          # ... Fax
click 268 90          # Fail the next N hand-offs
xdotool key --delay 100 ctrl+a
sleep 0.3
xdotool type --delay 100 '3'
sleep 0.5
xdotool key Return
sleep 0.8
click 65 228          # Apply faults
click 378 33          # close the window
click 469 16          # Resume
sleep 4
click 400 135         # the kickoff message
shot window-1024x640
click 1001 16         # More
shot toolbar-overflow-1024x640
xdotool key Escape
sleep 0.8
xdotool key F1
shot keyboard-help
kill $APP; wait $APP 2>/dev/null || true

# 7. 1920x1080: every toolbar button in the bar; the first message stopped before
#    NonDeliveryReport, its Trace with Copy on every call and Copy all.
run_app "$SPOOLBOX_XVFB_DIR/large" --break NonDeliveryReport
xdotool windowsize "$WID" 1920 1080
sleep 1
click 40 40           # (the first click after a resize may be lost: one on the heading)
click 469 16          # Resume
sleep 4
click 600 135         # Quarterly report
sleep 1.5             # (its detail loads; a 1920-pixel frame is slow on llvmpipe)
click 346 $LARGE_TABS_Y
shot window-1920x1080
kill $APP; wait $APP 2>/dev/null || true

# 8. Scale 2 (2048x1280 pixels, 1024x640 points): the same layout as 1024x640, twice as sharp.
SCALE=2 run_app "$SPOOLBOX_XVFB_DIR/scale2"
xdotool windowsize "$WID" 2048 1280
sleep 2
click 80 80           # (the first click after a resize may be lost: one on the heading)
click 800 270         # Quarterly report
shot scale-2x-2048x1280
kill $APP; wait $APP 2>/dev/null || true

# 7. The Profile window's form, against the tests' aiosmtpd with a login: the password typed
#    (masked; Save would keep it in the keyring, else the 0600 file, never in the profile),
#    then Test connection: each step with its result and the server's replies.
SET_DIR=$SPOOLBOX_XVFB_DIR/settings; mkdir -p "$SET_DIR"
# (the server stops when its standard input closes: a sleep keeps it open)
sleep 120 | "$PY" tests/fixtures/smtp_server.py --log "$SET_DIR/server.jsonl" --max-seconds 120 \
  --auth alice:correct-horse >"$SET_DIR/ready" 2>/dev/null & SRV=$!
for _ in $(seq 100); do grep -q READY "$SET_DIR/ready" 2>/dev/null && break; sleep 0.1; done
PORT=$(awk '/READY/{print $2}' "$SET_DIR/ready")
"$BIN" --store "$SET_DIR/store" profile set-smtp --host 127.0.0.1 --port "$PORT" --tls none \
  --user alice >/dev/null
export SPOOLBOX_KEYRING=off
run_app "$SET_DIR/store"
click 1073 16
click 300 415
xdotool type --delay 80 'correct-horse'
sleep 0.8
click 76 481
sleep 2
shot settings
kill $APP; wait $APP 2>/dev/null || true
kill $SRV 2>/dev/null || true

# 9. The Timeline (Ctrl+T) following a flush of 3,000 queued messages through the null
#    transport at full speed: bars on the spooler's lane and the Null lane, the plots under
#    them (messages per second, the queue draining, hand-off latency).
"$BIN" bench store --messages 3000 --runs 1 --store "$SPOOLBOX_XVFB_DIR/flush" >/dev/null 2>&1
run_app "$SPOOLBOX_XVFB_DIR/flush/store"
xdotool key ctrl+t    # (the flush starts as the window opens)
sleep 2.5
shot timeline-flush
kill $APP; wait $APP 2>/dev/null || true

# 10. A retry: the demo with the first retry after 3 s. The fax is busy for the mixed
#     message (its hand-off deferred, amber, while the Transmit step waits); 3 s later the
#     retry delivers (green). First everything fitted (the lanes take the keyboard: Home),
#     then Ctrl+wheel zooms on the deferred hand-off, with the pointer on it for its tooltip.
run_app "$SPOOLBOX_XVFB_DIR/retry"
kill $APP; wait $APP 2>/dev/null || true
python3 - "$SPOOLBOX_XVFB_DIR/retry/store.json" <<'PY'
import json, sys
p = sys.argv[1]; d = json.load(open(p))
d["profile"]["retry"]["first_delay_secs"] = 3
json.dump(d, open(p, "w"), indent=1)
PY
run_app "$SPOOLBOX_XVFB_DIR/retry"
xdotool key ctrl+t
sleep 1
click 469 16          # Resume
sleep 8
click 700 149         # the lanes (the idle SMTP lane) take the keyboard
xdotool key Home
shot timeline-retry-fit
xdotool mousemove --window "$WID" 330 193
sleep 0.3
xdotool keydown ctrl
for _ in 1 2 3 4 5 6; do xdotool click 4; sleep 0.2; done
xdotool keyup ctrl
sleep 1
xdotool mousemove --window "$WID" 520 193
shot timeline-retry-zoom
kill $APP; wait $APP 2>/dev/null || true
