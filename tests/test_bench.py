"""The benchmark's own parts, on a few simulated runs: `make bench` takes minutes, these seconds."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import bench
import insurance

from hex_action.oracle import EXACT, make_grid, plan_for_latency
from hex_action.planner import History, estimate


def case_named(name: str) -> bench.Case:
    [case] = [c for c in bench.ALL_CASES if c.name == name]
    return case


@pytest.mark.parametrize("latency", [1.5, 2.0, 3.5])
def test_the_oracle_meets_the_latency_it_is_asked_for_and_no_plan_there_reads_less(latency: float) -> None:
    case = case_named("10 min, lognormal CV 20%")
    [oracle] = bench.oracle_on(case, latency)
    assert oracle.latency == pytest.approx(latency, rel=1e-3)
    # Any single schedule at or under that latency reads at least as much (the mix is on the hull).
    plan = plan_for_latency(make_grid(case.truth(), 0.0, 3600.0, EXACT), latency * 0.98)
    assert plan.latency <= latency
    assert oracle.status_reads <= plan.reads + 1e-6


def test_a_simulated_case_counts_what_the_simulator_saw_and_splits_the_mix_by_history() -> None:
    case = case_named("1 min, 10% fail at 0.1 D")
    result = bench.simulated_case(case, 12, seed=3, history_runs=10, plain=False)
    assert all(m.error is None for m in result.action), [m.error for m in result.action]
    assert all(m.status_reads >= 1 and m.list_reads == 1 and not math.isnan(m.latency) for m in result.action)
    # The poller's reads follow from each run's end: the first multiple of 5 s at or after it.
    for poller, trial in zip(result.poller, result.trials, strict=True):
        assert poller.status_reads * bench.POLL_GAP >= trial.end > (poller.status_reads - 1) * bench.POLL_GAP

    rows = [line for line in bench.by_history([result]) if line.startswith(f"| {case.name} |")]
    shown = sum(any(s != "COMPLETED" for _, s in t.history) for t in result.trials)
    counts = {line.split(" | ")[1]: int(line.split(" | ")[2]) for line in rows}
    assert counts.get("a failure", 0) == shown
    assert counts.get("no failure", 0) == len(result.trials) - shown


def test_the_report_judges_simulated_cases_on_targets_and_process_rows_on_agreement() -> None:
    # Process rows are judged by how closely their reads follow the simulated clock's on the same runs.
    case = case_named("1 min, lognormal CV 5%")
    simulated = bench.simulated_case(case, 4, seed=1, history_runs=10, plain=False)
    trials = simulated.trials[:1]
    agreeing = bench.CaseResult(
        case,
        action=[bench.Measure(status_reads=3, list_reads=1, latency=1.9, reads_at=(2.1, 40.1, 50.2))],
        poller=[bench.Measure(status_reads=12, latency=2.5)],
        oracle=simulated.oracle,
        trials=trials,
        how="processes",
        simulated=[bench.Measure(status_reads=3, list_reads=1, latency=1.7, reads_at=(2.0, 40.0, 50.0))],
    )
    # The same reads, but each a second late: not what the simulated rows stand for.
    late = bench.CaseResult(
        **{**agreeing.__dict__, "action": [bench.Measure(status_reads=3, latency=1.7, reads_at=(3.0, 41.0, 51.0))]}
    )
    lines = bench.report([simulated, agreeing, late], bench.Startup([0.3], [0.25]))
    verdicts = [line for line in lines if line.startswith("- ")]
    assert sum(case.name in line and "processes" not in line for line in verdicts) == 1  # one target verdict
    assert [line.split()[1] for line in verdicts if "processes" in line] == ["PASS", "**MISS**"]


# -- make bench-insurance --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reps"),
    [
        ("1 min, lognormal CV 20%", range(5)),
        ("10 min, lognormal CV 5%", range(5)),
        # A plan that turns on the history's last millisecond (the simulator keeps durations to the ms).
        ("1 min, 10% fail at 0.1 D", [*range(5), 68]),
        # A run that outlasts its plan: the backoff's jitter is drawn as the engine's is (95), and
        # reads at the floor for long are held back by the read budget as the engine's are (1).
        ("1 h, 10% fail at 0.1 D", [95, 1]),
    ],
)
def test_the_insurance_replay_reads_when_the_engine_does(name: str, reps: list[int]) -> None:
    # Without insurance the replay is the shipped planner: the same reads as the real engine,
    # client and simulator on the same trials, and the same latency (to the simulator's ms).
    for rep in reps:
        trial = bench.make_trial(case_named(name), rep, 1, 10)
        engine, replayed = bench.action_simulated(trial, True, 1), insurance.replay(trial, seed=1)
        assert replayed.status_reads == engine.status_reads, rep
        assert replayed.latency == pytest.approx(engine.latency, abs=1e-3), rep


def test_insurance_adds_an_unseen_failure_only_to_a_history_without_one() -> None:
    clean = History((58.0, 60.0, 61.0, 63.0))
    assert insurance.insured(clean, 0.0) == estimate(clean)
    insured = insurance.insured(clean, 0.5)
    assert sum(c.weight for c in insured) == pytest.approx(1.0)
    unseen = insured[-1]
    assert unseen.weight == pytest.approx(0.5 / 4.5)
    assert math.exp(unseen.mu - 2 * unseen.sigma) == pytest.approx(2.0)  # from the floor...
    assert math.exp(unseen.mu + 2 * unseen.sigma) == pytest.approx(math.sqrt(60 * 61))  # ...to the median
    failing = History((58.0, 60.0), (6.0,))
    assert insurance.insured(failing, 0.5) == estimate(failing)


def test_insurance_sees_an_early_failure_sooner_for_more_reads() -> None:
    case = case_named("10 min, 10% fail at 0.1 D")
    # Trials whose run fails early after a history that shows no failure.
    trials = [
        t
        for t in (bench.make_trial(case, rep, 1, 10) for rep in range(60))
        if t.status != "COMPLETED" and all(s == "COMPLETED" for _, s in t.history)
    ]
    assert trials
    for trial in trials:
        bare, insured = insurance.replay(trial), insurance.replay(trial, worth=0.5)
        assert insured.latency < bare.latency
    steady = bench.make_trial(case_named("10 min, lognormal CV 5%"), 0, 1, 10)
    assert insurance.replay(steady, worth=0.5).status_reads > insurance.replay(steady).status_reads


def test_the_insurance_table_marks_each_missed_target() -> None:
    rows = []
    for case in bench.ALL_CASES:
        if case.label not in (*insurance.STEADY, insurance.MIX):
            continue
        mix = case.label == insurance.MIX
        rows.append(insurance.Row(0.0, 2.0, case, 10.0, 3.0 if mix else 2.0, 2.5, 10.0 if mix else 8.0))
    [head, rule, line] = insurance.table(rows)
    assert head.count("|") == rule.count("|") == line.count("|") == 13
    assert line.startswith("| 0 | 2 s | 1.25 | 1.25 |")
    assert "| 3.00 / 2.50 s, 1.00 ✗ |" in line
    assert line.count("✗") == 3  # the mix's latency, 3.0 s over 2.5 s, at each scale
    assert line.endswith("| 6 of 9 |")
