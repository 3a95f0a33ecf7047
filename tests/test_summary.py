"""hex_action.summary and hex_action.mermaid: the job summary's text, its safety and its size.

Exact text here; tests/test_summary_e2e.py writes the summaries with the real entrypoint against
the simulator and checks every diagram with Mermaid's own CLI.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from hex_action.mermaid import MAX_DIAGRAM_CHARS, MAX_LABEL, flowchart, flowchart_label, gantt, gantt_text
from hex_action.outcome import StepResult
from hex_action.summary import summary_markdown

A = "5a8591dd-4039-49df-9202-96385ba3eff8"
RUN_1 = "0b9a3c52-6f1e-4a8d-9c7b-2e5f8d1a4b63"
URL_1 = f"https://app.hex.tech/acme/app/{A}/run/{RUN_1}"
T0 = 1_796_292_000.0  # 2026-12-03T10:00:00Z


def result(name: str, status: str, project_id: str = A, **fields: Any) -> StepResult:
    return StepResult(name=name, project_id=project_id, status=status, **fields)


def ran(name: str, status: str, start: float, pending: float, running: float, **fields: Any) -> StepResult:
    """A step whose run was queued `pending` s and ran `running` s from T0 + `start`, per Hex's events."""
    at = T0 + start
    return result(
        name,
        status,
        run_id=f"run-{name}",
        run_url=f"https://app.hex.tech/acme/app/{A}/run/run-{name}",
        elapsed_seconds=running,
        phases=[("PENDING", at), ("RUNNING", at + pending), (status, at + pending + running)],
        phases_from_hex=True,
        ended_at=at + pending + running + 1,
        **fields,
    )


# -- one run -------------------------------------------------------------------------------------


def test_one_completed_run_is_named_and_linked() -> None:
    r = ran(A, "COMPLETED", 0, 2, 30, project_name="Daily revenue", start_order=1)
    assert summary_markdown([r], status="COMPLETED", total_seconds=33.0, problem=None, pipeline=False) == (
        "### ✅ Hex run of Daily revenue: COMPLETED in 33s\n"
        "\n"
        "| Project | Status | Run time | Waited |\n"
        "|---|---|---|---|\n"
        f'| [Daily revenue](https://app.hex.tech/acme/app/{A}/run/run-{A} "run run-{A}") | ✅ COMPLETED | 30s | 33s |\n'
        "\n"
    )


def test_a_long_single_run_gets_a_timeline() -> None:
    r = ran(A, "COMPLETED", 0, 5, 300, project_name="Daily revenue", start_order=1)
    markdown = summary_markdown([r], status="COMPLETED", total_seconds=306.0, problem=None, pipeline=False)
    assert "#### Timeline\n\n```mermaid\ngantt\n" in markdown
    assert "  section Daily revenue\n" in markdown
    assert f"  queued 5s :done, {round(T0 * 1000)}, {round((T0 + 5) * 1000)}\n" in markdown
    assert f"  running 5m :{round((T0 + 5) * 1000)}, {round((T0 + 305) * 1000)}\n" in markdown
    assert "_Queued and running time, from Hex's own timestamps of each status._" in markdown
    assert "#### Pipeline" not in markdown


def test_names_fall_back_to_ids() -> None:
    r = ran(A, "ERRORED", 0, 1, 2, start_order=1, message="The Hex run ended ERRORED.")
    markdown = summary_markdown([r], status="ERRORED", total_seconds=4.0, problem=None, pipeline=False)
    assert markdown.startswith(f"### ❌ Hex run of {A}: ERRORED in 4s\n")
    assert f'| [`{A}`](https://app.hex.tech/acme/app/{A}/run/run-{A} "run run-{A}") | ❌ ERRORED |' in markdown
    assert markdown.endswith(f"**What went wrong**\n\n- **{A}**: The Hex run ended ERRORED.\n\n")


def test_a_dry_run_is_labelled_and_not_linked() -> None:
    r = result(A, "DRY_RUN", run_id="r-1", run_url=URL_1, elapsed_seconds=0.0, start_order=1, project_name="Daily")
    r.phases, r.ended_at = [("PENDING", T0)], T0
    assert summary_markdown([r], status="DRY_RUN", total_seconds=0.4, problem=None, pipeline=False) == (
        "### ✅ Hex dry run of Daily: DRY_RUN in 0.4s\n"
        "\n"
        "| Project | Status | Run time | Waited |\n"
        "|---|---|---|---|\n"
        "| Daily (dry run) | ✅ DRY_RUN | 0s | — |\n"
        "\n"
        "_A dry run: Hex checked the request and ran nothing, so there is no run to link to._\n"
        "\n"
    )


def test_a_run_left_running_says_so() -> None:
    r = result(A, "RUNNING", run_id="r-1", run_url=URL_1, elapsed_seconds=1.0, start_order=1)
    markdown = summary_markdown(
        [r], status="RUNNING", total_seconds=2.0, problem=None, pipeline=False, started_only=True
    )
    assert markdown.startswith(f"### ✅ Hex run of {A}: started, RUNNING (not waited for)\n")
    assert "⏳ RUNNING" in markdown


