#!/usr/bin/env bash
# release-dry-run.sh - `make release-dry-run`: what .github/workflows/release.yml publishes, built and
# checked locally as far as this machine allows, into dist/release-dry-run/. Nothing is pushed.
#
#   image       the image from the unchanged Dockerfile (scripts/build-image.sh on the engine of
#               scripts/docker-env.sh), then its ENTRYPOINT run as the runner runs it (`docker run`
#               with -e INPUT_*, GITHUB_OUTPUT) against the simulator on 127.0.0.1: a run must
#               complete and `status=COMPLETED` be written;
#   sdist+wheel scripts/build-dist.sh: built with pinned tools, twine check, installed in a fresh venv
#               (`hex-action --version`, a run against the wheel's simulator);
#   action.yml  scripts/release_action_yml.py, as for the release commit, with the local image id
#               standing in for the registry digest; then every static check of `make lint` again
#               with it in place of action.yml (schema, actionlint of the workflows and examples
#               against it, zizmor), and the image it names must exist.
#
# Not possible here, done only by the workflow: the linux/arm64 half (buildx and QEMU; this engine
# has the legacy builder and builds the host's architecture), the push and the registry's manifest
# digest, the Sigstore attestations, the tag moves, the GitHub Release and the PyPI upload.
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BIN=${BIN:-$ROOT/.venv/bin}
OUT=${OUT:-$ROOT/dist/release-dry-run}
IMAGE_NAME=${IMAGE_NAME:-ghcr.io/hex-action/hex-action}
TAG=hex-action:release-dry-run

LOG_PREFIX=release-dry-run
# shellcheck source=scripts/release-common.sh
source "$ROOT/scripts/release-common.sh"
rm -rf "$OUT"
mkdir -p "$OUT"

# ------------------------------------------------------------------------------------ the image
log "1/3 image: scripts/build-image.sh as $TAG"
eval "$(scripts/docker-env.sh)"
IMAGE_TAG=$TAG scripts/build-image.sh >/dev/null
IMAGE_ID=$(docker image inspect --format '{{.Id}}' "$TAG")
arch=$(docker image inspect --format '{{.Os}}/{{.Architecture}}' "$TAG")
log "built $TAG = $IMAGE_ID ($arch only; the workflow builds linux/amd64 and linux/arm64)"

start_simulator "$BIN/python"
mkdir -p "$WORK/file_commands" "$WORK/workspace"
: >"$WORK/file_commands/set_output_dry_run"
: >"$WORK/file_commands/step_summary_dry_run"
log "docker run $IMAGE_ID (the runner's way, --network=host) against the simulator on 127.0.0.1"
# Input values travel in the docker CLI's environment (`-e NAME` only), as the runner passes them.
env "INPUT_API-TOKEN=$SIM_TOKEN" "INPUT_PROJECT-ID=$SIM_PROJECT" "INPUT_HEX-URL=$SIM_URL" \
    "INPUT_TIMEOUT=60s" \
    docker run --rm --network=host --workdir /github/workspace \
    -e INPUT_API-TOKEN -e INPUT_PROJECT-ID -e INPUT_HEX-URL -e INPUT_TIMEOUT \
    -e GITHUB_OUTPUT=/github/file_commands/set_output_dry_run \
    -e GITHUB_STEP_SUMMARY=/github/file_commands/step_summary_dry_run \
    -e GITHUB_ACTIONS=true -e CI=true \
    -v "$WORK/workspace:/github/workspace" -v "$WORK/file_commands:/github/file_commands" \
    "$IMAGE_ID" >"$WORK/run.log" 2>&1 || { cat "$WORK/run.log" >&2; die "the image's entrypoint failed"; }
grep -qx 'status=COMPLETED' "$WORK/file_commands/set_output_dry_run" \
    || { cat "$WORK/run.log" "$WORK/file_commands/set_output_dry_run" >&2; die "no status=COMPLETED output"; }
if grep -F "$SIM_TOKEN" "$WORK/run.log" | grep -vqF '::add-mask::'; then die "the token was printed"; fi
log "the image's entrypoint ran a project to COMPLETED and wrote its outputs"

# ---------------------------------------------------------------------------------- sdist+wheel
log "2/3 sdist and wheel: scripts/build-dist.sh"
scripts/build-dist.sh "$BIN" "$OUT" >"$WORK/dist.txt"

# ----------------------------------------------------------------------------------- action.yml
log "3/3 the release commit's action.yml: scripts/release_action_yml.py"
"$BIN/python" scripts/release_action_yml.py --image "$IMAGE_NAME" --digest "$IMAGE_ID" --output "$OUT/action.yml"
diff -u action.yml "$OUT/action.yml" >&2 || true
reference=$("$BIN/python" -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["runs"]["image"])' "$OUT/action.yml")
docker image inspect "${reference##*@}" >/dev/null || die "the image $reference names does not exist"
ACTION_YML="$OUT/action.yml" scripts/static-checks.sh "$BIN" || die "the release action.yml fails the static checks"

log "done: dist/release-dry-run/ holds"
ls -l "$OUT" >&2
echo "image:      $TAG ($IMAGE_ID, $arch)"
echo "sdist:      $(sed -n 1p "$WORK/dist.txt")"
echo "wheel:      $(sed -n 2p "$WORK/dist.txt")"
echo "action.yml: $OUT/action.yml (runs.image: $reference)"
