#!/usr/bin/env bash
# static-checks.sh BIN_DIR - the offline static checks of the action's metadata, workflows,
# examples and image, with the tools installed in BIN_DIR (the venv's bin, from
# requirements-dev.txt). Prints one line per check; exits non-zero when any check fails
# (all checks run, so one run shows every problem).
#
#   action.yml          check-jsonschema, SchemaStore's github-action schema (vendored, offline)
#   dependabot.yml      check-jsonschema, SchemaStore's dependabot schema
#   workflows+examples  check-jsonschema, SchemaStore's github-workflow schema
#   workflows           actionlint (expressions, `with:` keys and `steps.*.outputs.*` of `uses: ./`
#                       against action.yml, runner labels, shell scripts when shellcheck is there)
#   examples            actionlint on copies whose `uses: hex-action/hex-action@<ref>` is rewritten
#                       to `uses: ./` (see below), so they are checked against this action.yml too
#                       (and a check that every example calls the action)
#   workflows+examples  zizmor (the workflow security linter, offline) over .github/ (workflows,
#                       dependabot.yml), action.yml and examples/, settings in .github/zizmor.yml
#   Dockerfile          hadolint
#   shell scripts       shellcheck (scripts/*.sh, .ci/run), following `source`d files
#   README.md           scripts/readme_tables.py --check (input/output tables == action.yml)
#   input_help.py       scripts/input_help.py --check (the CLI's --help texts == action.yml)
#
# Usage: scripts/static-checks.sh .venv/bin      (what `make lint` runs)
#        ACTION_YML=path/action.yml scripts/static-checks.sh .venv/bin
#            the same checks with another action.yml in place of the repository's (make
#            release-dry-run: the release commit's, whose runs.image names the image by digest)
set -euo pipefail

