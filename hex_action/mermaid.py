"""Mermaid diagrams of the runs for the job summary: the pipeline as a flowchart, the runs as a Gantt.

GitHub renders ```` ```mermaid ```` blocks in job summaries. Both diagrams are pure functions of the
steps' results; text from Hex or from the workflow (project titles, step names) is escaped so it can
only ever be a label.

Size: GitHub's Mermaid refuses a diagram longer than its `maxTextSize` (50,000 characters) and a
summary above 1 MiB. Each diagram is therefore kept under `MAX_DIAGRAM_CHARS`: drawn in full first;
if that is too long, drawn compact (labels cut to `COMPACT_LABEL` characters, no durations, and a
flowchart without per-node styling lines); if even that is too long, not drawn, with a note saying so.
Labels are always cut to `MAX_LABEL` characters. With 100 steps, the full diagrams are about 12,600
(flowchart, with long project names) and 6,800 (Gantt) characters, so they are drawn in full.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from hex_action.inputs import format_duration
from hex_action.outcome import StepResult
from hex_action.status import Status

#: Longest diagram drawn, below Mermaid's default maxTextSize of 50,000 characters.
MAX_DIAGRAM_CHARS = 40_000
#: Longest label (a project title or a step name), in characters.
MAX_LABEL = 60
#: Label length in the compact form of a diagram too long in full.
COMPACT_LABEL = 20

#: Node classes by outcome, with their colours (GitHub's Primer palette, legible in light and dark mode).
_CLASSES = {
    "completed": "fill:#dafbe1,stroke:#1a7f37,color:#0d3b1a",
    "failed": "fill:#ffebe9,stroke:#cf222e,color:#5c0e12",
    "timedout": "fill:#fff8c5,stroke:#9a6700,color:#4d2d00",
    "cancelled": "fill:#eaeef2,stroke:#57606a,color:#24292f",
    "skipped": "fill:#f6f8fa,stroke:#8c959f,color:#57606a,stroke-dasharray:4 3",
    "notstarted": "fill:#ffffff,stroke:#8c959f,color:#57606a,stroke-dasharray:4 3",
    "active": "fill:#ddf4ff,stroke:#0969da,color:#0a3069",
    "dryrun": "fill:#fbefff,stroke:#8250df,color:#3e1f79",
}


#: Gantt tags of a run's running time by outcome: blue (none), light when cancelled, red otherwise
#: (failed, timed out); its queued time is always grey (`done`).
_RUNNING_TAGS: dict[str, str] = {
    Status.COMPLETED: "",
    Status.PENDING: "",
    Status.RUNNING: "",
    Status.CANCELLED: "active, ",
}


def status_class(status: str) -> str:
    """The diagram class of an outcome: completed, failed, timed out, cancelled, skipped, not started..."""
    named: dict[str, str] = {
        Status.COMPLETED: "completed",
        Status.TIMED_OUT: "timedout",
        Status.CANCELLED: "cancelled",
        Status.SKIPPED: "skipped",
        Status.NOT_STARTED: "notstarted",
        Status.INVALID_INPUT: "notstarted",
        Status.PENDING: "active",
        Status.RUNNING: "active",
        Status.DRY_RUN: "dryrun",
    }
    return named.get(status, "failed" if status else "notstarted")


def cut(text: str, limit: int) -> str:
    """`text` on one line, at most `limit` characters (an ellipsis marks a cut)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def flowchart_label(text: str) -> str:
    """Text made safe inside a quoted flowchart label: Mermaid entity codes for what it would parse.

    `"` ends the label, `#` starts an entity, `<`/`>`/`&` are HTML, a backtick starts a Markdown
    string, and `[`, `]`, `{`, `}`, `(`, `)`, `|` shape nodes and edges in some Mermaid versions.
    """
    special = '#"<>&`[]{}()|;'
    return "".join(f"#{ord(c)};" if c in special else c for c in text)


def gantt_text(text: str) -> str:
    """Text made safe as a Gantt section or title: one line, no `:`, `;` or `#`, which Mermaid parses there."""
    safe = " ".join(text.split())
    # Look-alikes keep the text readable: a modifier-letter colon, a numero sign, a fullwidth percent.
    for char, replacement in ((":", "\ua789"), (";", ","), ("#", "\u2116"), ("%", "\uff05")):
        safe = safe.replace(char, replacement)
    return safe or "-"


