# release-common.sh - sourced by build-dist.sh and release-dry-run.sh (set LOG_PREFIX first):
# log/die, a work dir removed on exit, and the Hex simulator on 127.0.0.1 for one check run,
# stopped on exit. Defines WORK, SIM_URL (after start_simulator) and SIM_TOKEN.
# shellcheck shell=bash disable=SC2034  # WORK, SIM_URL, ... are for the scripts that source this file

log() { printf '[%s] %s\n' "$LOG_PREFIX" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

WORK=$(mktemp -d)
SIM_PID=""
SIM_URL=""
# A fresh token per run: a leak in a log is then unmistakable.
SIM_TOKEN="release-check-$RANDOM$RANDOM"
# The one project the checks run: PENDING for 1 s, RUNNING for 1 s, then COMPLETED.
SIM_PROJECT=0b9a3c52-6f1e-4a8d-9c7b-2e5f8d1a4b63
# shellcheck disable=SC2317,SC2329  # invoked by the trap
release_common_cleanup() {
    if [[ -n "$SIM_PID" ]]; then kill "$SIM_PID" 2>/dev/null || true; wait "$SIM_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap release_common_cleanup EXIT

# start_simulator PYTHON: the simulator of that Python's hex_action, in the background (cwd $WORK,
# so a checkout's hex_action/ cannot stand in for an installed one); sets SIM_URL.
start_simulator() {
    (cd "$WORK" && exec "$1" -m hex_action.simulator --port 0 --port-file "$WORK/sim.port" \
        --token "$SIM_TOKEN" --project "$SIM_PROJECT=pending:1,running:1") >"$WORK/sim.log" 2>&1 &
    SIM_PID=$!
    for _ in $(seq 1 100); do [[ -s "$WORK/sim.port" ]] && break; sleep 0.1; done
    [[ -s "$WORK/sim.port" ]] || { cat "$WORK/sim.log" >&2; die "the simulator did not start"; }
    SIM_URL="http://127.0.0.1:$(<"$WORK/sim.port")"
}
