"""Tests for hex_action.client: headers and timeouts, parsing, the retry policy, error text."""

from __future__ import annotations

import json
import random
import socket
import threading
from collections.abc import Callable, Iterator
from email.utils import formatdate
from typing import Any

import pytest
import requests
import responses
from urllib3.exceptions import MaxRetryError, NewConnectionError

from hex_action import __version__
from hex_action.client import (
    CANCEL_TIMEOUT,
    MAX_BACKOFF,
    READ_TIMEOUT,
    START_BUSY_BACKOFF,
    START_BUSY_WAIT,
    START_TIMEOUT,
    HexClient,
    RetryWait,
    RunHandle,
)
from hex_action.clock import FakeClock
from hex_action.errors import HexApiError, Interrupted
from hex_action.ratelimit import RateLimiter, run_start_limiter, status_read_limiter

# A token shaped like Hex's (hxtp_ + 96 hex digits), random enough that any fragment is recognisable.
TOKEN = "hxtp_" + random.Random(42).randbytes(48).hex()
BASE = "https://app.hex.tech/api/v1"
PROJECT = "5a8591dd-4039-49df-9202-96385ba3eff8"
RUN = "78c33d18-170c-44d3-a227-b3194f134f73"
RUNS_URL = f"{BASE}/projects/{PROJECT}/runs"
RUN_URL = f"{RUNS_URL}/{RUN}"
PROJECT_URL = f"{BASE}/projects/{PROJECT}"
BODY = {"dryRun": False, "updatePublishedResults": False, "useCachedSqlResults": True, "inputParams": {"n": 1}}


# -- factories -------------------------------------------------------------------------------


def started_payload(**overrides: Any) -> dict[str, Any]:
    payload = {
        "projectId": PROJECT,
        "runId": RUN,
        "runUrl": f"https://app.hex.tech/app/{PROJECT}/runs/{RUN}",
        "runStatusUrl": RUN_URL,
        "traceId": "trace-start",
        "projectVersion": 3,
    }
    payload.update(overrides)
    return payload


def status_payload(**overrides: Any) -> dict[str, Any]:
    payload = {
        "projectId": PROJECT,
        "runId": RUN,
        "runUrl": f"https://app.hex.tech/app/{PROJECT}/runs/{RUN}",
        "status": "RUNNING",
        "startTime": "2026-01-01T00:00:01.000Z",
        "endTime": None,
        "elapsedTime": 1234,
        "traceId": "trace-status",
        "projectVersion": "3",
    }
    payload.update(overrides)
    return payload


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def http() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def make_client(clock: FakeClock) -> Callable[..., HexClient]:
    def make(**kwargs: Any) -> HexClient:
        kwargs.setdefault("rng", random.Random(7))
        # Plain per-minute limits, so retry tests see only the retry policy's own waits; the
        # real limiters' spacing is tested where the limiters are passed in.
        kwargs.setdefault("reads", RateLimiter([(30, 60.0)]))
        kwargs.setdefault("starts", RateLimiter([(20, 60.0)]))
        return HexClient(BASE, TOKEN, clock, **kwargs)

    return make


@pytest.fixture
def client(make_client: Callable[..., HexClient]) -> HexClient:
    return make_client()


def refused(url: str) -> requests.ConnectionError:
    """What requests raises when nothing listens on the port."""
    reason = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")  # type: ignore[arg-type]
    return requests.ConnectionError(MaxRetryError(None, url, reason))  # type: ignore[arg-type]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sent(http: responses.RequestsMock, method: str | None = None) -> list[Any]:
    return [c.request for c in http.calls if method is None or c.request.method == method]


def assert_no_token(err: BaseException) -> None:
    """Neither the token nor any recognisable piece of it is in anything the error shows."""
    texts = [str(err), repr(err)]
    if isinstance(err, HexApiError):
        texts += [err.detail, err.hint or "", err.trace_id or ""]
    secret = TOKEN[len("hxtp_") :]
    for text in texts:
        assert TOKEN not in text
        for start in range(0, len(secret) - 12):
            assert secret[start : start + 12] not in text, f"a piece of the token leaked: {text!r}"


def call_every_endpoint(http: responses.RequestsMock, client: HexClient) -> None:
    """A success for each endpoint (answered after any answer registered before it), then one call
    of each: start (POST), status (GET), list (GET), cancel (DELETE), project (GET)."""
    http.post(RUNS_URL, status=201, json=started_payload())
    http.get(RUN_URL, json=status_payload())
    http.get(RUNS_URL, json={"runs": []})
    http.delete(RUN_URL, status=204)
    http.get(PROJECT_URL, json=project_payload())
    client.trigger_run(PROJECT, BODY)
    client.get_run(PROJECT, RUN)
    client.list_runs(PROJECT)
    client.cancel_run(PROJECT, RUN)
    client.get_project(PROJECT)


def backoff_bounds(attempt: int, cap: float = MAX_BACKOFF) -> tuple[float, float]:
    base = min(cap, 2.0 ** min(attempt - 1, 16))
    return base / 2, base


# -- every request: auth, user agent, timeouts -----------------------------------------------


def test_every_call_sends_bearer_token_user_agent_and_an_explicit_timeout(
    http: responses.RequestsMock, client: HexClient
) -> None:
    call_every_endpoint(http, client)

    assert [r.method for r in sent(http)] == ["POST", "GET", "GET", "DELETE", "GET"]
    for request in sent(http):
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        assert request.headers["User-Agent"] == f"hex-action/{__version__}"
        assert request.headers["Accept"] == "application/json"
    timeouts = [r.req_kwargs["timeout"] for r in sent(http)]
    assert timeouts == [START_TIMEOUT, READ_TIMEOUT, READ_TIMEOUT, CANCEL_TIMEOUT, READ_TIMEOUT]
    assert all(t is not None and all(part > 0 for part in t) for t in timeouts)


