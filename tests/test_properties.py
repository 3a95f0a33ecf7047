"""Properties of the pure parts, checked on generated cases (Hypothesis) rather than chosen ones.

* input parsing: any string given to any input gets a value or exactly one clear error naming it;
* output encoding: any value, newlines and delimiters included, round-trips through the runner's
  parser, and any message stays one annotation;
* the pipeline graph checks: a cycle is reported exactly when the needs have one;
* the wait schedule: never two reads closer than the 2 s floor, never a gap over its ceiling;
* the client's retry decisions: a run start is never resent after it may have reached Hex.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import random
from collections.abc import Mapping
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from runner_parser import output_pairs, process_output
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from hex_action import inputs
from hex_action.client import HexClient
from hex_action.clock import FakeClock
from hex_action.errors import HexApiError, InputError
from hex_action.github import GitHub, format_output
from hex_action.pipeline import find_cycle, parse_pipeline
from hex_action.planner import LONGEST_GAP, History
from hex_action.schedule import FLOOR, PollSchedule
from hex_action.settings import DEFAULTS, load_settings

PROJECT = "5a8591dd-4039-49df-9202-96385ba3eff8"
BASE = {"api-token": "hxtp_property", "project-id": PROJECT}
#: Inputs whose text is a whole document (a pipeline): several problems may be found in one.
DOCUMENTS = {"pipeline", "pipeline-file"}

any_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)
examples = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# -- input parsing ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(set(DEFAULTS) - DOCUMENTS))
@examples
@given(raw=any_text)
def test_any_string_for_any_input_gets_a_value_or_one_error_naming_it(name: str, raw: str) -> None:
    try:
        load_settings({**BASE, name: raw}, {})
        problems = []
    except InputError as exc:
        problems = exc.problems
    if problems:
        (problem,) = problems
        assert problem.input_name == name
        assert problem.problem
        assert problem.fix


@examples
@given(raw=any_text)
def test_a_duration_is_a_positive_finite_number_of_seconds_or_a_value_error(raw: str) -> None:
    try:
        seconds, error = inputs.parse_duration(raw), ""
    except ValueError as exc:
        seconds, error = 1.0, str(exc)
    assert 0 < seconds < float("inf")
    assert not error or f"'{raw}'" in error, "the error quotes the input"


@examples
@given(seconds=st.floats(min_value=0.1, max_value=10 * 86400, allow_nan=False))
def test_a_formatted_duration_parses_back_to_about_itself(seconds: float) -> None:
    again = inputs.parse_duration(inputs.format_duration(seconds))
    assert again == pytest.approx(seconds, abs=0.5 if seconds >= 60 else 0.05)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | any_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=12,
)


@examples
@given(value=st.dictionaries(any_text, json_values, max_size=5))
def test_any_json_object_round_trips_through_input_params(value: dict[str, Any]) -> None:
    assert inputs.parse_json_object(json.dumps(value)) == value


# -- output encoding ---------------------------------------------------------------------------------


output_names = st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True)


@examples
@given(value=any_text)
def test_any_output_value_round_trips_through_the_runners_parser(value: str) -> None:
    assert list(output_pairs(format_output("results", value))) == [("results", value)]


@examples
@given(values=st.dictionaries(output_names, any_text, min_size=1, max_size=6))
def test_many_outputs_in_one_file_come_back_exactly(values: dict[str, str]) -> None:
    text = "".join(format_output(name, value) for name, value in values.items())
    assert dict(output_pairs(text)) == values


@examples
@given(message=any_text.filter(str.strip), title=any_text.map(str.strip))  # titles are ours: never padded
def test_any_message_is_exactly_one_annotation(message: str, title: str) -> None:
    stream = io.StringIO()
    GitHub({"GITHUB_ACTIONS": "true"}, stream).annotate("error", message, title=title or None)
    (command,) = process_output(stream.getvalue()).commands
    assert command.name == "error"
    assert command.data == message
    if title:
        assert command.properties.get("title") == title


@examples
@given(text=any_text)
def test_no_log_line_is_ever_a_command(text: str) -> None:
    stream = io.StringIO()
    GitHub({"GITHUB_ACTIONS": "true"}, stream).line(text)
    assert process_output(stream.getvalue()).commands == []


# -- the pipeline graph ----------------------------------------------------------------------------------


@st.composite
def graphs(draw: st.DrawFn) -> dict[str, list[str]]:
    """Step names and, for each, the earlier or later steps it needs (cycles allowed)."""
    count = draw(st.integers(min_value=1, max_value=7))
    names = [f"s{i}" for i in range(count)]
    return {name: sorted(set(draw(st.lists(st.sampled_from(names), max_size=3))) - {name}) for name in names}


def has_cycle(graph: Mapping[str, list[str]]) -> bool:
    """Kahn's algorithm: a graph has a cycle when not every node can be taken in order."""
    waiting = {name: set(needs) for name, needs in graph.items()}
    while True:
        ready = [name for name, needs in waiting.items() if not needs]
        if not ready:
            return bool(waiting)
        for name in ready:
            del waiting[name]
        for needs in waiting.values():
            needs.difference_update(ready)


