#!/usr/bin/env bash
# docker-env.sh - make a Docker engine and a `python:3.12-slim` base image available, then print
#   export DOCKER_HOST=unix:///...
# on stdout (everything else goes to stderr), so callers can run: eval "$(scripts/docker-env.sh)"
#
# Why: `make test` builds and runs the action's image from the repository's unchanged Dockerfile,
# on machines that have no running Docker engine and cannot reach Docker Hub (see
# shared/local-docker.md). So, in order:
#   (a) an engine that already answers `docker info` (current DOCKER_HOST or the default socket)
#       is used as it is when it has `python:3.12-slim` or can pull it;
#   (b) otherwise a private dockerd is installed if needed (apt: docker.io, debootstrap) and started
#       on loopback only (no bridge, no iptables/NAT, no IP forwarding), with all its state under
#       $HEX_ACTION_DOCKER_DIR (default /var/tmp/hex-action-docker); a running one is reused;
#   (c) if that engine lacks `python:3.12-slim`, a stand-in is built from Debian bookworm with
#       debootstrap (Python 3.11; the minbase rootfs tarball is cached in the state dir) with the
#       wheels of requirements.txt in /wheelhouse and an /etc/pip.conf that installs only from
#       there, and imported as `python:3.12-slim`. The stand-in carries a label with the sha256 of
#       requirements.txt; when that file changes the stand-in is re-imported with fresh wheels.
# Idempotent: a second run on the same machine only checks and prints (well under a second).
#
# Usage: scripts/docker-env.sh            set up (or reuse) and print the export line
#        scripts/docker-env.sh --stop     stop the private dockerd started by this script (by its PID)
#        scripts/docker-env.sh --remove   stop it (and its containerd), unmount and delete the state
#                                         dir: images, the stand-in, the cached rootfs (`make clean`)
set -euo pipefail

STATE_DIR=${HEX_ACTION_DOCKER_DIR:-/var/tmp/hex-action-docker}
REPO_ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
REQ_FILE="$REPO_ROOT/requirements.txt"
BASE_IMAGE=python:3.12-slim
SUITE=bookworm
STANDIN_LABEL=org.hex-action.standin-requirements-sha256
SOCK="$STATE_DIR/docker.sock"
OWN_HOST="unix://$SOCK"
PIDFILE="$STATE_DIR/dockerd.pid"