def test_timeout_is_shortened_to_what_is_left_before_the_deadline(
    http: responses.RequestsMock, client: HexClient, clock: FakeClock
) -> None:
    http.get(RUN_URL, json=status_payload())
    client.get_run(PROJECT, RUN, deadline=clock.now() + 3.0)
    client.get_run(PROJECT, RUN, deadline=clock.now() + 0.01)
    timeouts = [r.req_kwargs["timeout"] for r in sent(http)]
    assert timeouts == [(3.0, 3.0), (0.5, 0.5)]  # never below half a second


def test_client_uses_a_given_session_for_every_call(http: responses.RequestsMock, clock: FakeClock) -> None:
    session = requests.Session()
    client = HexClient(BASE + "/", TOKEN, clock, session=session)
    http.get(RUN_URL, json=status_payload())
    client.get_run(PROJECT, RUN)
    assert session.headers["Authorization"] == f"Bearer {TOKEN}"
    assert sent(http)[0].url == RUN_URL  # the trailing slash of the base is not doubled


# -- RunProject ------------------------------------------------------------------------------


def test_trigger_sends_the_body_as_json(http: responses.RequestsMock, client: HexClient) -> None:
    http.post(RUNS_URL, status=201, json=started_payload())
    client.trigger_run(PROJECT, BODY)
    request = sent(http)[0]
    assert request.url == RUNS_URL
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.body) == BODY


@pytest.mark.parametrize(("version", "expected"), [(3, "3"), ("7", "7"), ("draft", "draft"), (None, None)])
def test_trigger_parses_the_201_answer(
    http: responses.RequestsMock, client: HexClient, version: Any, expected: str | None
) -> None:
    http.post(RUNS_URL, status=201, json=started_payload(projectVersion=version))
    handle = client.trigger_run(PROJECT, BODY)
    assert handle == RunHandle(
        project_id=PROJECT,
        run_id=RUN,
        run_url=f"https://app.hex.tech/app/{PROJECT}/runs/{RUN}",
        trace_id="trace-start",
        project_version=expected,
    )
    assert client.last_trace_id == "trace-start"


def test_trigger_fills_in_what_the_answer_leaves_out(http: responses.RequestsMock, client: HexClient) -> None:
    http.post(RUNS_URL, status=201, json={"runId": RUN})
    handle = client.trigger_run(PROJECT, {})
    assert handle == RunHandle(PROJECT, RUN, "", None, None)


@pytest.mark.parametrize("payload", [{}, {"runId": ""}, {"runId": 12}])
def test_trigger_without_a_run_id_is_an_error(
    http: responses.RequestsMock, client: HexClient, payload: dict[str, Any]
) -> None:
    http.post(RUNS_URL, status=201, json={**payload, "traceId": "t-1"})
    with pytest.raises(HexApiError, match="no runId") as caught:
        client.trigger_run(PROJECT, BODY)
    assert caught.value.trace_id == "t-1"
    assert caught.value.maybe_started is True  # Hex accepted something: the engine looks the run up
    assert len(sent(http, "POST")) == 1


@pytest.mark.parametrize("status", [200, 201])
def test_trigger_answered_with_a_body_that_is_not_json_may_have_started(
    http: responses.RequestsMock, client: HexClient, status: int
) -> None:
    http.post(RUNS_URL, status=status, body="<html>ok</html>")
    with pytest.raises(HexApiError, match="not JSON") as caught:
        client.trigger_run(PROJECT, BODY)
    assert caught.value.maybe_started is True
    assert len(sent(http, "POST")) == 1


# -- GetRunStatus and GetProjectRuns ---------------------------------------------------------


def test_status_read_parses_the_answer(http: responses.RequestsMock, client: HexClient) -> None:
    http.get(RUN_URL, json=status_payload(status="COMPLETED", endTime="2026-01-01T00:00:02.234Z", elapsedTime=1234.5))
    state = client.get_run(PROJECT, RUN)
    assert state.run_id == RUN
    assert state.status == "COMPLETED"
    assert state.elapsed_ms == 1234.5
    assert state.start_time == "2026-01-01T00:00:01.000Z"
    assert state.end_time == "2026-01-01T00:00:02.234Z"
    assert state.trace_id == "trace-status"
    assert state.project_version == "3"
    assert state.run_url == f"https://app.hex.tech/app/{PROJECT}/runs/{RUN}"
    assert client.last_trace_id == "trace-status"


def test_status_read_accepts_nulls(http: responses.RequestsMock, client: HexClient) -> None:
    http.get(RUN_URL, json=status_payload(status="PENDING", startTime=None, endTime=None, elapsedTime=None))
    state = client.get_run(PROJECT, RUN)
    assert (state.status, state.start_time, state.end_time, state.elapsed_ms) == ("PENDING", None, None, None)


@pytest.mark.parametrize(("elapsed", "expected"), [(0, 0.0), (1234, 1234.0), (0.1, 0.1), (True, None), ("12", None)])
def test_elapsed_time_is_milliseconds_and_only_a_number(
    http: responses.RequestsMock, client: HexClient, elapsed: Any, expected: float | None
) -> None:
    http.get(RUN_URL, json=status_payload(elapsedTime=elapsed))
    assert client.get_run(PROJECT, RUN).elapsed_ms == expected


def test_unknown_status_is_kept_verbatim(http: responses.RequestsMock, client: HexClient) -> None:
    http.get(RUN_URL, json=status_payload(status="QUEUED_FOR_LUNCH"))
    assert client.get_run(PROJECT, RUN).status == "QUEUED_FOR_LUNCH"


@pytest.mark.parametrize("payload", [{"runId": RUN}, {"status": None}, {"status": 3}])
def test_missing_status_reads_as_empty(
    http: responses.RequestsMock, client: HexClient, payload: dict[str, Any]
) -> None:
    http.get(RUN_URL, json=payload)
    state = client.get_run(PROJECT, RUN)
    assert state.status == ""
    assert state.run_id == RUN


