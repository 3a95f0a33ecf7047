"""The job summary: the outcome in one line, a table of the runs, what went wrong, and two pictures.

`summary_markdown` takes the steps' results and returns Markdown; whoever presents the outcome
(GitHub's step summary, or a file) writes it. Text from Hex or the workflow is made safe: it can
be neither HTML, nor a link, nor a table column, nor a Mermaid statement.

Size: rows are one per step, names are cut to `MAX_NAME` characters and messages to `MAX_MESSAGE`,
causes and consequences of a failure are listed up to `MAX_LISTED` steps each, and each diagram is
bounded by `hex_action.mermaid`, so a summary of 100 steps stays well under GitHub's 1 MiB: about
45 KB with 20-character names, 57 KB with 500-character ones (tests/test_summary.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from hex_action.inputs import format_duration
from hex_action.mermaid import cut, flowchart, gantt, timeline_bars
from hex_action.outcome import StepResult
from hex_action.status import SUCCESS, Status

#: A single run gets a timeline when the action waited at least this long for it: below that the
#: table says all there is.
TIMELINE_AFTER = 60.0
#: Longest project name shown in the table, in characters.
MAX_NAME = 100
#: Longest message shown per step, in characters.
MAX_MESSAGE = 600
#: Most steps listed under "What went wrong", each of causes and consequences.
MAX_LISTED = 25

_ICONS: dict[str, str] = {
    Status.COMPLETED: "✅",
    Status.DRY_RUN: "✅",
    Status.SKIPPED: "⏭️",
    Status.CANCELLED: "🚫",
    Status.TIMED_OUT: "⏱️",
    Status.NOT_STARTED: "⛔",
    Status.PENDING: "⏳",
    Status.RUNNING: "⏳",
}
#: Outcomes that follow from another step's failure (fail-fast, needs), listed after the cause.
_CONSEQUENCES = (Status.CANCELLED, Status.SKIPPED)


def summary_markdown(
    results: Sequence[StepResult],
    *,
    status: str,
    total_seconds: float,
    problem: str | None,
    pipeline: bool,
    started_only: bool = False,
) -> str:
    """The job summary for `results` (in written order) whose overall outcome is `status`.

    `problem` is an error of the action itself, shown first; `started_only` is for `wait: false`:
    the run was started and not waited for.
    """
    ordered = sorted(results, key=lambda r: (r.start_order is None, r.start_order or 0))
    parts = [_header(results, status, total_seconds, pipeline, started_only), _table(ordered, pipeline)]
    if any(r.status == Status.DRY_RUN for r in results):
        parts.append("_A dry run: Hex checked the request and ran nothing, so there is no run to link to._\n")
    went_wrong = _what_went_wrong(ordered, problem)
    if went_wrong:
        parts.append(went_wrong)
    if pipeline and len(results) > 1:
        parts.append("#### Pipeline\n\n" + flowchart(results).markdown())
    timeline = _timeline(results, pipeline)
    if timeline:
        parts.append(timeline)
    return "\n".join(parts) + "\n"


def _header(results: Sequence[StepResult], status: str, total: float, pipeline: bool, started_only: bool) -> str:
    ok = status in SUCCESS or started_only
    if pipeline:
        what = f"Hex pipeline of {len(results)} steps"
    else:
        only = results[0]
        name = _text(only.label)
        what = f"Hex dry run of {name}" if status == Status.DRY_RUN else f"Hex run of {name}"
    if started_only:
        return f"### ✅ {what}: started, {_text(status)} (not waited for)\n"
    return f"### {'✅' if ok else '❌'} {what}: {_text(status)} in {format_duration(total)}\n"


def _table(ordered: Sequence[StepResult], pipeline: bool) -> str:
    head = ["Project", "Status", "Run time", "Waited"]
    if pipeline:
        head.insert(0, "Step")
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in ordered:
        icon = _ICONS.get(r.status, "❌")
        cells = [_project_cell(r), f"{icon} {_cell(r.status or '—')}", _seconds(r.elapsed_seconds), _waited(r)]
        if pipeline:
            cells.insert(0, _cell(r.name))
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"


def _project_cell(r: StepResult) -> str:
    """The project's name (its id when the name is unknown), linked to the run when there is one."""
    name = _cell(cut(r.project_name, MAX_NAME)) if r.project_name else f"`{_cell(r.project_id)}`"
    if r.status == Status.DRY_RUN:
        return f"{name} (dry run)"
    if r.run_id and _linkable(r.run_url):
        return f'[{name}]({r.run_url} "run {_cell(r.run_id).replace(chr(34), "")}")'
    return name


