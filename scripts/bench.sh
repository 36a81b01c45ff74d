#!/usr/bin/env bash
# Reproduces the PERFORMANCE table of the README: release builds; every figure a median of
# several runs, each ratio against a limit measured in the same run (never part of the tests).
# Needs Postfix's smtp-sink/smtp-source (scripts/test.sh installs postfix) for the SMTP rows.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
B=target/release/spoolbox
XDG_RUNTIME_DIR=$(mktemp -d); export XDG_RUNTIME_DIR; chmod 700 "$XDG_RUNTIME_DIR"
echo "== pipeline throughput (null transport, full durability), fsyncs per message"
$B bench pipeline --messages 10000 --runs 3
echo "== opening a store with 100,000 outbox messages"
$B bench store --messages 100000 --runs 3
echo "== SMTP: 1,000 messages x 3 recipients to smtp-sink vs smtp-source vs an msmtp loop"
$B bench smtp --messages 1000 --runs 3
echo "== load: 100,000 messages through null, pickup folder and SMTP"
$B bench load --messages "${SPOOLBOX_LOAD_MESSAGES:-100000}"
echo "== UI with 100,000 messages: first frame, frame CPU scrolling and under load, memory"
cargo bench -q --bench ui
echo "== Timeline: frame CPU following a flush of 10,000, and with 1,000,000 recorded spans"
cargo bench -q --bench timeline