def test_list_runs_asks_for_recent_completed_api_runs(http: responses.RequestsMock, client: HexClient) -> None:
    http.get(RUNS_URL, json={"runs": [status_payload(status="COMPLETED", runId="r1", elapsedTime=60000), "junk"]})
    runs = client.list_runs(PROJECT, limit=10)
    assert sent(http)[0].params == {"limit": "10", "statusFilter": "COMPLETED", "runTriggerFilter": "API"}
    assert [(r.run_id, r.status, r.elapsed_ms) for r in runs] == [("r1", "COMPLETED", 60000.0)]


@pytest.mark.parametrize("payload", [{}, {"runs": None}, {"runs": {"a": 1}}])
def test_list_runs_without_a_list_is_empty(
    http: responses.RequestsMock, client: HexClient, payload: dict[str, Any]
) -> None:
    http.get(RUNS_URL, json=payload)
    assert client.list_runs(PROJECT) == []


def test_success_with_a_body_that_is_not_json_is_an_error(http: responses.RequestsMock, client: HexClient) -> None:
    http.get(RUN_URL, body="<html>maintenance</html>", status=200)
    with pytest.raises(HexApiError, match="not JSON") as caught:
        client.get_run(PROJECT, RUN)
    assert caught.value.maybe_started is False


def test_every_retry_is_announced_with_its_reason_and_wait(
    http: responses.RequestsMock, client: HexClient, clock: FakeClock
) -> None:
    # A proxy's page, Hex's 503 and a refused connection: each wait is told before it starts,
    # so a long wait never looks like a hang (the not-JSON retry used to wait silently).
    http.get(RUN_URL, body="<html>maintenance</html>", status=200)
    http.get(RUN_URL, status=503, json={"reason": "busy"})
    http.get(RUN_URL, body=requests.ConnectionError("refused"))
    http.get(RUN_URL, json=status_payload(status="COMPLETED"))
    waits: list[RetryWait] = []
    client.on_retry = waits.append
    started = clock.now()
    assert client.get_run(PROJECT, RUN).status == "COMPLETED"
    assert [w.kind for w in waits] == ["status"] * 3
    assert "not JSON" in waits[0].reason
    assert "busy" in waits[1].reason
    assert waits[2].reason.startswith("Could not reach Hex")
    assert clock.now() - started == pytest.approx(sum(w.seconds for w in waits))


# -- CancelRun -------------------------------------------------------------------------------


def test_cancel_accepts_204_with_an_empty_body(http: responses.RequestsMock, client: HexClient) -> None:
    http.delete(RUN_URL, status=204, body="", content_type="application/json")
    client.cancel_run(PROJECT, RUN)  # no error: an empty 204 is not parsed as JSON
    assert client.counts["cancel"] == 1
    assert [r.method for r in sent(http)] == ["DELETE"]
    assert sent(http)[0].url == RUN_URL


def test_cancel_is_retried_on_server_errors(http: responses.RequestsMock, client: HexClient) -> None:
    http.delete(RUN_URL, status=500)
    http.delete(RUN_URL, status=204)
    client.cancel_run(PROJECT, RUN)
    assert len(sent(http)) == 2


def test_cancel_is_tried_again_quickly_and_gives_up_after_ten_attempts(
    http: responses.RequestsMock, client: HexClient, clock: FakeClock
) -> None:
    http.delete(RUN_URL, status=502)
    start = clock.now()
    with pytest.raises(HexApiError) as caught:
        client.cancel_run(PROJECT, RUN, within=60.0)
    assert caught.value.status_code == 502
    assert len(sent(http)) == 10
    assert all(pause <= 1.0 for pause in clock.sleeps), "a run left behind burns a kernel: retry quickly"
    assert clock.now() - start <= 60.0


def test_cancel_stops_retrying_within_its_time(
    http: responses.RequestsMock, client: HexClient, clock: FakeClock
) -> None:
    http.delete(RUN_URL, status=429, headers={"Retry-After": "30"})
    start = clock.now()
    with pytest.raises(HexApiError):
        client.cancel_run(PROJECT, RUN, within=10.0)
    assert len(sent(http)) == 1
    assert clock.now() == start


# -- retries of reads ------------------------------------------------------------------------


def test_read_429_waits_for_retry_after_seconds(
    http: responses.RequestsMock, client: HexClient, clock: FakeClock
) -> None:
    http.get(RUN_URL, status=429, headers={"Retry-After": "7"})
    http.get(RUN_URL, json=status_payload())
    start = clock.now()
    assert client.get_run(PROJECT, RUN).status == "RUNNING"
    assert len(sent(http)) == 2
    assert clock.sleeps == [7.0]
    assert clock.now() == start + 7.0


def test_read_429_waits_for_retry_after_date(http: responses.RequestsMock, client: HexClient, clock: FakeClock) -> None:
    when = formatdate(clock.wall() + 42, usegmt=True)
    http.get(RUN_URL, status=429, headers={"Retry-After": when})
    http.get(RUN_URL, json=status_payload())
    client.get_run(PROJECT, RUN)
    assert clock.sleeps == [pytest.approx(42.0)]


def test_read_429_with_a_date_in_the_past_retries_at_once(
    http: responses.RequestsMock, client: HexClient, clock: FakeClock
) -> None:
    http.get(RUN_URL, status=429, headers={"Retry-After": formatdate(clock.wall() - 100, usegmt=True)})
    http.get(RUN_URL, json=status_payload())
    client.get_run(PROJECT, RUN)
    assert clock.sleeps == [0.0]
    assert len(sent(http)) == 2


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_read_is_retried_on_server_errors_with_backoff(
    http: responses.RequestsMock, client: HexClient, clock: FakeClock, status: int
) -> None:
    http.get(RUN_URL, status=status)
    http.get(RUN_URL, status=status)
    http.get(RUN_URL, json=status_payload())
    assert client.get_run(PROJECT, RUN).status == "RUNNING"
    assert len(sent(http)) == 3
    assert len(clock.sleeps) == 2
    for attempt, slept in enumerate(clock.sleeps, start=1):
        low, high = backoff_bounds(attempt)
        assert low <= slept <= high