if [[ $# -ne 1 || ! -d "$1" ]]; then
    echo "usage: $0 BIN_DIR   (the directory holding check-jsonschema, actionlint, zizmor, hadolint, python)" >&2
    exit 2
fi
BIN=$(cd -- "$1" && pwd)
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
ACTION=$(realpath -- "${ACTION_YML:-$ROOT/action.yml}")
cd "$ROOT"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

failed=0
# run_check NAME COMMAND...: one line per check; the tool's own output only when it fails.
run_check() {
    local name=$1 log="$WORK/log"
    shift
    if "$@" >"$log" 2>&1; then
        printf 'ok    %s\n' "$name"
    else
        printf 'FAIL  %s\n' "$name"
        sed 's/^/      /' "$log"
        failed=1
    fi
}

shopt -s nullglob
workflows=(.github/workflows/*.yml)
examples=(examples/*.yml)
shopt -u nullglob
if [[ ${#workflows[@]} -eq 0 || ${#examples[@]} -eq 0 ]]; then
    echo "FAIL  no files in .github/workflows/ or examples/" >&2
    exit 1
fi

# actionlint runs shellcheck on `run:` scripts and pyflakes on `shell: python` steps when it finds
# them on PATH. Take them from BIN_DIR only, so the result does not depend on what else the machine
# has (GitHub's ubuntu images ship shellcheck, a bare Debian does not); absent -> explicitly off.
lint_flags=(-oneline -no-color)
if [[ -x "$BIN/shellcheck" ]]; then lint_flags+=(-shellcheck="$BIN/shellcheck"); else lint_flags+=(-shellcheck=); fi
if [[ -x "$BIN/pyflakes" ]]; then lint_flags+=(-pyflakes="$BIN/pyflakes"); else lint_flags+=(-pyflakes=); fi
shellcheck_state=$([[ -x "$BIN/shellcheck" ]] && echo "with shellcheck" || echo "no shellcheck in $1")

# The self-test starts the simulator inside the action's own container through the `entrypoint`
# and `args` keys of `with:`, which the runner accepts for every Docker container action (they
# are not inputs of action.yml, so actionlint reports them; see the comment in self-test.yml).
# Ignored for that file only, and only those two names.
selftest_ignore='input "(entrypoint|args)" is not defined in action "[^"]*" defined at "\./"'
selftest=.github/workflows/self-test.yml
other_workflows=()
for f in "${workflows[@]}"; do [[ "$f" == "$selftest" ]] || other_workflows+=("$f"); done

# actionlint checks `uses: ./` steps (their `with:` keys, `steps.*.outputs.*`) and local reusable
# workflows against the files of the linted file's project: the nearest directory holding both
# `.git` and `.github/workflows`; outside one it silently checks nothing of the kind. So every
# actionlint run below lints a throwaway project: `.git`, links to this repository's action.yml,
# Dockerfile and workflows, and copies of the examples. Examples call `uses:
# hex-action/hex-action@v1`, as users copy them, which actionlint cannot fetch offline: in the
# copies that `uses:` is rewritten to `./`, so they are checked against this action.yml too.
# Messages name `.github/workflows/<file>` and `examples/<file>` as in the repository.
project="$WORK/project"
mkdir -p "$project/.git" "$project/.github/workflows" "$project/examples"
ln -s "$ACTION" "$project/action.yml"
ln -s "$ROOT/Dockerfile" "$project/Dockerfile"
for f in "${workflows[@]}"; do ln -s "$ROOT/$f" "$project/$f"; done
for f in "${examples[@]}"; do
    sed -E 's#^([[:space:]]*(- )?uses:[[:space:]]*)hex-action/hex-action@[^[:space:]]+#\1./#' "$f" >"$project/$f"
done
# actionlint ARGS... run inside the throwaway project.
# shellcheck disable=SC2329  # invoked through run_check
lint() { (cd "$project" && "$BIN/actionlint" "${lint_flags[@]}" "$@"); }
# Guard the rewrite itself: every example must still call the action after it.
# shellcheck disable=SC2329  # invoked through run_check
examples_call_action() {
    local f
    for f in "${examples[@]}"; do
        grep -Eq '^[[:space:]]*(- )?uses:[[:space:]]*\./[[:space:]]*(#.*)?$' "$project/$f" \
            || { echo "$f: no 'uses: hex-action/hex-action@<ref>' step"; return 1; }
    done
}

run_check "${ACTION_YML:-action.yml} matches the github-action schema" \
    "$BIN/check-jsonschema" --builtin-schema vendor.github-actions "$ACTION"
run_check ".github/dependabot.yml matches the dependabot schema" \
    "$BIN/check-jsonschema" --builtin-schema vendor.dependabot .github/dependabot.yml
run_check "workflows and examples match the github-workflow schema (${#workflows[@]}+${#examples[@]} files)" \
    "$BIN/check-jsonschema" --builtin-schema vendor.github-workflows "${workflows[@]}" "${examples[@]}"
if [[ -f "$selftest" ]]; then
    run_check "actionlint $selftest ($shellcheck_state)" lint -ignore "$selftest_ignore" "$selftest"
fi
if [[ ${#other_workflows[@]} -gt 0 ]]; then
    run_check "actionlint ${other_workflows[*]} ($shellcheck_state)" lint "${other_workflows[@]}"
fi
run_check "examples call the action (hex-action/hex-action@<ref>)" examples_call_action
run_check "actionlint examples/*.yml against this action.yml ($shellcheck_state)" lint "${examples[@]}"
# zizmor collects ./action.yml from `.`; another ACTION_YML is passed as well.
zizmor_inputs=(. "${examples[@]}")
if [[ "$ACTION" != "$ROOT/action.yml" ]]; then zizmor_inputs+=("$ACTION"); fi
run_check "zizmor .github/, ${ACTION_YML:-action.yml}, examples/*.yml (offline, .github/zizmor.yml)" \
    "$BIN/zizmor" --offline --no-progress --config .github/zizmor.yml "${zizmor_inputs[@]}"
run_check "hadolint Dockerfile" "$BIN/hadolint" Dockerfile
if [[ -x "$BIN/shellcheck" ]]; then
    run_check "shellcheck scripts/*.sh .ci/run" "$BIN/shellcheck" -x scripts/*.sh .ci/run
fi
run_check "README tables match action.yml" "$BIN/python" scripts/readme_tables.py --check
run_check "--help texts match action.yml" "$BIN/python" scripts/input_help.py --check

exit "$failed"