def _waited(r: StepResult) -> str:
    """How long the action waited for the run: from its start to the outcome."""
    if not r.phases or r.ended_at is None or r.status == Status.DRY_RUN:
        return "—"
    return format_duration(max(0.0, r.ended_at - r.phases[0][1]))


def _seconds(value: float | None) -> str:
    return "—" if value is None else format_duration(value)


def _what_went_wrong(ordered: Sequence[StepResult], problem: str | None) -> str:
    """The cause first (the action's own error, the steps that failed), then what followed from it."""
    failed = [r for r in ordered if r.message and not r.succeeded]
    causes = [r for r in failed if r.status not in _CONSEQUENCES]
    consequences = [r for r in failed if r.status in _CONSEQUENCES]
    if not causes:  # a cancel from outside: the cancellations are the story
        causes, consequences = consequences, []
    lines = [f"- {_message(problem)}"] if problem else []
    lines += _listed(causes)
    if not lines:
        return ""
    text = "**What went wrong**\n\n" + "\n".join(dict.fromkeys(lines)) + "\n"
    if consequences:
        text += "\nBecause of that:\n\n" + "\n".join(dict.fromkeys(_listed(consequences))) + "\n"
    return text


def _listed(steps: Sequence[StepResult]) -> list[str]:
    lines = [f"- **{_cell(r.name)}**: {_message(r.message)}" for r in steps[:MAX_LISTED]]
    if len(steps) > MAX_LISTED:
        lines.append(f"- … and {len(steps) - MAX_LISTED} more steps.")
    return lines


def _timeline(results: Sequence[StepResult], pipeline: bool) -> str:
    """The Gantt chart, for pipelines and for single runs waited on long enough to be worth it."""
    if not pipeline:
        bars = timeline_bars(results[0])
        if not bars or bars[-1][2] - bars[0][1] < TIMELINE_AFTER:
            return ""
    diagram = gantt(results)
    if diagram.source is None and diagram.note is None:
        return ""
    timed = [r for r in results if timeline_bars(r)]
    source = (
        "Hex's own timestamps of each status"
        if all(r.phases_from_hex for r in timed)
        else "when the action saw each status (Hex's own timestamps where it gave them)"
        if any(r.phases_from_hex for r in timed)
        else "when the action saw each status, to within its status reads"
    )
    return f"#### Timeline\n\n{diagram.markdown()}\n_Queued and running time, from {source}._\n"


def _message(text: str | None) -> str:
    return _text(cut(text or "", MAX_MESSAGE))


def _cell(text: str | None) -> str:
    """Text made safe inside a Markdown table cell (no HTML, no column breaks)."""
    return _text(text).replace("|", "\\|")


def _linkable(url: str | None) -> bool:
    """Whether a URL from Hex can be a Markdown link target as it is (http(s), nothing that ends the link)."""
    if not url or not url.startswith(("https://", "http://")):
        return False
    return not any(c in url for c in ' ()<>[]\n\r|`"')


def _text(text: str | None) -> str:
    """Text from Hex shown as plain text: no HTML, no links or emphasis, one line."""
    if not text:
        return ""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("`", "'")
    for char in "\\[]*!":  # not `_`: statuses such as DRY_RUN are full of it, and GFM ignores it inside words
        text = text.replace(char, "\\" + char)
    # A lone CR ends a line in CommonMark just as LF does: either would end a table row.
    return text.replace("\r\n", " ").replace("\r", " ").replace("\n", " ")