@pytest.mark.parametrize(
    "error", [requests.ConnectionError("reset by peer"), requests.ReadTimeout("slow"), requests.ConnectTimeout("x")]
)
def test_read_is_retried_on_connection_errors_and_timeouts(
    http: responses.RequestsMock, client: HexClient, error: Exception
) -> None:
    http.get(RUN_URL, body=error)
    http.get(RUN_URL, json=status_payload())
    assert client.get_run(PROJECT, RUN).status == "RUNNING"
    assert len(sent(http)) == 2


def test_read_retries_are_bounded_and_back_off_exponentially(
    http: responses.RequestsMock, client: HexClient, clock: FakeClock
) -> None:
    http.get(RUN_URL, status=503)
    with pytest.raises(HexApiError) as caught:
        client.get_run(PROJECT, RUN)
    assert caught.value.status_code == 503
    assert len(sent(http)) == 6
    assert len(clock.sleeps) == 5
    for attempt, slept in enumerate(clock.sleeps, start=1):
        low, high = backoff_bounds(attempt)
        assert low <= slept <= high


def test_read_connection_errors_are_bounded_too(http: responses.RequestsMock, client: HexClient) -> None:
    http.get(RUN_URL, body=requests.ConnectionError("down"))
    with pytest.raises(HexApiError, match="Could not reach Hex") as caught:
        client.get_run(PROJECT, RUN)
    assert len(sent(http)) == 6
    assert "ConnectionError" in str(caught.value)


def test_backoff_is_jittered(http: responses.RequestsMock, make_client: Callable[..., HexClient]) -> None:
    first_sleeps = set()
    for seed in range(5):
        clock = FakeClock()
        client = HexClient(BASE, TOKEN, clock, rng=random.Random(seed))
        http.get(RUN_URL, status=503)
        http.get(RUN_URL, json=status_payload())
        client.get_run(PROJECT, RUN)
        first_sleeps.add(clock.sleeps[0])
    assert len(first_sleeps) == 5


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_read_is_not_retried_on_client_errors(http: responses.RequestsMock, client: HexClient, status: int) -> None:
    http.get(RUN_URL, status=status, json={"message": "no"})
    with pytest.raises(HexApiError) as caught:
        client.get_run(PROJECT, RUN)
    assert caught.value.status_code == status
    assert len(sent(http)) == 1


def test_read_to_a_closed_port_is_retried_then_reported(clock: FakeClock) -> None:
    base = f"http://127.0.0.1:{closed_port()}/api/v1"
    client = HexClient(base, TOKEN, clock, rng=random.Random(1))
    with pytest.raises(HexApiError, match="Could not reach Hex") as caught:
        client.get_run(PROJECT, RUN)
    assert client.counts["status"] == 6
    assert base in str(caught.value)
    assert caught.value.hint is not None
    assert "hex-url" in caught.value.hint


# -- retries of run starts -------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 503])
def test_start_is_retried_where_hex_created_no_run(
    http: responses.RequestsMock, client: HexClient, clock: FakeClock, status: int
) -> None:
    http.post(RUNS_URL, status=status, headers={"Retry-After": "5"})
    http.post(RUNS_URL, status=201, json=started_payload())
    assert client.trigger_run(PROJECT, BODY).run_id == RUN
    assert len(sent(http, "POST")) == 2
    assert clock.sleeps == [5.0]


def test_start_503_without_retry_after_backs_off(
    http: responses.RequestsMock, client: HexClient, clock: FakeClock
) -> None:
    http.post(RUNS_URL, status=503)
    http.post(RUNS_URL, status=503)
    http.post(RUNS_URL, status=201, json=started_payload())
    client.trigger_run(PROJECT, BODY)
    assert len(sent(http, "POST")) == 3
    for attempt, slept in enumerate(clock.sleeps, start=1):
        low, high = backoff_bounds(attempt)
        assert low <= slept <= high


@pytest.mark.parametrize(
    "error",
    [refused(RUNS_URL), requests.ConnectTimeout("connect timed out")],
    ids=["connection-refused", "connect-timeout"],
)
def test_start_is_retried_when_the_connection_never_opened(
    http: responses.RequestsMock, client: HexClient, error: Exception
) -> None:
    http.post(RUNS_URL, body=error)
    http.post(RUNS_URL, status=201, json=started_payload())
    assert client.trigger_run(PROJECT, BODY).run_id == RUN
    assert len(sent(http, "POST")) == 2


@pytest.mark.parametrize("status", [500, 502, 504])
def test_start_is_not_retried_after_a_server_error(
    http: responses.RequestsMock, client: HexClient, clock: FakeClock, status: int
) -> None:
    http.post(RUNS_URL, status=status)
    http.post(RUNS_URL, status=201, json=started_payload())
    with pytest.raises(HexApiError) as caught:
        client.trigger_run(PROJECT, BODY)
    assert caught.value.status_code == status
    assert len(sent(http, "POST")) == 1  # a second POST could start a second run
    assert clock.sleeps == []


@pytest.mark.parametrize(
    "error",
    [requests.ReadTimeout("read timed out"), requests.ConnectionError("Connection reset by peer")],
    ids=["read-timeout", "connection-reset"],
)
def test_start_is_not_retried_once_the_request_may_have_arrived(
    http: responses.RequestsMock, client: HexClient, error: Exception
) -> None:
    http.post(RUNS_URL, body=error)
    http.post(RUNS_URL, status=201, json=started_payload())
    with pytest.raises(HexApiError, match="Could not reach Hex"):
        client.trigger_run(PROJECT, BODY)
    assert len(sent(http, "POST")) == 1


