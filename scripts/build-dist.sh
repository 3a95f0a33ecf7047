#!/usr/bin/env bash
# build-dist.sh BIN_DIR OUT_DIR [VERSION] - build the sdist and the wheel of hex-action into OUT_DIR
# and check them as a user would meet them. Used by the release workflow's package job and by
# `make release-dry-run`; BIN_DIR holds python with setuptools, build and twine (the venv of
# requirements-release.txt or requirements-dev.txt).
#
#   1. python -m build --no-isolation: the hash-pinned setuptools of BIN_DIR, not whatever PyPI
#      serves at build time;
#   2. exactly one sdist and one wheel, named for VERSION (default: hex_action.__version__), with
#      LICENSE in both; twine check --strict (the metadata PyPI will render);
#   3. a fresh venv: the runtime from requirements.txt with --require-hashes, then the wheel alone
#      (--no-deps, --no-index); `pip check`, `hex-action --version`, and one run of the installed
#      `hex-action` against the installed simulator on 127.0.0.1 (so the wheel carries both).
set -euo pipefail

if [[ $# -lt 2 || $# -gt 3 || ! -x "$1/python" ]]; then
    echo "usage: $0 BIN_DIR OUT_DIR [VERSION]   (BIN_DIR/python with setuptools, build and twine)" >&2
    exit 2
fi
BIN=$(cd -- "$1" && pwd)
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
mkdir -p "$2"
OUT=$(cd -- "$2" && pwd)
cd "$ROOT"
VERSION=${3:-$("$BIN/python" -c 'import ast, pathlib
tree = ast.parse(pathlib.Path("hex_action/__init__.py").read_text())
print(next(n.value.value for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "__version__"))')}

LOG_PREFIX=build-dist
# shellcheck source=scripts/release-common.sh
source "$ROOT/scripts/release-common.sh"

log "python -m build --no-isolation --sdist --wheel (version $VERSION)"
rm -rf "$OUT"/hex_action-* build/ ./*.egg-info
"$BIN/python" -m build --no-isolation --sdist --wheel --outdir "$OUT" . >"$WORK/build.log" 2>&1 \
    || { tail -n 30 "$WORK/build.log" >&2; die "build failed"; }
rm -rf build/ ./*.egg-info

shopt -s nullglob
sdists=("$OUT"/hex_action-*.tar.gz)
wheels=("$OUT"/hex_action-*.whl)
shopt -u nullglob
[[ ${#sdists[@]} -eq 1 && ${#wheels[@]} -eq 1 ]] || die "expected one sdist and one wheel in $OUT, got: $(ls "$OUT")"
SDIST=${sdists[0]} WHEEL=${wheels[0]}
[[ "$(basename "$SDIST")" == "hex_action-$VERSION.tar.gz" ]] || die "sdist $(basename "$SDIST") is not for $VERSION"
[[ "$(basename "$WHEEL")" == "hex_action-$VERSION-py3-none-any.whl" ]] || die "wheel $(basename "$WHEEL") is not for $VERSION"
"$BIN/python" - "$SDIST" "$WHEEL" <<'EOF' || die "sdist or wheel lacks a file"
import sys, tarfile, zipfile
sdist, wheel = sys.argv[1:]
with tarfile.open(sdist) as tar:
    names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
missing = {"LICENSE", "README.md", "pyproject.toml", "hex_action/__init__.py", "hex_action/simulator/__main__.py"} - names
with zipfile.ZipFile(wheel) as whl:
    wnames = set(whl.namelist())
missing |= {n for n in ("hex_action/cli.py", "hex_action/simulator/__main__.py") if n not in wnames}
if not any(n.endswith(".dist-info/licenses/LICENSE") for n in wnames):
    missing.add("wheel: .dist-info/licenses/LICENSE")
if any(n.startswith(("tests/", "benchmarks/", "scripts/")) for n in wnames):
    missing.add("wheel: carries tests/, benchmarks/ or scripts/")
if missing:
    sys.exit(f"missing or unexpected: {sorted(missing)}")
EOF
log "$(basename "$SDIST") $(du -h "$SDIST" | cut -f1), $(basename "$WHEEL") $(du -h "$WHEEL" | cut -f1): files ok"

"$BIN/twine" check --strict "$SDIST" "$WHEEL" >&2 || die "twine check failed"

log "fresh venv: requirements.txt --require-hashes, then the wheel"
"$BIN/python" -m venv "$WORK/venv"
V="$WORK/venv/bin"
"$V/pip" install --quiet --disable-pip-version-check --require-hashes -r requirements.txt >&2
"$V/pip" install --quiet --disable-pip-version-check --no-deps --no-index "$WHEEL" >&2
"$V/pip" check >&2 || die "pip check failed in the fresh venv"
got=$(cd "$WORK" && "$V/hex-action" --version)
[[ "$got" == "hex-action $VERSION" ]] || die "hex-action --version printed '$got', expected 'hex-action $VERSION'"
log "hex-action --version: $got"

# One run of the installed command line against the installed simulator (loopback only).
start_simulator "$V/python"
out=$(cd "$WORK" && env -i PATH="$PATH" HOME="$WORK" HEX_API_TOKEN="$SIM_TOKEN" "$V/hex-action" \
    --project-id "$SIM_PROJECT" --hex-url "$SIM_URL" --timeout 60s --output json) \
    || die "hex-action from the wheel failed against the simulator: $out"
# Exit 0 means the run completed; the JSON says so too.
grep -Eq '"status": *"COMPLETED"' <<<"$out" || die "hex-action from the wheel did not report COMPLETED: $out"
log "hex-action from the wheel ran a project on the wheel's simulator: COMPLETED"
echo "$SDIST"
echo "$WHEEL"
