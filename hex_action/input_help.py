"""Each input's description, as action.yml gives it: the text of the command line's `--help`.

action.yml is the one source; `tests/test_cli.py` fails when this copy drifts from it (the
package is installed without action.yml, so the text travels here).
"""

from __future__ import annotations

#: action.yml's `inputs.<name>.description`, in its order.
DESCRIPTIONS: dict[str, str] = {
    "api-token": (
        "Hex API token (workspace or personal), sent as a Bearer token. Falls back to the HEX_API_TOKEN "
        "environment variable. Store it as a secret."
    ),
    "project-id": ("Id of the published Hex project to run; with run-id, the project that run belongs to."),
    "input-params": (
        "JSON object (or the same mapping in YAML) of input values for the run, keyed by input variable name."
    ),
    "hex-url": ("Hex workspace URL, for EU and single-tenant hosts; /api/v1 is appended."),
    "wait": ("Wait for the run to finish. false triggers the run, reads its status once and exits 0."),
    "timeout": ("Longest time to wait for the run, in seconds or as a duration such as 90s, 15m or 1h30m."),
    "poll-interval": (
        "Longest gap between status reads without run history, at least 2s (Hex allows 30 reads a "
        "minute); the first reads come sooner. With run history, reads before the expected end are up to"
        " a tenth of the expected duration apart (5 minutes at most), or this interval if longer; around"
        " the expected end they come every 4s, and past it they back off to this interval again."
    ),
    "use-run-history": (
        "Read the durations of the project's recent completed API runs (one extra request) to time "
        "status reads around the expected end."
    ),
    "cancel-on-timeout": ("Cancel the run when the wait times out, or when its status cannot be read."),
    "fail-on-error": (
        "Fail the step when the run does not complete. false exits 0 whatever the outcome; the outputs tell."
    ),
    "update-published-results": ("Update the published app's cached results with this run's results."),
    "use-cached-sql-results": ("Let SQL cells use cached results. false refreshes them."),
    "dry-run": ("Ask Hex to validate the request without running the project."),
    "view-id": ("Id of a saved view whose inputs the run uses; not together with input-params."),
    "notifications": ("JSON array of Hex run notifications, sent when the run finishes."),
    "run-id": (
        "Wait on an existing run of project-id instead of triggering one. The inputs that shape a new "
        "run (input-params, view-id, notifications, update-published-results, use-cached-sql-results) "
        "are refused with it."
    ),
    "pipeline": (
        "YAML or JSON list of steps, each with a project-id, to run as one pipeline; not together with project-id."
    ),
    "pipeline-file": (
        "Path in the workspace of a YAML or JSON pipeline file; not together with pipeline or project-id."
    ),
    "max-parallel": ("Most pipeline steps running at once when steps have needs, from 1 to 25."),
    "fail-fast": ("Cancel a pipeline's runs still in flight when one of its steps fails."),
}