def test_start_503_is_retried_until_the_deadline_with_capped_backoff(
    http: responses.RequestsMock, client: HexClient, clock: FakeClock
) -> None:
    # No kernel free may last minutes (until one of the user's 25 runs ends): within the
    # action's timeout, waiting is what the user wants.
    http.post(RUNS_URL, status=503)
    deadline = clock.now() + 3600.0
    with pytest.raises(HexApiError) as caught:
        client.trigger_run(PROJECT, BODY, deadline=deadline)
    assert caught.value.status_code == 503
    assert caught.value.maybe_started is False  # Hex documents that a 503 creates no run
    posts = len(sent(http, "POST"))
    assert posts == len(clock.sleeps) + 1
    # 3600 s at 60 to 120 s apart after the first quick ones: some of the token's 60 starts an
    # hour are left for other steps.
    assert 30 < posts < 60
    for attempt, slept in enumerate(clock.sleeps, start=1):
        low, high = backoff_bounds(attempt, START_BUSY_BACKOFF)
        assert low <= slept <= high <= START_BUSY_BACKOFF
    assert deadline - START_BUSY_BACKOFF < clock.now() <= deadline  # gave up when the next wait passed it


def test_start_503_honours_retry_after_until_the_deadline(
    http: responses.RequestsMock, client: HexClient, clock: FakeClock
) -> None:
    http.post(RUNS_URL, status=503, headers={"Retry-After": "100"})
    start = clock.now()
    with pytest.raises(HexApiError) as caught:
        client.trigger_run(PROJECT, BODY, deadline=start + 3600.0)
    assert caught.value.status_code == 503
    assert clock.sleeps == [100.0] * 36
    assert len(sent(http, "POST")) == 37
    assert clock.now() == start + 3600.0


def test_start_429_is_retried_until_the_deadline(
    http: responses.RequestsMock, client: HexClient, clock: FakeClock
) -> None:
    http.post(RUNS_URL, status=429, headers={"Retry-After": "5"})
    start = clock.now()
    with pytest.raises(HexApiError) as caught:
        client.trigger_run(PROJECT, BODY, deadline=start + 60.0)
    assert caught.value.status_code == 429
    assert clock.sleeps == [5.0] * 12
    assert len(sent(http, "POST")) == 13


def test_start_503_then_a_free_kernel_starts_the_run(
    http: responses.RequestsMock, client: HexClient, clock: FakeClock
) -> None:
    for _ in range(20):
        http.post(RUNS_URL, status=503)
    http.post(RUNS_URL, status=201, json=started_payload())
    assert client.trigger_run(PROJECT, BODY, deadline=clock.now() + 3600.0).run_id == RUN
    assert len(sent(http, "POST")) == 21


def test_start_busy_retries_without_a_deadline_are_bounded(
    http: responses.RequestsMock, client: HexClient, clock: FakeClock
) -> None:
    http.post(RUNS_URL, status=503)
    start = clock.now()
    with pytest.raises(HexApiError) as caught:
        client.trigger_run(PROJECT, BODY)
    assert caught.value.status_code == 503
    assert start + START_BUSY_WAIT - START_BUSY_BACKOFF < clock.now() <= start + START_BUSY_WAIT
    assert len(sent(http, "POST")) > 10


def test_start_busy_answers_do_not_use_up_the_retries_of_unsent_connections(
    http: responses.RequestsMock, client: HexClient, clock: FakeClock
) -> None:
    for _ in range(6):
        http.post(RUNS_URL, status=503)
    for _ in range(4):
        http.post(RUNS_URL, body=refused(RUNS_URL))
    http.post(RUNS_URL, status=201, json=started_payload())
    assert client.trigger_run(PROJECT, BODY, deadline=clock.now() + 3600.0).run_id == RUN
    assert len(sent(http, "POST")) == 11


def test_start_unsent_connections_are_still_retried_five_times(
    http: responses.RequestsMock, client: HexClient, clock: FakeClock
) -> None:
    http.post(RUNS_URL, body=refused(RUNS_URL))
    with pytest.raises(HexApiError, match="Could not reach Hex") as caught:
        client.trigger_run(PROJECT, BODY, deadline=clock.now() + 3600.0)
    assert caught.value.maybe_started is False
    assert len(sent(http, "POST")) == 5


def test_start_to_a_closed_port_is_retried(clock: FakeClock) -> None:
    # A real refused connection, to check the exception shape the policy relies on.
    client = HexClient(f"http://127.0.0.1:{closed_port()}/api/v1", TOKEN, clock, rng=random.Random(1))
    with pytest.raises(HexApiError, match="Could not reach Hex"):
        client.trigger_run(PROJECT, BODY)
    assert client.counts["start"] == 5


# -- deadline --------------------------------------------------------------------------------


def test_retries_never_sleep_past_the_deadline(
    http: responses.RequestsMock, client: HexClient, clock: FakeClock
) -> None:
    http.get(RUN_URL, status=503)
    deadline = clock.now() + 5.0
    with pytest.raises(HexApiError) as caught:
        client.get_run(PROJECT, RUN, deadline=deadline)
    assert caught.value.status_code == 503
    assert clock.now() <= deadline
    assert 1 < len(sent(http)) < 6


def test_retry_after_beyond_the_deadline_gives_up_at_once(
    http: responses.RequestsMock, client: HexClient, clock: FakeClock
) -> None:
    http.get(RUN_URL, status=429, headers={"Retry-After": "120"})
    with pytest.raises(HexApiError) as caught:
        client.get_run(PROJECT, RUN, deadline=clock.now() + 30.0)
    assert caught.value.status_code == 429
    assert clock.sleeps == []
    assert len(sent(http)) == 1


