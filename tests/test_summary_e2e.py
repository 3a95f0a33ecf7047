"""The job summary as the real `entrypoint.py` writes it against the simulator, its diagrams checked
by Mermaid's own CLI.

Each case runs the action as a process with the runner's environment (tests/e2e_support.py) and
reads back the GITHUB_STEP_SUMMARY file it wrote: a completed run, a failed run, a timeout, a
cancelled run, a dry run, a 3-step sequence, a graph with a failure and fail-fast, and a project
that cannot be read (names fall back to ids). The cases run side by side, each against its own
simulator.

Every ```` ```mermaid ```` block of those summaries, plus the diagrams of summaries too long to make
with real runs (a single run of several minutes, 100 steps, hostile names), is then rendered by
Mermaid's CLI (mmdc with Debian's Chromium, installed by scripts/mermaid-env.sh) in one call: a
diagram Mermaid cannot parse fails the test with Mermaid's own error. A broken diagram is shown to
fail the same way, so the check is not vacuous.
"""

from __future__ import annotations

import importlib.util
import json
import re
import signal
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from e2e_support import ActionResult, SimClient, kinds, start_action
from test_summary import A, hundred_steps, ran

from hex_action.outcome import StepResult
from hex_action.simulator import HexSimulator, SimServer, serve
from hex_action.summary import summary_markdown

pytestmark = pytest.mark.e2e

TOKEN = "hxtk-summary-e2e-0d6f2b9a41c3"
ROOT = Path(__file__).resolve().parent.parent


def _load_mermaid_cli() -> Any:
    spec = importlib.util.spec_from_file_location("mermaid_cli", ROOT / "scripts" / "mermaid_cli.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["mermaid_cli"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


mermaid_cli = _load_mermaid_cli()


def project(sim: SimClient, title: str | None, **spec: Any) -> str:
    project_id = str(uuid.uuid4())
    if title is not None:
        spec["title"] = title
    sim.project(project_id, **{"pendingSeconds": 0.2, "runningSeconds": 1.0, **spec})
    return project_id


def inputs(sim: SimClient, **more: str) -> dict[str, str]:
    return {"api-token": TOKEN, "hex-url": sim.url, **more}


Case = Callable[[SimClient, Path], ActionResult]


def completed(sim: SimClient, work: Path) -> ActionResult:
    pid = project(sim, "Daily revenue")
    return start_action(work, inputs(sim, **{"project-id": pid})).wait()


def failed(sim: SimClient, work: Path) -> ActionResult:
    pid = project(sim, "Churn model", finalStatus="ERRORED")
    return start_action(work, inputs(sim, **{"project-id": pid})).wait()


def timed_out(sim: SimClient, work: Path) -> ActionResult:
    pid = project(sim, "Slow backfill", runningSeconds=60)
    return start_action(work, inputs(sim, **{"project-id": pid, "timeout": "3s"})).wait()


def cancelled(sim: SimClient, work: Path) -> ActionResult:
    pid = project(sim, "Weekly KPIs", runningSeconds=60)
    process = start_action(work, inputs(sim, **{"project-id": pid}))
    sim.wait_for_kind("status")
    process.send(signal.SIGTERM)
    return process.wait()


def dry_run(sim: SimClient, work: Path) -> ActionResult:
    pid = project(sim, "Daily revenue")
    return start_action(work, inputs(sim, **{"project-id": pid, "dry-run": "true"}), unset="empty").wait()


def sequence(sim: SimClient, work: Path) -> ActionResult:
    names = {"load": "Load orders", "model": "Model: revenue", "publish": "Publish dashboards"}
    steps = [{"name": name, "project-id": project(sim, title)} for name, title in names.items()]
    return start_action(work, inputs(sim, pipeline=json.dumps(steps))).wait()


def graph_fail_fast(sim: SimClient, work: Path) -> ActionResult:
    steps = [
        {"name": "extract", "project-id": project(sim, "Extract")},
        {"name": "orders", "project-id": project(sim, "Orders", runningSeconds=30), "needs": ["extract"]},
        {"name": "customers", "project-id": project(sim, "Customers", finalStatus="ERRORED"), "needs": ["extract"]},
        {"name": "report", "project-id": project(sim, "Report"), "needs": ["orders", "customers"]},
    ]
    return start_action(work, inputs(sim, pipeline=json.dumps(steps))).wait()


def unreadable_project(sim: SimClient, work: Path) -> ActionResult:
    pid = project(sim, "Never shown")
    sim.fault(method="GET", pathRegex=f"^/api/v1/projects/{pid}$", status=403, count=10)
    return start_action(work, inputs(sim, **{"project-id": pid})).wait()


CASES: dict[str, Case] = {
    "completed": completed,
    "failed": failed,
    "timed-out": timed_out,
    "cancelled": cancelled,
    "dry-run": dry_run,
    "sequence": sequence,
    "graph-fail-fast": graph_fail_fast,
    "unreadable-project": unreadable_project,
}


@pytest.fixture(scope="module")
def summaries(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ActionResult]]:
    """Every case, run side by side, each against a simulator of its own."""
    root = tmp_path_factory.mktemp("summaries")
    servers: list[SimServer] = [serve(HexSimulator(TOKEN)) for _ in CASES]
    try:
        with ThreadPoolExecutor(max_workers=len(CASES)) as pool:
            futures = {
                name: pool.submit(case, SimClient(server.url, TOKEN), root / name)
                for (name, case), server in zip(CASES.items(), servers, strict=True)
            }
            yield {name: future.result() for name, future in futures.items()}
    finally:
        with ThreadPoolExecutor() as pool:
            list(pool.map(SimServer.close, servers))


