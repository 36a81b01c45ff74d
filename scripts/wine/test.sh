#!/usr/bin/env bash
# The Windows part of scripts/test.sh (issue 19): builds the x86_64-pc-windows-gnu target with
# Debian's mingw-w64 and runs, under Debian's Wine (scripts/wine/run.sh is cargo's runner):
#   - the library's unit tests (all of them);
#   - the integration suites that matter on Windows: the store (store::), the pipeline
#     branches (pipeline::), the CLI (cli::), and the crash suites: fail points at the
#     default size (crash::process::abort_*: the real spoolbox.exe aborted at fail point K and
#     restarted, three transport set-ups), power cuts on the simulated disk (crash::power) and
#     corruption and fuzzing (crash::corruption);
#   - the CLI end to end (scripts/wine/cli.sh): a demo store created, listed, sent through the
#     pickup folder (CRLF checked on disk), doctored.
# Left out under Wine, each for a reason (they run on Linux): the egui/wgpu UI tests (ui::,
# ui_keys, panels, folders, settings: no Vulkan/GL under a headless Wine), everything that
# needs the Python SMTP server, postfix or SIGKILL/SIGTERM (smtp::, crash::process::smtp,
# crash::process::sigkill, crash::stop, reports::), the cross-process flock test that forks
# python (store::journal::lock_of_a_killed_holder_is_released_by_the_kernel; the Windows lock
# is tested by cli::abort_while_another_process_holds_the_store and a unit test), and
# hostile_fs (symbolic links, FIFOs, modes: compiled out on Windows).
#
# Needs: rustup's x86_64-pc-windows-gnu target, mingw-w64, wine64 (scripts/test.sh installs
# the packages and adds the target).
set -euo pipefail
cd "$(dirname "$0")/../.."
target=x86_64-pc-windows-gnu
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER="$PWD/scripts/wine/run.sh"
export WINEPREFIX="${WINEPREFIX:-$PWD/target/wine-prefix}"
# Console programs only: never a window, never Wayland.
unset DISPLAY WAYLAND_DISPLAY

t0=$(date +%s)
echo "windows: building the tests for $target"
cargo test --target "$target" --lib --bins --test all --no-run
t1=$(date +%s)
echo "windows: built in $((t1 - t0)) s; preparing the Wine prefix $WINEPREFIX"
scripts/wine/setup.sh

echo "windows: library unit tests under Wine"
cargo test --target "$target" --lib --bins -- --test-threads=2
echo "windows: store, pipeline, CLI and crash suites under Wine"
cargo test --target "$target" --test all -- --test-threads=2 \
  store:: pipeline:: cli:: crash::process::abort_ crash::power crash::corruption \
  --skip store::journal::lock_of_a_killed_holder_is_released_by_the_kernel
echo "windows: the CLI end to end under Wine"
scripts/wine/cli.sh "${CARGO_TARGET_DIR:-target}/$target/debug/spoolbox.exe"
t2=$(date +%s)
echo "windows: done: build $((t1 - t0)) s, Wine runs $((t2 - t1)) s"