@examples
@given(graph=graphs())
def test_a_cycle_is_reported_exactly_when_the_needs_have_one(graph: dict[str, list[str]]) -> None:
    document = [{"name": name, "project-id": PROJECT, "needs": needs} for name, needs in graph.items()]
    steps, problems = parse_pipeline(json.dumps(document))
    cyclic = has_cycle(graph)
    assert bool(problems) == cyclic, problems
    if cyclic:
        (problem,) = problems
        assert "cycle" in problem.problem
        cycle = find_cycle(steps)
        assert cycle[0] == cycle[-1]
        for step, need in itertools.pairwise(cycle):
            assert need in graph[step], "each link of the reported cycle is a real need"


# -- the wait schedule -----------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    poll_interval=st.floats(min_value=FLOOR, max_value=3600),
    history=st.lists(st.floats(min_value=1.0, max_value=3600), max_size=10),
    reads=st.lists(st.floats(min_value=0, max_value=3), min_size=1, max_size=40),
    seed=st.integers(0, 2**32),
)
def test_reads_are_never_closer_than_the_floor_nor_further_apart_than_the_ceiling(
    poll_interval: float, history: list[float], reads: list[float], seed: int
) -> None:
    schedule = PollSchedule(poll_interval, random.Random(seed))
    if history:
        schedule.use_history(History(tuple(history)), limit=3600.0)
    ceiling = max(poll_interval, LONGEST_GAP) if history else poll_interval
    elapsed = 0.0
    for late in reads:  # each read may come late (the read budget, a slow answer)
        delay = schedule.next_delay(elapsed)
        assert FLOOR <= delay <= ceiling + 1e-9, (elapsed, delay)
        elapsed += delay + late


# -- the client's retry decisions ----------------------------------------------------------------------

#: What one POST may meet. "Safe" outcomes prove Hex made no run: only they may be followed by another POST.
SAFE = {"429", "429-after", "503", "refused"}
OUTCOMES = [*sorted(SAFE), "201", "500", "502", "504", "timeout", "reset", "html-200", "400", "422"]


class Scripted(BaseAdapter):
    """Answers each request with the next scripted outcome (201 once the script runs out)."""

    def __init__(self, script: list[str]) -> None:
        super().__init__()
        self.script = list(script)
        self.sent: list[str] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        outcome = self.script.pop(0) if self.script else "201"
        self.sent.append(outcome)
        if outcome == "refused":
            reason = NewConnectionError(None, "Connection refused")  # type: ignore[arg-type]
            raise requests.ConnectionError(MaxRetryError(None, request.url, reason))  # type: ignore[arg-type]
        if outcome == "timeout":
            raise requests.ReadTimeout("read timed out", request=request)
        if outcome == "reset":
            raise requests.ConnectionError(ProtocolError("Connection aborted.", ConnectionResetError(104)))
        response = requests.Response()
        response.request, response.url, response.reason = request, request.url or "", ""
        response.headers = CaseInsensitiveDict()
        if outcome == "html-200":
            response.status_code, response._content = 200, b"<html>maintenance</html>"
            response.headers["Content-Type"] = "text/html"
            return response
        response.status_code = int(outcome.split("-")[0])
        if outcome == "429-after":
            response.headers["Retry-After"] = "3"
        body: dict[str, Any] = {"runId": "r1", "projectId": PROJECT} if outcome == "201" else {"message": "no"}
        response._content = json.dumps(body).encode()
        return response

    def close(self) -> None:
        """Nothing to release."""


@examples
@given(script=st.lists(st.sampled_from(OUTCOMES), max_size=10))
def test_a_run_start_is_never_resent_after_it_may_have_reached_hex(script: list[str]) -> None:
    adapter = Scripted(script)
    session = requests.Session()
    session.mount("https://hex.sim", adapter)
    clock = FakeClock()
    client = HexClient("https://hex.sim/api/v1", "hxtp_t", clock, session=session, rng=random.Random(0))
    try:
        client.trigger_run(PROJECT, {}, deadline=clock.now() + 600)
        error = None
    except HexApiError as exc:
        error = exc
    for before in adapter.sent[:-1]:
        assert before in SAFE, f"a POST was resent after {before}: {adapter.sent}"
    last = adapter.sent[-1]
    if error is None:
        assert last == "201"
    else:
        may_have_reached = last not in SAFE and not last.startswith("4")
        assert error.maybe_started == may_have_reached, (adapter.sent, error)


@examples
@given(script=st.lists(st.sampled_from(OUTCOMES), max_size=10))
def test_a_status_read_is_retried_a_bounded_number_of_times_and_never_on_a_client_error(script: list[str]) -> None:
    adapter = Scripted([s if s != "201" else "200" for s in script])
    session = requests.Session()
    session.mount("https://hex.sim", adapter)
    clock = FakeClock()
    client = HexClient("https://hex.sim/api/v1", "hxtp_t", clock, session=session, rng=random.Random(0))
    with contextlib.suppress(HexApiError):
        client.get_run(PROJECT, "r1", deadline=clock.now() + 3600)
    assert len(adapter.sent) <= 6
    for before in adapter.sent[:-1]:
        assert before not in ("400", "422"), f"a client error was retried: {adapter.sent}"