# -- pipelines ------------------------------------------------------------------------------------


def failed_graph() -> list[StepResult]:
    """extract -> (orders, customers) -> report; customers fails, orders is cancelled (fail-fast)."""
    return [
        ran("extract", "COMPLETED", 0, 1, 20, project_name="Extract", start_order=1),
        ran(
            "orders",
            "CANCELLED",
            22,
            1,
            9,
            project_name="Orders",
            start_order=2,
            needs=("extract",),
            message="Cancelled because step 'customers' failed (fail-fast).",
        ),
        ran(
            "customers",
            "ERRORED",
            22,
            1,
            8,
            project_name="Customers",
            start_order=3,
            needs=("extract",),
            message="The Hex run ended ERRORED.",
        ),
        result(
            "report",
            "SKIPPED",
            project_name="Report",
            needs=("orders", "customers"),
            message="Skipped because an earlier step failed (fail-fast).",
        ),
    ]


def test_a_failed_graph_tells_the_cause_first_then_its_effects() -> None:
    markdown = summary_markdown(failed_graph(), status="ERRORED", total_seconds=33.0, problem=None, pipeline=True)
    head, table, _, went_wrong, because, effects, *_ = markdown.split("\n\n")
    assert head == "### ❌ Hex pipeline of 4 steps: ERRORED in 33s"
    assert table.splitlines()[:3] == [
        "| Step | Project | Status | Run time | Waited |",
        "|---|---|---|---|---|",
        f'| extract | [Extract](https://app.hex.tech/acme/app/{A}/run/run-extract "run run-extract") '
        "| ✅ COMPLETED | 20s | 22s |",
    ]
    assert table.splitlines()[-1] == "| report | Report | ⏭️ SKIPPED | — | — |"
    assert went_wrong == "- **customers**: The Hex run ended ERRORED."
    assert because == "Because of that:"
    assert effects.splitlines() == [
        "- **orders**: Cancelled because step 'customers' failed (fail-fast).",
        "- **report**: Skipped because an earlier step failed (fail-fast).",
    ]
    assert "#### Pipeline\n\n```mermaid\nflowchart LR\n" in markdown
    assert "#### Timeline\n\n```mermaid\ngantt\n" in markdown


def test_the_flowchart_has_every_step_need_and_status_colour() -> None:
    source = flowchart(failed_graph()).source
    assert source is not None
    lines = source.splitlines()
    assert lines[0] == "flowchart LR"
    assert '  s0["<b>extract</b><br/>Extract<br/>COMPLETED · 20s"]' in lines
    assert '  s3["<b>report</b><br/>Report<br/>SKIPPED"]' in lines
    assert [line for line in lines if "-->" in line] == ["  s0 --> s1", "  s0 --> s2", "  s1 --> s3", "  s2 --> s3"]
    classes = {line.split()[-1]: line.split()[1] for line in lines if line.startswith("  class ")}
    assert classes == {"completed": "s0", "cancelled": "s1", "failed": "s2", "skipped": "s3"}


def test_the_gantt_shows_runs_side_by_side_and_failures_in_red() -> None:
    source = gantt(failed_graph()).source
    assert source is not None
    assert "  section report" not in source, "a step that never ran has no bar"
    sections = [line for line in source.splitlines() if line.startswith("  section ")]
    assert sections == ["  section extract", "  section orders", "  section customers"]
    assert f"  running 8s :crit, {round((T0 + 23) * 1000)}, {round((T0 + 31) * 1000)}" in source


def test_a_timeline_from_what_the_action_saw_says_so() -> None:
    steps = failed_graph()
    for r in steps:
        r.phases_from_hex = False
    markdown = summary_markdown(steps, status="ERRORED", total_seconds=33.0, problem=None, pipeline=True)
    assert "_Queued and running time, from when the action saw each status, to within its status reads._" in markdown


def test_an_internal_error_comes_first() -> None:
    markdown = summary_markdown(
        failed_graph(), status="ERRORED", total_seconds=1.0, problem="Unexpected error: KeyError: 'x'", pipeline=True
    )
    assert "**What went wrong**\n\n- Unexpected error: KeyError: 'x'\n- **customers**:" in markdown


def test_a_cancel_from_outside_lists_the_cancellations() -> None:
    steps = [
        ran("a", "CANCELLED", 0, 1, 5, message="The step was cancelled (SIGTERM).", start_order=1),
        result("b", "CANCELLED", needs=("a",), message="Not started: the step was cancelled (SIGTERM)."),
    ]
    markdown = summary_markdown(steps, status="CANCELLED", total_seconds=6.0, problem=None, pipeline=True)
    assert "**What went wrong**\n\n- **a**: The step was cancelled (SIGTERM).\n- **b**: Not started:" in markdown
    assert "Because of that" not in markdown