now_ms() { local t=${EPOCHREALTIME//[!0-9]/}; echo $((10#$t / 1000)); }
# Seconds since a now_ms value, with one decimal.
elapsed_since() { local d=$(($(now_ms) - $1)); printf '%d.%d' $((d / 1000)) $((d % 1000 / 100)); }
T0=$(now_ms)
log() { printf '[docker-env +%5ss] %s\n' "$(elapsed_since "$T0")" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }
# Serialise concurrent callers (e.g. parallel test workers) before changing anything.
take_lock() {
    mkdir -p "$STATE_DIR"
    exec 9>"$STATE_DIR/lock"
    flock -w 900 9 || die "could not lock $STATE_DIR/lock"
}

# `docker info` against whatever DOCKER_HOST is in the environment, bounded in time.
engine_answers() { have docker && timeout 15 docker info >/dev/null 2>&1; }

# Prints: missing | real | standin-current | standin-stale
base_image_state() {
    local label
    if ! label=$(docker image inspect "$BASE_IMAGE" \
            --format "{{ index .Config.Labels \"$STANDIN_LABEL\" }}" 2>/dev/null); then
        echo missing
    elif [[ -z "$label" || "$label" == "<no value>" ]]; then
        echo real
    elif [[ "$label" == "$REQ_HASH" ]]; then
        echo standin-current
    else
        echo standin-stale
    fi
}

stop_own_dockerd() {
    local pid
    if [[ -s "$PIDFILE" ]] && pid=$(<"$PIDFILE") && kill -0 "$pid" 2>/dev/null; then
        log "stopping private dockerd (pid $pid)"
        kill -TERM "$pid"
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then log "dockerd $pid still alive after 10 s, sending SIGKILL"; kill -KILL "$pid"; fi
    else
        log "no private dockerd running (pidfile $PIDFILE)"
    fi
}

# The containerd that dockerd started for itself (found by its config path under the state dir).
own_containerd_pids() {
    local cmdline pid
    for cmdline in /proc/[0-9]*/cmdline; do
        pid=${cmdline#/proc/}
        pid=${pid%/cmdline}
        if { tr '\0' ' ' <"$cmdline"; } 2>/dev/null | grep -qF -- "--config $STATE_DIR/exec/containerd/"; then echo "$pid"; fi
    done
}

remove_state() {
    stop_own_dockerd
    local pid
    for pid in $(own_containerd_pids); do
        log "stopping its containerd (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    [[ -d "$STATE_DIR" ]] || { log "no state dir $STATE_DIR"; return 0; }
    # Only a directory this script made: it holds its lock file (never `/` or a home by mistake).
    [[ "$STATE_DIR" != / && -e "$STATE_DIR/lock" ]] || die "$STATE_DIR does not look like this script's state dir (no lock file); not removing it"
    local target
    # Deepest mounts first (the data root's bind mount, network namespaces, container layers).
    while read -r target; do
        [[ -n "$target" ]] || continue
        umount "$target" 2>/dev/null || umount -l "$target" || log "could not unmount $target"
    done < <(findmnt -rn -o TARGET | grep -F "$STATE_DIR/" | sort -r)
    local size
    size=$(du -sh "$STATE_DIR" 2>/dev/null | cut -f1)
    rm -rf "$STATE_DIR"
    log "removed $STATE_DIR ($size)"
}

install_packages_if_missing() {
    local pkgs=()
    have dockerd || pkgs+=(docker.io)
    have debootstrap || pkgs+=(debootstrap)
    [[ ${#pkgs[@]} -eq 0 ]] && return 0
    [[ $(id -u) -eq 0 ]] || die "need root to apt-get install ${pkgs[*]}"
    local t added_policy=0
    t=$(now_ms)
    # Never let the package's maintainer scripts start a system dockerd (that one would create
    # docker0, NAT rules and IP forwarding): deny service starts while installing.
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        added_policy=1
    fi
    log "apt-get install ${pkgs[*]}"
    {
        DEBIAN_FRONTEND=noninteractive apt-get update -q &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${pkgs[@]}"
    } </dev/null >&2 || { if ((added_policy)); then rm -f /usr/sbin/policy-rc.d; fi; die "apt-get failed"; }
    if ((added_policy)); then rm -f /usr/sbin/policy-rc.d; fi
    log "apt-get done in $(elapsed_since "$t") s"
}

start_own_dockerd() {
    mkdir -p "$STATE_DIR"
    export DOCKER_HOST="$OWN_HOST"
    local pid="" t
    if [[ -s "$PIDFILE" ]]; then pid=$(<"$PIDFILE"); fi
    # A live dockerd of ours, not a pid reused by another program nor a killed one not yet reaped.
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == dockerd ]] \
        && ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null; then
        log "reusing private dockerd (pid $pid)"
    else
        have dockerd || die "dockerd not found"
        rm -f "$PIDFILE" "$SOCK"
        t=$(now_ms)
        log "starting private dockerd on $OWN_HOST (log: $STATE_DIR/dockerd.log)"
        # Loopback only: no bridge, no iptables rules, no IP forwarding/masquerading. Containers get
        # no network unless run with --network=host.
        setsid dockerd \
            --bridge=none --iptables=false --ip-forward=false --ip-masq=false \
            --data-root "$STATE_DIR/data" --exec-root "$STATE_DIR/exec" \
            --pidfile "$PIDFILE" -H "$OWN_HOST" \
            </dev/null >>"$STATE_DIR/dockerd.log" 2>&1 9>&- &
        pid=$!
    fi
    local deadline=$((SECONDS + 60))
    until timeout 5 docker info >/dev/null 2>&1; do
        kill -0 "$pid" 2>/dev/null || { tail -n 20 "$STATE_DIR/dockerd.log" >&2; die "dockerd exited"; }
        ((SECONDS < deadline)) || { tail -n 20 "$STATE_DIR/dockerd.log" >&2; die "dockerd did not answer within 60 s"; }
        sleep 0.2
    done
    if [[ -n "${t:-}" ]]; then log "dockerd ready in $(elapsed_since "$t") s"; fi
}

debian_mirror() {
    local m=""
    m=$(grep -hsoE '^(URIs:[[:space:]]*|deb[[:space:]]+(\[[^]]*\][[:space:]]+)?)https?://[^[:space:]]+' \
            /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
        | grep -oE 'https?://[^[:space:]]+' | grep -vE 'security|updates|backports' \
        | grep -E '/debian/?$' | head -n 1) || true
    echo "${HEX_ACTION_DEBIAN_MIRROR:-${m:-http://deb.debian.org/debian}}"
}

# The cached minbase rootfs (with the changes that do not depend on requirements.txt).
ensure_rootfs_tarball() {
    ROOTFS_TAR="$STATE_DIR/rootfs-$SUITE-$(uname -m).tar"
    if [[ -s "$ROOTFS_TAR" ]]; then
        log "using cached rootfs $ROOTFS_TAR"
        return 0
    fi
    have debootstrap || die "debootstrap not found"
    local dir="$STATE_DIR/rootfs.tmp" t mirror
    mirror=$(debian_mirror)
    rm -rf "$dir"
    t=$(now_ms)
    log "debootstrap $SUITE from $mirror (takes ~30-60 s)"
    debootstrap --variant=minbase --include=python3,python3-pip,python-is-python3,ca-certificates \
        "$SUITE" "$dir" "$mirror" </dev/null >"$STATE_DIR/debootstrap.log" 2>&1 \
        || { tail -n 30 "$STATE_DIR/debootstrap.log" >&2; die "debootstrap failed"; }
    log "debootstrap done in $(elapsed_since "$t") s"
    # Like the official image: interpreter at /usr/local/bin/python, pip usable system-wide.
    rm -f "$dir"/usr/lib/python3*/EXTERNALLY-MANAGED
    mkdir -p "$dir/usr/local/bin"
    ln -sf /usr/bin/python3 "$dir/usr/local/bin/python"
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
    tar -C "$dir" -cf "$ROOTFS_TAR.tmp" . && mv "$ROOTFS_TAR.tmp" "$ROOTFS_TAR"
    rm -rf "$dir"
    log "cached rootfs tarball $ROOTFS_TAR ($(du -h "$ROOTFS_TAR" | cut -f1))"
}

build_standin() {
    local t work arch
    t=$(now_ms)
    ensure_rootfs_tarball
    work=$(mktemp -d "$STATE_DIR/standin.XXXXXX")
    # shellcheck disable=SC2064  # expand $work now
    trap "rm -rf '$work'" EXIT
    case "$(uname -m)" in
        x86_64) arch=x86_64 ;;
        aarch64 | arm64) arch=aarch64 ;;
        *) die "unsupported architecture $(uname -m)" ;;
    esac
    # Wheels for the stand-in's Python (Debian bookworm: CPython 3.11, glibc 2.36), fetched by the
    # host's pip: the image build itself runs with --network=none.
    local platforms=() g
    for g in $(seq 17 36); do platforms+=(--platform "manylinux_2_${g}_$arch"); done
    platforms+=(--platform "manylinux2014_$arch")
    mkdir -p "$work/add/wheelhouse" "$work/add/etc"
    log "pip download wheels for requirements.txt (cp311, manylinux $arch)"
    python3 -m pip download -q --disable-pip-version-check --only-binary=:all: \
        --implementation cp --python-version 3.11 --abi cp311 --abi abi3 --abi none "${platforms[@]}" \
        -r "$REQ_FILE" -d "$work/add/wheelhouse" </dev/null >&2 || die "pip download failed"
    log "wheels ready ($(find "$work/add/wheelhouse" -name '*.whl' | wc -l) files)"
    printf '[global]\nno-index = true\nfind-links = /wheelhouse\n' >"$work/add/etc/pip.conf"
    cp "$ROOTFS_TAR" "$work/rootfs.tar"
    tar -C "$work/add" -rf "$work/rootfs.tar" ./wheelhouse ./etc/pip.conf
    docker import \
        -c 'ENV LANG=C.UTF-8' \
        -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        -c "LABEL $STANDIN_LABEL=$REQ_HASH" \
        -c 'CMD ["python3"]' \
        "$work/rootfs.tar" "$BASE_IMAGE" >/dev/null
    rm -rf "$work"
    trap - EXIT
    log "imported stand-in $BASE_IMAGE (Debian $SUITE, Python 3.11) in $(elapsed_since "$t") s"
}

# ---------------------------------------------------------------------------------------------
if [[ "${1:-}" == "--stop" ]]; then
    stop_own_dockerd
    exit 0
fi
if [[ "${1:-}" == "--remove" ]]; then
    remove_state
    exit 0
fi
[[ $# -eq 0 ]] || die "usage: $0 [--stop | --remove]"
[[ -f "$REQ_FILE" ]] || die "no $REQ_FILE"
REQ_HASH=$(sha256sum "$REQ_FILE" | cut -d' ' -f1)

# (a) An engine that already answers.
if engine_answers; then
    host=${DOCKER_HOST:-unix:///var/run/docker.sock}
    state=$(base_image_state)
    case "$state" in
        real | standin-current)
            log "engine at $host has $BASE_IMAGE ($state)"
            printf 'export DOCKER_HOST=%q\n' "$host"
            exit 0
            ;;
        standin-stale)
            log "stand-in $BASE_IMAGE at $host was built for another requirements.txt: re-importing"
            take_lock
            [[ "$(base_image_state)" == standin-current ]] || build_standin
            printf 'export DOCKER_HOST=%q\n' "$host"
            exit 0
            ;;
        missing)
            if [[ "$host" != "$OWN_HOST" ]]; then
                log "engine at $host lacks $BASE_IMAGE: trying docker pull (30 s)"
                if timeout 30 docker pull -q "$BASE_IMAGE" >/dev/null 2>&1; then
                    printf 'export DOCKER_HOST=%q\n' "$host"
                    exit 0
                fi
                log "pull failed: falling back to a private engine"
            fi
            ;;
    esac
fi

# (b) The private engine.
take_lock
install_packages_if_missing
start_own_dockerd

# (c) The base image.
case "$(base_image_state)" in
    real | standin-current) log "$BASE_IMAGE present" ;;
    standin-stale) log "requirements.txt changed: rebuilding stand-in"; build_standin ;;
    missing) log "$BASE_IMAGE missing: building the stand-in"; build_standin ;;
esac
log "ready"
printf 'export DOCKER_HOST=%q\n' "$OWN_HOST"