def lines(result: ActionResult) -> list[str]:
    return result.summary.splitlines()


def test_completed_run(summaries: dict[str, ActionResult]) -> None:
    result = summaries["completed"]
    assert result.returncode == 0, result.describe()
    run_id, url = result.outputs["run-id"], result.outputs["run-url"]
    assert re.fullmatch(r"### ✅ Hex run of Daily revenue: COMPLETED in \d+(\.\d)?s", lines(result)[0])
    assert f'| [Daily revenue]({url} "run {run_id}") | ✅ COMPLETED | 1s |' in result.summary
    assert "What went wrong" not in result.summary
    assert "```mermaid" not in result.summary, "a run of seconds needs no timeline"
    assert json.loads(result.outputs["results"])[0]["project-name"] == "Daily revenue"
    assert "of Daily revenue, project version" in result.stdout


def test_failed_run(summaries: dict[str, ActionResult]) -> None:
    result = summaries["failed"]
    assert result.returncode == 1, result.describe()
    assert re.fullmatch(r"### ❌ Hex run of Churn model: ERRORED in \d+(\.\d)?s", lines(result)[0])
    assert "| ❌ ERRORED |" in result.summary
    project_id = json.loads(result.outputs["results"])[0]["project-id"]
    assert f"**What went wrong**\n\n- **{project_id}**: The Hex run ended ERRORED." in result.summary
    assert "The Hex run ended ERRORED. See http" in result.summary
    (error,) = result.annotations("error")
    assert error.properties["title"] == "Hex run of Churn model ERRORED", "the error names the project"


def test_timeout(summaries: dict[str, ActionResult]) -> None:
    result = summaries["timed-out"]
    assert result.returncode == 1, result.describe()
    assert lines(result)[0].startswith("### ❌ Hex run of Slow backfill: TIMED_OUT in ")
    assert "| ⏱️ TIMED_OUT |" in result.summary
    assert "Gave up waiting after" in result.summary
    assert "The run was cancelled." in result.summary


def test_cancelled_run(summaries: dict[str, ActionResult]) -> None:
    result = summaries["cancelled"]
    assert result.returncode == 1, result.describe()
    assert lines(result)[0].startswith("### ❌ Hex run of Weekly KPIs: CANCELLED in ")
    assert "| 🚫 CANCELLED |" in result.summary
    assert "The step was cancelled (SIGTERM)." in result.summary


def test_dry_run_is_labelled_and_not_linked(summaries: dict[str, ActionResult]) -> None:
    result = summaries["dry-run"]
    assert result.returncode == 0, result.describe()
    assert re.fullmatch(r"### ✅ Hex dry run of Daily revenue: DRY_RUN in \d+(\.\d)?s", lines(result)[0])
    assert "| Daily revenue (dry run) | ✅ DRY_RUN |" in result.summary
    assert "](" not in result.summary, "no link to a run that does not exist"
    assert "_A dry run: Hex checked the request and ran nothing, so there is no run to link to._" in result.summary


def test_three_step_sequence(summaries: dict[str, ActionResult]) -> None:
    result = summaries["sequence"]
    assert result.returncode == 0, result.describe()
    assert lines(result)[0].startswith("### ✅ Hex pipeline of 3 steps: COMPLETED in ")
    for name, title in (("load", "Load orders"), ("model", "Model: revenue"), ("publish", "Publish dashboards")):
        assert f"| {name} | [{title}](" in result.summary
    flow, timeline = mermaid_blocks(result.summary)
    assert [line for line in flow.splitlines() if "-->" in line] == ["  s0 --> s1", "  s1 --> s2"]
    assert "  class s0,s1,s2 completed" in flow
    assert [line for line in timeline.splitlines() if "section" in line] == [
        "  section load",
        "  section model",
        "  section publish",
    ]
    assert "_Queued and running time, from Hex's own timestamps of each status._" in result.summary


def test_graph_with_a_failure_and_fail_fast(summaries: dict[str, ActionResult]) -> None:
    result = summaries["graph-fail-fast"]
    assert result.returncode == 1, result.describe()
    assert lines(result)[0].startswith("### ❌ Hex pipeline of 4 steps: ERRORED in ")
    went_wrong = result.summary.split("**What went wrong**\n\n", 1)[1]
    cause, effects = went_wrong.split("\n\nBecause of that:\n\n", 1)
    assert cause.startswith("- **customers**: The Hex run ended ERRORED.")
    titles = [e.properties["title"] for e in result.annotations("error")]
    assert "Hex step 'customers' (Customers) ERRORED" in titles
    orders, report = effects.splitlines()[:2]
    assert orders == "- **orders**: Cancelled because step 'customers' failed (fail-fast). The run was cancelled."
    assert report.startswith("- **report**: ")
    assert report.endswith("because step 'customers' failed (fail-fast).")
    flow, timeline = mermaid_blocks(result.summary)
    classes = {line.split()[-1]: line.split()[1] for line in flow.splitlines() if line.startswith("  class ")}
    assert classes == {"completed": "s0", "cancelled": "s1", "failed": "s2", "skipped": "s3"}
    assert "section report" not in timeline
    assert ":crit, " in timeline