@dataclass(frozen=True)
class Diagram:
    """A Mermaid diagram's source, or why it was not drawn."""

    source: str | None
    note: str | None = None

    def markdown(self) -> str:
        """The diagram as a ```` ```mermaid ```` block, or its note in italics."""
        if self.source is None:
            return f"_{self.note}_\n" if self.note else ""
        return f"```mermaid\n{self.source}```\n"


def _bounded(draw: Callable[[bool], str], what: str) -> Diagram:
    """Draw in full, or compact, or not at all: whichever first fits under MAX_DIAGRAM_CHARS."""
    for compact in (False, True):
        source = draw(compact)
        if len(source) <= MAX_DIAGRAM_CHARS:
            return Diagram(source)
    return Diagram(None, f"The {what} is too large to draw ({MAX_DIAGRAM_CHARS:,} characters at most).")


def flowchart(results: Sequence[StepResult]) -> Diagram:
    """The steps and their `needs`, left to right, each node coloured by outcome and labelled
    with the step's name (the project's name when they differ), its status and how long it ran."""
    index = {r.name: n for n, r in enumerate(results)}

    def draw(compact: bool) -> str:
        limit = COMPACT_LABEL if compact else MAX_LABEL
        lines = ["flowchart LR"]
        for n, r in enumerate(results):
            title = flowchart_label(cut(r.name, limit))
            parts = [f"<b>{title}</b>"]
            if not compact and r.project_name and r.project_name != r.name:
                parts.append(flowchart_label(cut(r.project_name, limit)))
            status = (r.status or Status.NOT_STARTED).replace("_", " ")
            if not compact and r.elapsed_seconds is not None and r.run_id:
                status += f" · {format_duration(r.elapsed_seconds)}"
            parts.append(flowchart_label(status))
            lines.append(f'  s{n}["{"<br/>".join(parts)}"]')
        for n, r in enumerate(results):
            lines.extend(f"  s{index[need]} --> s{n}" for need in r.needs if need in index)
        used: dict[str, list[str]] = {}
        for n, r in enumerate(results):
            used.setdefault(status_class(r.status), []).append(f"s{n}")
        for name, nodes in used.items():
            lines.append(f"  classDef {name} {_CLASSES[name]}")
            lines.append(f"  class {','.join(nodes)} {name}")
        return "\n".join(lines) + "\n"

    return _bounded(draw, "pipeline diagram")


def timeline_bars(result: StepResult) -> list[tuple[str, float, float]]:
    """The run's phases as (status, start, end) in epoch seconds: PENDING, then RUNNING, to its end.

    From Hex's `stateEvents` when they were read, else from when the action saw each status; the
    last phase ends at Hex's final event, else when the action knew the outcome.
    """
    phases = [(status, at) for status, at in result.phases if status in (Status.PENDING, Status.RUNNING)]
    if not phases:
        return []
    finals = [at for status, at in result.phases if status not in (Status.PENDING, Status.RUNNING)]
    end = finals[-1] if finals else result.ended_at
    if end is None:
        return []
    bars = []
    for (status, start), following in zip(phases, [*phases[1:], (None, end)], strict=True):
        stop = min(following[1], end)
        if stop > start:
            bars.append((status, start, stop))
    return bars


def gantt(results: Sequence[StepResult]) -> Diagram:
    """A Gantt chart of the runs: one section per step, its PENDING and RUNNING time side by side.

    Times are epoch milliseconds (`dateFormat x`), shown as the viewer's local clock time.
    """
    timed = [(r, timeline_bars(r)) for r in results]
    timed = [(r, bars) for r, bars in timed if bars]
    if not timed:
        return Diagram(None)
    span = max(end for _, bars in timed for *_, end in bars) - min(bars[0][1] for _, bars in timed)
    axis = "%H:%M:%S" if span < 3 * 3600 else "%H:%M"

    def draw(compact: bool) -> str:
        limit = COMPACT_LABEL if compact else MAX_LABEL
        lines = ["gantt", "  dateFormat x", f"  axisFormat {axis}", "  todayMarker off"]
        for r, bars in timed:
            # A single run's step is named by its project id: its project's name says more.
            label = r.project_name if r.name == r.project_id and r.project_name else r.name
            lines.append(f"  section {gantt_text(cut(label, limit))}")
            for status, start, end in bars:
                tag = "done, " if status == Status.PENDING else _RUNNING_TAGS.get(r.status, "crit, ")
                task = "queued" if status == Status.PENDING else "running"
                if not compact:
                    task += f" {format_duration(end - start)}"
                lines.append(f"  {task} :{tag}{round(start * 1000)}, {round(end * 1000)}")
        return "\n".join(lines) + "\n"

    return _bounded(draw, "timeline")