def test_connection_errors_stop_at_the_deadline(
    http: responses.RequestsMock, client: HexClient, clock: FakeClock
) -> None:
    http.get(RUN_URL, body=requests.ConnectionError("down"))
    deadline = clock.now() + 2.5
    with pytest.raises(HexApiError, match="Could not reach Hex"):
        client.get_run(PROJECT, RUN, deadline=deadline)
    assert clock.now() <= deadline


def test_rate_limit_wait_beyond_the_deadline_sends_nothing(
    http: responses.RequestsMock, make_client: Callable[..., HexClient], clock: FakeClock
) -> None:
    reads = status_read_limiter()
    reads.pause_until(clock.now() + 100.0)
    client = make_client(reads=reads)
    with pytest.raises(HexApiError, match="rate limit") as caught:
        client.get_run(PROJECT, RUN, deadline=clock.now() + 10.0)
    assert caught.value.status_code == 429
    assert sent(http) == []
    assert clock.sleeps == []


# -- the shared rate limiters ----------------------------------------------------------------


def test_reads_wait_for_the_shared_read_budget(
    http: responses.RequestsMock, make_client: Callable[..., HexClient], clock: FakeClock
) -> None:
    reads = status_read_limiter()
    start = clock.now()
    for _ in range(30):
        reads.record(start)
    http.get(RUN_URL, json=status_payload())
    make_client(reads=reads).get_run(PROJECT, RUN)
    assert clock.sleeps == [60.0]
    assert reads.used == 31


def test_a_read_429_pauses_every_reader_of_the_token(
    http: responses.RequestsMock, make_client: Callable[..., HexClient], clock: FakeClock
) -> None:
    reads = status_read_limiter()
    first, second = make_client(reads=reads), make_client(reads=reads)
    http.get(RUN_URL, status=429, headers={"Retry-After": "30"})
    start = clock.now()
    with pytest.raises(HexApiError):
        first.get_run(PROJECT, RUN, deadline=start + 10.0)  # gives up, but the pause stays
    assert reads.next_allowed(start) == start + 30.0

    http.replace(responses.GET, RUN_URL, json=status_payload())
    second.get_run(PROJECT, RUN)
    assert clock.sleeps == [30.0]  # the second reader waited for the pause before sending
    assert len(sent(http)) == 2


def test_a_start_429_pauses_starts_but_not_reads(
    http: responses.RequestsMock, make_client: Callable[..., HexClient], clock: FakeClock
) -> None:
    reads, starts = RateLimiter([(30, 60.0)]), run_start_limiter()
    client = make_client(reads=reads, starts=starts)
    http.post(RUNS_URL, status=429, headers={"Retry-After": "45"})
    start = clock.now()
    with pytest.raises(HexApiError):
        client.trigger_run(PROJECT, BODY, deadline=start + 5.0)
    assert starts.next_allowed(start) == start + 45.0
    assert reads.next_allowed(start) == start


def test_starts_count_against_the_start_limiter_only(http: responses.RequestsMock, client: HexClient) -> None:
    call_every_endpoint(http, client)
    assert client.starts.used == 1
    assert client.reads.used == 3  # status, list and project reads share the budget; cancels are not counted


# -- cancel signal ---------------------------------------------------------------------------


class SignalDuringSleep(FakeClock):
    """A clock on which the cancel signal arrives during the first sleep."""

    def __init__(self, wake: threading.Event) -> None:
        super().__init__()
        self.wake = wake

    def sleep(self, seconds: float, wake: threading.Event | None = None) -> bool:
        self.wake.set()
        return super().sleep(seconds, wake)


def test_cancel_signal_interrupts_a_retry_sleep(http: responses.RequestsMock) -> None:
    wake = threading.Event()
    clock = SignalDuringSleep(wake)
    client = HexClient(BASE, TOKEN, clock, wake=wake, rng=random.Random(1))
    http.get(RUN_URL, status=503)
    http.get(RUN_URL, json=status_payload())
    with pytest.raises(Interrupted):
        client.get_run(PROJECT, RUN)
    assert len(sent(http)) == 1


def test_cancel_signal_during_a_start_retry_wait_says_no_request_was_on_its_way(
    http: responses.RequestsMock,
) -> None:
    wake = threading.Event()
    client = HexClient(BASE, TOKEN, SignalDuringSleep(wake), wake=wake, rng=random.Random(1))
    http.post(RUNS_URL, status=503)
    http.post(RUNS_URL, status=201, json=started_payload())
    with pytest.raises(Interrupted) as caught:
        client.trigger_run(PROJECT, BODY, deadline=3600.0)
    assert caught.value.in_request is False  # the engine then knows Hex made no run
    assert len(sent(http, "POST")) == 1


class HandlerRaisesDuringSleep(FakeClock):
    """A clock whose sleep is cut short by the signal handler raising `Interrupted` (in an interruptible block)."""

    def sleep(self, seconds: float, wake: threading.Event | None = None) -> bool:
        raise Interrupted


def test_signal_handler_raising_during_a_retry_wait_says_no_request_was_on_its_way(
    http: responses.RequestsMock,
) -> None:
    client = HexClient(BASE, TOKEN, HandlerRaisesDuringSleep(), wake=threading.Event(), rng=random.Random(1))
    http.post(RUNS_URL, status=429, headers={"Retry-After": "5"})
    with pytest.raises(Interrupted) as caught:
        client.trigger_run(PROJECT, BODY, deadline=3600.0)
    assert caught.value.in_request is False
    assert len(sent(http, "POST")) == 1


class SignalDuringRequest(requests.Session):
    """A session in which the signal handler raises `Interrupted` while the request is under way."""

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        raise Interrupted