def test_names_fall_back_to_ids_when_the_project_cannot_be_read(summaries: dict[str, ActionResult]) -> None:
    result = summaries["unreadable-project"]
    assert result.returncode == 0, result.describe()
    project_id = json.loads(result.outputs["results"])[0]["project-id"]
    assert lines(result)[0].startswith(f"### ✅ Hex run of {project_id}: COMPLETED in ")
    assert f"| [`{project_id}`](" in result.summary
    assert "Never shown" not in result.everything()
    assert json.loads(result.outputs["results"])[0]["project-name"] is None
    (warning,) = result.annotations("warning")
    assert warning.data.startswith(f"Could not read project {project_id} from Hex, so ids stand for names: ")


def test_the_summary_input_turns_it_off(tmp_path: Path) -> None:
    with serve(HexSimulator(TOKEN)) as server:
        sim = SimClient(server.url, TOKEN)
        pid = project(sim, "Daily revenue")
        result = start_action(tmp_path, inputs(sim, **{"project-id": pid, "summary": "false"})).wait()
    assert result.returncode == 0, result.describe()
    assert result.summary == ""
    assert result.outputs["status"] == "COMPLETED"
    assert len(kinds(sim.log(), "project")) == 1  # the name is still read, for the log and `results`


def mermaid_blocks(markdown: str) -> list[str]:
    return [match.group(1) for match in mermaid_cli.MERMAID_BLOCK.finditer(markdown)]


def made_up_summaries() -> dict[str, str]:
    """Summaries too slow or too large to make with real runs, with the same function."""
    long_run = ran(A, "COMPLETED", 0, 20, 400, project_name="Quarterly close", start_order=1)
    hostile = '<b>x</b> "q" `t` #1; A[b]:c {d} (e) |f| %%g -->h section gantt'
    odd = [
        ran(hostile, "ERRORED", 0, 1, 3, project_name=hostile, start_order=1),
        ran("end", "COMPLETED", 5, 1, 3, needs=(hostile,), project_name="ok", start_order=2),
    ]
    steps: dict[str, list[StepResult]] = {"long-single": [long_run], "hostile": odd}
    out = {
        name: summary_markdown(results, status="X", total_seconds=1.0, problem=None, pipeline=name != "long-single")
        for name, results in steps.items()
    }
    for length in (20, 500):
        out[f"hundred-{length}"] = summary_markdown(
            hundred_steps(length), status="ERRORED", total_seconds=3600.0, problem=None, pipeline=True
        )
    return out


def test_every_diagram_is_valid_mermaid(summaries: dict[str, ActionResult], tmp_path: Path) -> None:
    """All diagrams of every summary above, rendered by mmdc in one call."""
    documents = {name: result.summary for name, result in summaries.items()} | made_up_summaries()
    blocks = [(name, block) for name, text in documents.items() for block in mermaid_blocks(text)]
    assert {name for name, _ in blocks} >= {"sequence", "graph-fail-fast", "long-single", "hostile", "hundred-500"}
    source = tmp_path / "all.md"
    source.write_text("".join(f"# {name}\n\n```mermaid\n{block}```\n\n" for name, block in blocks), encoding="utf-8")
    started = time.monotonic()
    svgs = mermaid_cli.locate().render_markdown(source, tmp_path / "out.md")
    print(f"mmdc rendered {len(svgs)} diagrams in {time.monotonic() - started:.1f}s")
    assert len(svgs) == len(blocks)
    rendered: dict[str, list[str]] = {name: [] for name, _ in blocks}
    for (name, _), svg in zip(blocks, svgs, strict=True):
        rendered[name].append(svg.read_text(encoding="utf-8"))
    flow = rendered["graph-fail-fast"][0]
    for label in ("extract", "Extract", "customers", "ERRORED", "SKIPPED"):
        assert label in flow, label
    assert "<b>x</b>" not in "".join(rendered["hostile"]), "a name's HTML is shown as text, never as markup"
    assert "&lt;b&gt;x&lt;/b&gt;" in rendered["hostile"][0]
    assert "Quarterly close" in rendered["long-single"][0]
    assert "step-099" in rendered["hundred-500"][0]


def test_a_broken_diagram_fails_the_check(tmp_path: Path) -> None:
    source = tmp_path / "broken.md"
    source.write_text("```mermaid\nflowchart LR\n  a[[[ -->\n```\n", encoding="utf-8")
    with pytest.raises(RuntimeError, match="Parse error"):
        mermaid_cli.locate().render_markdown(source, tmp_path / "out.md")
