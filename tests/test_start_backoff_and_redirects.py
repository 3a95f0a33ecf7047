# ruff: noqa: F811 - the fixtures of test_client are imported by name
"""A 429 without Retry-After follows the documented backoff within the timeout; a redirect is named.

Unit tests on the client with `responses` and a fake clock, and one run of the real engine.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import responses
from e2e_support import SimClient, start_action
from test_client import (  # noqa: F401 - fixtures
    BODY,
    PROJECT,
    RUN_URL,
    RUNS_URL,
    backoff_bounds,
    client,
    clock,
    http,
    make_client,
    started_payload,
    status_payload,
)
from test_engine import LIST_PATH, P1, TOKEN, Recorder, ScriptedClock, World, single

from hex_action.client import START_BUSY_BACKOFF, HexClient
from hex_action.clock import FakeClock
from hex_action.errors import HexApiError
from hex_action.signals import CancelSignal
from hex_action.simulator import Fault, HexSimulator, serve
from hex_action.status import Status


def test_start_429_without_retry_after_backs_off_within_a_short_timeout(
    http: responses.RequestsMock, client: HexClient, clock: FakeClock
) -> None:
    for _ in range(3):
        http.post(RUNS_URL, status=429)
    http.post(RUNS_URL, status=201, json=started_payload())
    handle = client.trigger_run(PROJECT, BODY, deadline=clock.now() + 30)
    assert handle.run_id
    assert len(clock.sleeps) == 3
    for attempt, slept in enumerate(clock.sleeps, start=1):
        low, high = backoff_bounds(attempt, START_BUSY_BACKOFF)
        assert low <= slept <= high, (attempt, slept)


def test_read_429_without_retry_after_backs_off(
    http: responses.RequestsMock, client: HexClient, clock: FakeClock
) -> None:
    http.get(RUN_URL, status=429)
    http.get(RUN_URL, json=status_payload())
    client.get_run(PROJECT, RUN_URL.rsplit("/", 1)[1])
    (slept,) = clock.sleeps
    low, high = backoff_bounds(1)
    assert low <= slept <= high


def test_engine_starts_after_429s_without_retry_after_under_a_minute(world: World) -> None:
    world.sim.configure_project(P1, pending_seconds=1, running_seconds=5)
    world.sim.add_fault(Fault("POST", LIST_PATH, 429, count=3))
    (result,) = world.run(single(timeout="40s", use_run_history="false"))
    assert result.status == Status.COMPLETED, result.message
    assert len(world.log("start")) == 4


@pytest.fixture
def world() -> World:
    clock = ScriptedClock()
    return World(clock, HexSimulator(TOKEN, clock=clock.wall), CancelSignal(), Recorder())


# -- redirects ------------------------------------------------------------------------------------


def test_a_redirect_to_another_host_is_named_with_the_fix(http: responses.RequestsMock, client: HexClient) -> None:
    http.post(RUNS_URL, status=301, headers={"Location": "https://eu.hex.tech/api/v1/projects/x/runs"})
    with pytest.raises(HexApiError) as caught:
        client.trigger_run(PROJECT, BODY)
    error = caught.value
    assert len(http.calls) == 1, "not followed: the token must not go to another host, a POST not be resent"
    assert error.status_code == 301
    assert not error.maybe_started
    assert "redirected" in str(error)
    assert "https://eu.hex.tech" in str(error)
    assert error.hint is not None
    assert "Set hex-url to https://eu.hex.tech" in error.hint


def test_a_redirect_on_the_same_host_is_not_followed_either(http: responses.RequestsMock, client: HexClient) -> None:
    http.get(RUN_URL, status=307, headers={"Location": RUN_URL + "/"})
    with pytest.raises(HexApiError) as caught:
        client.get_run(PROJECT, RUN_URL.rsplit("/", 1)[1])
    assert len(http.calls) == 1
    assert "redirected" in str(caught.value)


class _Redirect(BaseHTTPRequestHandler):
    target = ""

    def _answer(self) -> None:
        self.send_response(308)
        self.send_header("Location", self.target + self.path)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = do_DELETE = _answer

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def redirecting() -> Iterator[tuple[str, SimClient]]:
    """A Hex simulator, and in front of it a server that redirects everything to it (another port)."""
    with serve(HexSimulator(TOKEN)) as server:
        handler = type("Redirect", (_Redirect,), {"target": server.url})
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{httpd.server_address[1]}", SimClient(server.url, TOKEN)
        finally:
            httpd.shutdown()
            httpd.server_close()


def test_entrypoint_names_a_redirect_to_another_host_and_the_fix(
    redirecting: tuple[str, SimClient], tmp_path: Path
) -> None:
    front, sim = redirecting
    inputs = {"api-token": TOKEN, "project-id": P1, "hex-url": front, "use-run-history": "false"}
    result = start_action(tmp_path, inputs).wait()
    assert result.returncode == 1, result.describe()
    assert result.outputs["status"] == Status.NOT_STARTED
    (error,) = [c.data for c in result.annotations("error")]
    assert "redirected" in error, error
    assert f"Set hex-url to {sim.url}" in error, error
    assert sim.runs() == [], "nothing reached the host redirected to"


# -- a proxy's HTML page instead of Hex's JSON ------------------------------------------------------


def test_a_read_answered_by_an_html_page_is_tried_again(http: responses.RequestsMock, client: HexClient) -> None:
    # Found by the soak (seeds 359, 726): a 200 HTML page from a proxy ended a cancel or a lookup at once.
    http.get(RUN_URL, status=200, body="<!DOCTYPE html><html>Bad Gateway</html>", content_type="text/html")
    http.get(RUN_URL, json=status_payload(status="COMPLETED"))
    assert client.get_run(PROJECT, RUN_URL.rsplit("/", 1)[1]).status == "COMPLETED"
    http.delete(RUN_URL, status=200, body="<html>maintenance</html>", content_type="text/html")
    http.delete(RUN_URL, status=204)
    client.cancel_run(PROJECT, RUN_URL.rsplit("/", 1)[1])
    assert [c.request.method for c in http.calls] == ["GET", "GET", "DELETE", "DELETE"]


def test_a_start_answered_by_an_html_page_is_never_resent(http: responses.RequestsMock, client: HexClient) -> None:
    http.post(RUNS_URL, status=200, body="<html>maintenance</html>", content_type="text/html")
    with pytest.raises(HexApiError) as caught:
        client.trigger_run(PROJECT, BODY)
    assert caught.value.maybe_started
    assert len(http.calls) == 1