def test_no_problems_no_section_and_no_repeats() -> None:
    ok = summary_markdown(
        [ran("a", "COMPLETED", 0, 1, 2, message="not shown")],
        status="COMPLETED",
        total_seconds=3.0,
        problem=None,
        pipeline=True,
    )
    assert "What went wrong" not in ok
    assert "not shown" not in ok
    same = [
        result("a", "ERRORED", start_order=1, message="same"),
        result("b", "ERRORED", start_order=2, message="same"),
    ]
    markdown = summary_markdown(same, status="ERRORED", total_seconds=1.0, problem=None, pipeline=True)
    assert "**What went wrong**\n\n- **a**: same\n- **b**: same\n" in markdown


# -- safety ---------------------------------------------------------------------------------------


HOSTILE = '<script>alert(1)</script> `rm` | col\nline "two"\r]]; #x; A[b]:c %%d -->e'


def test_hex_text_is_made_safe_in_the_markdown() -> None:
    r = result(
        "a|b",
        "WEIRD|<b>",
        project_id="p`|",
        run_id="r|1",
        run_url="https://h/x|<y>",
        start_order=1,
        message=HOSTILE,
        project_name=HOSTILE,
    )
    markdown = summary_markdown([r], status="WEIRD|<b>", total_seconds=1.0, problem=HOSTILE, pipeline=True)
    assert "<script>" not in markdown
    assert "https://h/x" not in markdown, "a URL that would break out of the link is not made a link"
    table = [line for line in markdown.splitlines() if line.startswith("|")]
    assert len(table) == 3, "every row stays on one line"
    assert all(row.replace("\\|", "").count("|") == 6 for row in table), "no extra columns"
    assert "\\[here\\]" in summary_markdown(
        [result("a", "ERRORED", start_order=1, message="see [here](https://evil.example)")],
        status="ERRORED",
        total_seconds=1.0,
        problem=None,
        pipeline=False,
    )


def test_labels_cannot_break_out_of_a_mermaid_diagram() -> None:
    label = re.sub(r"#\d+;", "", flowchart_label(HOSTILE))  # without Mermaid's entity codes
    assert not set('"<>`[]{}()|;#') & set(label)
    assert "\n" not in gantt_text(HOSTILE)
    assert not set(":;#%") & set(gantt_text(HOSTILE))
    steps = [ran(HOSTILE, "ERRORED", 0, 1, 2, project_name=HOSTILE), ran("b", "COMPLETED", 0, 1, 2, needs=(HOSTILE,))]
    for diagram in (flowchart(steps), gantt(steps)):
        assert diagram.source is not None
        body = diagram.source.splitlines()
        assert all(line.startswith("  ") for line in body[1:]), "no user text starts a statement"


# -- size -----------------------------------------------------------------------------------------


def hundred_steps(name_length: int) -> list[StepResult]:
    steps = []
    for n in range(100):
        needs = (f"step-{n - 1:03d}",) if n % 10 else ()
        name = f"step-{n:03d}"
        title = (f"Project {n} " + "x" * name_length)[:name_length]
        status = "COMPLETED" if n < 60 else "ERRORED" if n == 60 else "SKIPPED"
        if status == "SKIPPED":
            steps.append(result(name, status, needs=needs, project_name=title, message="Skipped because " + "y" * 900))
        else:
            steps.append(ran(name, status, n * 5, 2, 30, needs=needs, project_name=title, start_order=n + 1))
    return steps


@pytest.mark.parametrize("name_length", [20, 500])
def test_a_hundred_steps_stay_well_under_githubs_limit(name_length: int) -> None:
    steps = hundred_steps(name_length)
    markdown = summary_markdown(steps, status="ERRORED", total_seconds=3600.0, problem=None, pipeline=True)
    size = len(markdown.encode())
    assert size < 100 * 1024, f"{size} bytes"  # GitHub allows 1 MiB
    for diagram in (flowchart(steps), gantt(steps)):
        assert diagram.source is not None
        assert len(diagram.source) <= MAX_DIAGRAM_CHARS
    assert "step-099" in markdown
    assert "… and 14 more steps." in markdown  # 39 skipped steps, 25 listed
    assert "y" * (MAX_LABEL + 600) not in markdown


def test_a_diagram_too_large_even_compact_is_replaced_by_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("hex_action.mermaid.MAX_DIAGRAM_CHARS", 2_000)
    steps = hundred_steps(20)
    diagram = flowchart(steps)
    assert diagram.source is None
    assert diagram.markdown() == "_The pipeline diagram is too large to draw (2,000 characters at most)._\n"
    monkeypatch.setattr("hex_action.mermaid.MAX_DIAGRAM_CHARS", 100_000)
    full = flowchart(steps).source
    assert full is not None
    monkeypatch.setattr("hex_action.mermaid.MAX_DIAGRAM_CHARS", len(full) - 1)
    compact = flowchart(steps).source
    assert compact is not None
    assert "·" not in compact, "compact: no durations"