def test_signal_during_the_request_itself_may_have_reached_hex(clock: FakeClock) -> None:
    client = HexClient(BASE, TOKEN, clock, wake=threading.Event(), session=SignalDuringRequest())
    with pytest.raises(Interrupted) as caught:
        client.trigger_run(PROJECT, BODY)
    assert caught.value.in_request is True
    assert client.counts["start"] == 1


def test_cancel_signal_interrupts_a_rate_limit_wait(http: responses.RequestsMock, clock: FakeClock) -> None:
    wake = threading.Event()
    wake.set()
    reads = status_read_limiter()
    reads.pause_until(clock.now() + 30.0)
    client = HexClient(BASE, TOKEN, clock, wake=wake, reads=reads)
    with pytest.raises(Interrupted):
        client.get_run(PROJECT, RUN)
    assert sent(http) == []


def test_cancel_itself_is_not_interrupted_by_the_signal(http: responses.RequestsMock, clock: FakeClock) -> None:
    wake = threading.Event()
    wake.set()
    client = HexClient(BASE, TOKEN, clock, wake=wake, rng=random.Random(1))
    http.delete(RUN_URL, status=503)
    http.delete(RUN_URL, status=204)
    client.cancel_run(PROJECT, RUN)
    assert len(sent(http)) == 2
    (slept,) = clock.sleeps  # it still backed off before retrying
    low, high = backoff_bounds(1)
    assert low <= slept <= high


# -- error messages --------------------------------------------------------------------------


def start_error(http: responses.RequestsMock, client: HexClient, status: int, **kwargs: Any) -> HexApiError:
    http.post(RUNS_URL, status=status, **kwargs)
    with pytest.raises(HexApiError) as caught:
        client.trigger_run(PROJECT, BODY, deadline=client._clock.now() + 1.0)  # no retries past a second
    return caught.value


def test_error_with_message_code_and_issues(http: responses.RequestsMock, client: HexClient) -> None:
    body = {"message": "Invalid input data", "code": "BAD_REQUEST", "issues": [{"message": "viewId is unknown"}]}
    err = start_error(http, client, 400, json=body)
    assert err.status_code == 400
    assert err.detail == (
        f"Hex answered 400 Bad Request to POST /api/v1/projects/{PROJECT}/runs: Invalid input data; viewId is unknown"
    )
    assert "malformed" in str(err)


def test_error_with_tsoa_reason_details_and_trace_id(http: responses.RequestsMock, client: HexClient) -> None:
    body = {
        "reason": "Slack notifications cannot be sent.",
        "details": "The user has not enabled notifications for Slack.",
        "traceId": "trace-403",
    }
    err = start_error(http, client, 403, json=body)
    assert err.trace_id == "trace-403"
    text = str(err)
    assert "Slack notifications cannot be sent.; The user has not enabled notifications for Slack." in text
    assert "(Hex traceId: trace-403)" in text
    assert "'Run projects' scope" in text


def test_error_422_names_unknown_and_invalid_inputs(http: responses.RequestsMock, client: HexClient) -> None:
    body = {
        "traceId": "trace-422",
        "invalid": [{"paramName": "n", "paramValue": '"abc"', "dataType": "NUMBER", "inputCellType": "NUMERIC"}],
        "notFound": ["regoin"],
    }
    err = start_error(http, client, 422, json=body)
    text = str(err)
    assert "unknown inputs: regoin" in text
    assert 'invalid inputs: n="abc" (expected NUMBER)' in text
    assert "(Hex traceId: trace-422)" in text
    assert "The published app has no input named regoin" in text
    assert "must be published" not in text, "the generic hint only where Hex's answer names nothing better"


def test_error_in_plain_text(http: responses.RequestsMock, client: HexClient) -> None:
    err = start_error(http, client, 401, body="Unauthorized", content_type="text/plain")
    assert err.detail == f"Hex answered 401 Unauthorized to POST /api/v1/projects/{PROJECT}/runs: Unauthorized"
    assert err.trace_id is None
    assert "expired or revoked" in str(err)


def test_error_without_a_body(http: responses.RequestsMock, client: HexClient) -> None:
    http.get(RUN_URL, status=404, body="")
    with pytest.raises(HexApiError) as caught:
        client.get_run(PROJECT, RUN)
    assert caught.value.detail == f"Hex answered 404 Not Found to GET /api/v1/projects/{PROJECT}/runs/{RUN}"


def test_error_with_an_unknown_json_shape_shows_the_body(http: responses.RequestsMock, client: HexClient) -> None:
    err = start_error(http, client, 400, json={"error": "weird"})
    assert '{"error": "weird"}' in err.detail


def test_long_error_text_is_cut(http: responses.RequestsMock, client: HexClient) -> None:
    err = start_error(http, client, 400, body="x" * 5000, content_type="text/plain")
    assert "x" * 500 in err.detail
    assert "x" * 501 not in err.detail


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (401, "expired or revoked"),
        (403, "'Run projects' scope"),
        (404, "check project-id"),
        (422, "must be published"),
        (429, "rate limit"),
        (503, "no kernel free"),
        (500, "internal error"),
        (507, "internal error"),
        (418, "malformed"),
    ],
)
def test_each_status_gets_its_hint(http: responses.RequestsMock, client: HexClient, status: int, words: str) -> None:
    err = start_error(http, client, status, json={"message": "Hex says no", "traceId": "t"})
    assert err.hint is not None
    assert words in err.hint
    assert "Hex says no" in str(err)
    assert "(Hex traceId: t)" in str(err)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, {"message": f"bad token {TOKEN}", "code": "BAD_REQUEST", "issues": [{"message": f"got {TOKEN}"}]}),
        (403, {"reason": f"token {TOKEN} may not", "details": TOKEN, "traceId": f"trace-{TOKEN}"}),
        (422, {"traceId": "t", "invalid": [], "notFound": [TOKEN]}),
        (401, f"Unauthorized: Bearer {TOKEN}"),
        (400, "y" * 480 + TOKEN),  # the token straddles the point where long text is cut
        (400, {"message": "z" * 470 + TOKEN}),
    ],
)
def test_the_token_never_appears_in_an_error(
    http: responses.RequestsMock, client: HexClient, status: int, body: Any
) -> None:
    kwargs = {"json": body} if isinstance(body, dict) else {"body": body}
    err = start_error(http, client, status, **kwargs)
    assert_no_token(err)
    assert "***" in str(err)


