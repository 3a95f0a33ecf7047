#!/usr/bin/env bash
# build-image.sh - build the action's image from the repository's unchanged Dockerfile as
# `hex-action:test` and print that tag on stdout (sizes, timings and build output go to stderr).
#
# Why: the tests run the real image the way the GitHub runner does (`runs.image: Dockerfile`).
# scripts/docker-env.sh provides the engine and the `python:3.12-slim` base (a real one, or a
# Debian stand-in with a wheelhouse when Docker Hub is out of reach). With the stand-in the build
# runs with --network=none (pip installs from the stand-in's /wheelhouse); with a real base image
# pip needs PyPI, so the build uses --network=host (no bridge is ever created).
#
# Usage: scripts/build-image.sh [context-dir]   (default: the repository root)
#        IMAGE_TAG=name:tag scripts/build-image.sh
#        NO_CACHE=1 scripts/build-image.sh          every step runs again (a cold build cache; the
#                                                  base image is used as present)
set -euo pipefail

REPO_ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
CONTEXT=${1:-$REPO_ROOT}
TAG=${IMAGE_TAG:-hex-action:test}
BASE_IMAGE=python:3.12-slim
STANDIN_LABEL=org.hex-action.standin-requirements-sha256

now_ms() { local t=${EPOCHREALTIME//[!0-9]/}; echo $((10#$t / 1000)); }
elapsed_since() { local d=$(($(now_ms) - $1)); printf '%d.%d' $((d / 1000)) $((d % 1000 / 100)); }
log() { printf '[build-image] %s\n' "$*" >&2; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }

t0=$(now_ms)
# docker-env.sh keys the stand-in on the requirements.txt next to it; with another context dir,
# make sure it is the same file the Dockerfile copies.
if [[ "$CONTEXT" != "$REPO_ROOT" ]] && ! cmp -s "$CONTEXT/requirements.txt" "$REPO_ROOT/requirements.txt"; then
    log "WARNING: $CONTEXT/requirements.txt differs from $REPO_ROOT/requirements.txt (stand-in wheels)"
fi
env_out=$("$REPO_ROOT/scripts/docker-env.sh")
eval "$env_out"
log "engine ready in $(elapsed_since "$t0") s ($DOCKER_HOST)"

network=none
if [[ -z "$(docker image inspect "$BASE_IMAGE" --format "{{ index .Config.Labels \"$STANDIN_LABEL\" }}" \
        2>/dev/null | sed 's/<no value>//')" ]]; then
    network=host   # a real base image: pip must reach PyPI
fi

build_flags=(--network="$network" -t "$TAG")
if [[ -n "${NO_CACHE:-}" ]]; then build_flags+=(--no-cache); fi
t1=$(now_ms)
log "docker build ${build_flags[*]} $CONTEXT"
docker build "${build_flags[@]}" "$CONTEXT" </dev/null >&2
build_s=$(elapsed_since "$t1")
# Drop superseded images of ours (an old stand-in after requirements.txt changed, the previous
# hex-action:test): only dangling images carrying the stand-in's label.
docker image prune -f --filter "label=$STANDIN_LABEL" >/dev/null || true

size=$(docker image inspect "$TAG" --format '{{.Size}}')
base_size=$(docker image inspect "$BASE_IMAGE" --format '{{.Size}}')
log "build took $build_s s (total with engine setup $(elapsed_since "$t0") s)"
log "image $TAG: $(mib "$size"); base $BASE_IMAGE: $(mib "$base_size"); added by the Dockerfile: $(mib $((size - base_size)))"
log "layers added over the base (docker history):"
# The base image's history entries come last in `docker history`; show those the Dockerfile added.
base_entries=$(docker history -q "$BASE_IMAGE" | wc -l)
docker history --no-trunc --format '{{.Size}}\t{{.CreatedBy}}' "$TAG" \
    | head -n "-$base_entries" | cut -c1-150 | sed 's/^/    /' >&2 || true
echo "$TAG"