def test_the_token_never_appears_in_a_not_json_answer(http: responses.RequestsMock, client: HexClient) -> None:
    http.get(RUN_URL, status=200, body=f"<p>{TOKEN}</p>")
    with pytest.raises(HexApiError) as caught:
        client.get_run(PROJECT, RUN)
    assert_no_token(caught.value)


def test_the_token_never_appears_in_a_connection_error(http: responses.RequestsMock, client: HexClient) -> None:
    http.get(RUN_URL, body=requests.ConnectionError(f"proxy refused Authorization: Bearer {TOKEN}"))
    with pytest.raises(HexApiError) as caught:
        client.get_run(PROJECT, RUN)
    assert_no_token(caught.value)


def test_redact(client: HexClient) -> None:
    assert client.redact(f"a {TOKEN} b {TOKEN}") == "a *** b ***"


# -- counts ----------------------------------------------------------------------------------


def test_counts_every_request_sent_by_kind(http: responses.RequestsMock, client: HexClient) -> None:
    http.post(RUNS_URL, status=503)
    http.get(RUN_URL, status=502)
    call_every_endpoint(http, client)  # the start and the status read each fail once, then succeed
    assert client.counts == {"start": 2, "status": 2, "list": 1, "cancel": 1, "project": 1}


# -- get_project -------------------------------------------------------------------------------


def project_payload(**fields: Any) -> dict[str, Any]:
    """The GetProject fields the action reads (Hex sends many more)."""
    return {
        "id": PROJECT,
        "title": "Daily revenue",
        "lastPublishedAt": "2026-11-30T10:00:00.000Z",
        "archivedAt": None,
        "trashedAt": None,
        **fields,
    }


def test_get_project_reads_title_and_publish_state(http: responses.RequestsMock, client: HexClient) -> None:
    http.get(PROJECT_URL, json=project_payload())
    info = client.get_project(PROJECT)
    assert (info.title, info.published, info.archived, info.trashed) == ("Daily revenue", True, False, False)
    assert http.calls[0].request.url == f"{PROJECT_URL}?includeSharing=false"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"lastPublishedAt": None}, (False, False, False)),
        ({"archivedAt": "2026-12-01T00:00:00Z"}, (True, True, False)),
        ({"trashedAt": "2026-12-01T00:00:00Z"}, (True, False, True)),
    ],
)
def test_get_project_states(
    http: responses.RequestsMock, client: HexClient, fields: dict[str, Any], expected: tuple[bool, bool, bool]
) -> None:
    http.get(PROJECT_URL, json=project_payload(**fields))
    info = client.get_project(PROJECT)
    assert (info.published, info.archived, info.trashed) == expected


@pytest.mark.parametrize("title", [None, "", "   ", 42, ["x"]])
def test_get_project_without_a_usable_title(http: responses.RequestsMock, client: HexClient, title: Any) -> None:
    http.get(PROJECT_URL, json=project_payload(title=title))
    assert client.get_project(PROJECT).title is None


def test_get_project_spends_the_read_budget(
    http: responses.RequestsMock, make_client: Callable[..., HexClient], clock: FakeClock
) -> None:
    http.get(PROJECT_URL, json=project_payload())
    client = make_client(reads=RateLimiter([(2, 60.0)]))
    for _ in range(2):
        client.get_project(PROJECT, deadline=clock.now())
    with pytest.raises(HexApiError) as caught:
        client.get_project(PROJECT, deadline=clock.now() + 1)
    assert caught.value.status_code == 429  # the limiter said no before sending
    assert len(http.calls) == 2
    assert client.reads.used == 2


def test_get_project_404_is_an_api_error(http: responses.RequestsMock, client: HexClient) -> None:
    http.get(PROJECT_URL, status=404, json={"message": "Project not found", "code": "NOT_FOUND", "issues": []})
    with pytest.raises(HexApiError) as caught:
        client.get_project(PROJECT)
    assert caught.value.status_code == 404


# -- state events ------------------------------------------------------------------------------


def test_get_run_asks_for_expanded_stats_and_reads_state_events(
    http: responses.RequestsMock, client: HexClient
) -> None:
    events = [
        {"type": "STATUS", "value": "RUNNING", "timestamp": "2026-12-03T10:00:05.500Z"},
        {"type": "STATUS", "value": "PENDING", "timestamp": "2026-12-03T10:00:00Z"},
        {"type": "STATUS", "value": "COMPLETED", "timestamp": "not a time"},
        {"type": "STATUS", "value": "COMPLETED", "timestamp": "2026-12-03T10:01:00"},  # no zone: unreadable
        {"type": "STATUS", "value": 3, "timestamp": "2026-12-03T10:01:00Z"},
        "junk",
    ]
    http.get(RUN_URL, json=status_payload(stateEvents=events))
    state = client.get_run(PROJECT, RUN)
    assert http.calls[0].request.headers["enable-expanded-stats"] == "true"
    assert state.state_events == (("PENDING", 1796292000.0), ("RUNNING", 1796292005.5))


@pytest.mark.parametrize("events", [None, "x", {}])
def test_get_run_without_state_events(http: responses.RequestsMock, client: HexClient, events: Any) -> None:
    http.get(RUN_URL, json=status_payload(stateEvents=events))
    assert client.get_run(PROJECT, RUN).state_events == ()
