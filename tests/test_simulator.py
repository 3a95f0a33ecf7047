"""Tests for hex_action.simulator: the pure core via handle(), the HTTP layer and the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import FAKE_EPOCH, SIM_TOKEN, FakeClock

from hex_action.simulator import (
    Fault,
    HexSimulator,
    SimResponse,
    SimServer,
    main,
    parse_duration,
    serve,
)
from hex_action.simulator.cli import _parse_project_option

PROJECT = "5a8591dd-4039-49df-9202-96385ba3eff8"
RUNS = f"/api/v1/projects/{PROJECT}/runs"
REPO_ROOT = Path(__file__).resolve().parent.parent


def call(
    sim: HexSimulator,
    method: str,
    path: str,
    body: Any = None,
    *,
    query: str = "",
    token: str | None = SIM_TOKEN,
    headers: dict[str, str] | None = None,
) -> SimResponse:
    all_headers = {"Host": "hex.test", **(headers or {})}
    if token is not None:
        all_headers["Authorization"] = f"Bearer {token}"
    raw = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    return sim.handle(method, path, query, all_headers, raw)


def trigger(sim: HexSimulator, body: Any = None, project: str = PROJECT) -> SimResponse:
    return call(sim, "POST", f"/api/v1/projects/{project}/runs", body)


def status_of(sim: HexSimulator, run_id: str, project: str = PROJECT) -> dict[str, Any]:
    response = call(sim, "GET", f"/api/v1/projects/{project}/runs/{run_id}")
    assert response.status == 200, response.body
    return response.json()  # type: ignore[no-any-return]


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --------------------------------------------------------------------------------------- lifecycle


def test_trigger_answers_201_with_run_links(sim: HexSimulator) -> None:
    response = trigger(sim, {"inputParams": {"region": "eu"}})

    assert response.status == 201
    assert response.headers["Content-Type"].startswith("application/json")
    payload = response.json()
    run_id = payload["runId"]
    assert payload == {
        "projectId": PROJECT,
        "runId": run_id,
        "runUrl": f"http://hex.test/app/{PROJECT}/runs/{run_id}",
        "runStatusUrl": f"http://hex.test/api/v1/projects/{PROJECT}/runs/{run_id}",
        "traceId": payload["traceId"],
        "projectVersion": 1,
    }
    [run] = sim.runs()
    assert run["inputParams"] == {"region": "eu"}
    assert run["body"] == {"inputParams": {"region": "eu"}}
    assert run["createdAt"] == FAKE_EPOCH


def test_run_goes_pending_running_completed_with_the_clock(sim: HexSimulator, fake_clock: FakeClock) -> None:
    run_id = trigger(sim).json()["runId"]

    pending = status_of(sim, run_id)
    assert pending["status"] == "PENDING"
    assert (pending["startTime"], pending["endTime"], pending["elapsedTime"]) == (None, None, None)
    assert pending["runTrigger"] == "API"
    assert pending["projectVersion"] == 1

    fake_clock.advance(1.0)  # default pending 1 s
    running = status_of(sim, run_id)
    assert running["status"] == "RUNNING"
    assert running["startTime"] == iso(FAKE_EPOCH + 1)
    assert running["endTime"] is None
    assert running["elapsedTime"] == 0.0

    fake_clock.advance(1.5)
    assert status_of(sim, run_id)["elapsedTime"] == 1500.0

    fake_clock.advance(1.5)  # default running 3 s
    done = status_of(sim, run_id)
    assert done["status"] == "COMPLETED"
    assert done["startTime"] == iso(FAKE_EPOCH + 1)
    assert done["endTime"] == iso(FAKE_EPOCH + 4)
    assert done["elapsedTime"] == 3000.0

    fake_clock.advance(3600)
    assert status_of(sim, run_id)["status"] == "COMPLETED"


def test_configured_durations_and_final_status(sim: HexSimulator, fake_clock: FakeClock) -> None:
    sim.configure_project(PROJECT, pending_seconds=0, running_seconds=10, final_status="ERRORED", project_version=7)
    run_id = trigger(sim).json()["runId"]
    assert status_of(sim, run_id)["status"] == "RUNNING"
    fake_clock.advance(10)
    final = status_of(sim, run_id)
    assert (final["status"], final["projectVersion"]) == ("ERRORED", 7)


def test_unable_to_allocate_kernel_never_starts(sim: HexSimulator, fake_clock: FakeClock) -> None:
    sim.configure_project(PROJECT, pending_seconds=5, final_status="UNABLE_TO_ALLOCATE_KERNEL")
    run_id = trigger(sim).json()["runId"]
    fake_clock.advance(4)
    assert status_of(sim, run_id)["status"] == "PENDING"
    fake_clock.advance(1)
    final = status_of(sim, run_id)
    assert final["status"] == "UNABLE_TO_ALLOCATE_KERNEL"
    assert final["startTime"] is None
    assert final["elapsedTime"] is None
    assert final["endTime"] == iso(FAKE_EPOCH + 5)


def test_invalid_final_status_is_rejected() -> None:
    with pytest.raises(ValueError, match="final status"):
        HexSimulator("t", default_final_status="DONE")
    with pytest.raises(ValueError, match="final status"):
        HexSimulator("t").configure_project("p", final_status="KILLED")


def test_expanded_stats_add_state_events(sim: HexSimulator, fake_clock: FakeClock) -> None:
    run_id = trigger(sim).json()["runId"]
    fake_clock.advance(10)
    response = call(sim, "GET", f"{RUNS}/{run_id}", headers={"enable-expanded-stats": "true"})
    assert [(e["value"], e["timestamp"]) for e in response.json()["stateEvents"]] == [
        ("PENDING", iso(FAKE_EPOCH)),
        ("RUNNING", iso(FAKE_EPOCH + 1)),
        ("COMPLETED", iso(FAKE_EPOCH + 4)),
    ]
    assert "stateEvents" not in status_of(sim, run_id)


# ------------------------------------------------------------------------------------------ cancel


def test_cancel_kills_a_running_run(sim: HexSimulator, fake_clock: FakeClock) -> None:
    run_id = trigger(sim).json()["runId"]
    fake_clock.advance(2)

    response = call(sim, "DELETE", f"{RUNS}/{run_id}")

    assert (response.status, response.body) == (204, b"")
    killed = status_of(sim, run_id)
    assert killed["status"] == "KILLED"
    assert killed["endTime"] == iso(FAKE_EPOCH + 2)
    assert killed["elapsedTime"] == 1000.0
    fake_clock.advance(100)  # the configured final status never takes over
    assert status_of(sim, run_id)["status"] == "KILLED"
    assert sim.runs()[0]["cancelledAt"] == FAKE_EPOCH + 2


def test_cancel_while_pending_leaves_no_start_time(sim: HexSimulator) -> None:
    run_id = trigger(sim).json()["runId"]
    assert call(sim, "DELETE", f"{RUNS}/{run_id}").status == 204
    killed = status_of(sim, run_id)
    assert (killed["status"], killed["startTime"], killed["elapsedTime"]) == ("KILLED", None, None)


def test_cancel_of_a_finished_run_is_422_tsoa(sim: HexSimulator, fake_clock: FakeClock) -> None:
    run_id = trigger(sim).json()["runId"]
    fake_clock.advance(60)

    response = call(sim, "DELETE", f"{RUNS}/{run_id}")

    assert response.status == 422
    assert set(response.json()) == {"reason", "traceId"}
    assert "COMPLETED" in response.json()["reason"]
    assert status_of(sim, run_id)["status"] == "COMPLETED"


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_unknown_run_is_404_tsoa(sim: HexSimulator, method: str) -> None:
    response = call(sim, method, f"{RUNS}/00000000-0000-4000-8000-000000000000")
    assert response.status == 404
    assert set(response.json()) == {"reason", "traceId"}


def test_run_of_another_project_is_not_found(sim: HexSimulator) -> None:
    run_id = trigger(sim).json()["runId"]
    assert call(sim, "GET", f"/api/v1/projects/other/runs/{run_id}").status == 404


# ---------------------------------------------------------------------------------- auth, routing


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Basic {SIM_TOKEN}"},
        {"Authorization": "Bearer "},
    ],
)
def test_bad_or_missing_token_is_401_plain_text(sim: HexSimulator, headers: dict[str, str]) -> None:
    response = sim.handle("POST", RUNS, "", headers, b"")
    assert response.status == 401
    assert response.body == b"Unauthorized"
    assert response.headers["Content-Type"].startswith("text/plain")
    assert sim.runs() == []
    assert sim.requests_log()[-1]["authorized"] is False


def test_bearer_scheme_is_case_insensitive(sim: HexSimulator) -> None:
    response = sim.handle("POST", RUNS, "", {"authorization": f"bearer {SIM_TOKEN}"}, b"")
    assert response.status == 201


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", f"/api/v1/project/{PROJECT}/run", 404),  # legacy singular path: not modelled
        ("GET", "/api/v1/projects", 404),
        ("PUT", RUNS, 405),
    ],
)
def test_unknown_routes(sim: HexSimulator, method: str, path: str, status: int) -> None:
    response = call(sim, method, path)
    assert response.status == status
    assert set(response.json()) == {"message", "code", "issues"}


# ----------------------------------------------------------------------------- trigger validation


def test_unpublished_project_is_422_on_trigger_and_list(sim: HexSimulator) -> None:
    sim.configure_project(PROJECT, published=False)
    expected = {
        "message": "Unprocessable content",
        "code": "UNPROCESSABLE_CONTENT",
        "issues": [{"message": "Project is not published"}],
    }
    for response in (trigger(sim), call(sim, "GET", RUNS)):
        assert response.status == 422
        assert response.json() == expected
    assert sim.runs() == []


def test_missing_project_is_404(sim: HexSimulator) -> None:
    run_id = trigger(sim).json()["runId"]
    sim.configure_project(PROJECT, exists=False)
    assert trigger(sim).status == 404
    assert trigger(sim).json()["code"] == "NOT_FOUND"
    assert call(sim, "GET", RUNS).status == 404
    assert call(sim, "GET", f"{RUNS}/{run_id}").status == 404


def test_unknown_input_names_are_422_not_found(sim: HexSimulator) -> None:
    sim.configure_project(PROJECT, input_names=["region", "limit"])

    response = trigger(sim, {"inputParams": {"region": "eu", "regoin": "us", "extra": 1}})

    assert response.status == 422
    payload = response.json()
    assert payload == {"traceId": payload["traceId"], "invalid": [], "notFound": ["regoin", "extra"]}
    assert trigger(sim, {"inputParams": {"region": "eu"}}).status == 201


def test_any_input_name_is_accepted_when_unconfigured(sim: HexSimulator) -> None:
    assert trigger(sim, {"inputParams": {"anything": [1, 2]}}).status == 201


def test_view_id_with_input_params_is_422(sim: HexSimulator) -> None:
    response = trigger(sim, {"inputParams": {"a": 1}, "viewId": "view-1"})
    assert response.status == 422
    payload = response.json()
    assert payload["code"] == "UNPROCESSABLE_CONTENT"
    assert "viewId" in payload["issues"][0]["message"]
    assert trigger(sim, {"viewId": "view-1"}).status == 201


@pytest.mark.parametrize(
    ("body", "issue"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1]", "must be a JSON object"),
        ({"inputParms": {}}, "Unrecognized key in body: 'inputParms'"),
        ({"dryRun": "false"}, "'dryRun' must be of type boolean"),
        ({"inputParams": []}, "'inputParams' must be of type object"),
        ({"notifications": [{"type": "ALL"}]}, "includeSuccessScreenshot must be a boolean"),
        ({"notifications": [{"type": "SOMETIMES", "includeSuccessScreenshot": False}]}, "type must be"),
        ({"notifications": ["x"]}, "notifications[0] must be an object"),
    ],
)
def test_malformed_body_is_400(sim: HexSimulator, body: Any, issue: str) -> None:
    response = trigger(sim, body)
    assert response.status == 400
    payload = response.json()
    assert payload["code"] == "BAD_REQUEST"
    assert any(issue in item["message"] for item in payload["issues"]), payload
    assert sim.runs() == []


def test_all_documented_body_fields_are_accepted(sim: HexSimulator) -> None:
    body = {
        "inputParams": {"text_input_1": "Hello World", "numeric_input_1": 123},
        "dryRun": False,
        "updateCache": True,
        "updatePublishedResults": False,
        "useCachedSqlResults": True,
        "notifications": [
            {"type": "ALL", "includeSuccessScreenshot": True, "slackChannelIds": ["C0000000"]},
            {"type": "FAILURE", "includeSuccessScreenshot": False, "userIds": ["u1"], "groupIds": ["g1"]},
        ],
    }
    response = trigger(sim, body)
    assert response.status == 201
    recipients = [(n["recipientType"], n["recipient"]["id"]) for n in response.json()["notifications"]]
    assert recipients == [("SLACK_CHANNEL", "C0000000"), ("USER", "u1"), ("GROUP", "g1")]
    assert response.json()["notifications"][0]["screenshotFormat"] == ["png"]


def test_dry_run_answers_201_without_storing_a_run(sim: HexSimulator) -> None:
    response = trigger(sim, {"dryRun": True})
    assert response.status == 201
    assert sim.runs() == []
    assert call(sim, "GET", f"{RUNS}/{response.json()['runId']}").status == 404


def test_dry_run_still_validates(sim: HexSimulator) -> None:
    sim.configure_project(PROJECT, published=False)
    assert trigger(sim, {"dryRun": True}).status == 422


# --------------------------------------------------------------------------------------- limits


def test_status_reads_are_limited_to_30_per_minute(sim: HexSimulator, fake_clock: FakeClock) -> None:
    run_id = trigger(sim).json()["runId"]
    for _ in range(20):
        assert call(sim, "GET", f"{RUNS}/{run_id}").status == 200
    for _ in range(10):  # the run list shares the read budget
        assert call(sim, "GET", RUNS).status == 200

    limited = call(sim, "GET", f"{RUNS}/{run_id}")
    assert limited.status == 429
    assert limited.headers["Retry-After"] == "60"
    assert limited.json() == {"message": "Too many requests", "code": "TOO_MANY_REQUESTS", "issues": []}
    assert call(sim, "GET", RUNS).status == 429

    fake_clock.advance(45.5)
    assert call(sim, "GET", f"{RUNS}/{run_id}").headers["Retry-After"] == "15"  # rounded up
    fake_clock.advance(14.5)  # the window ends 60 s after its first request
    assert call(sim, "GET", f"{RUNS}/{run_id}").status == 200


def test_cancel_is_not_read_limited(sim: HexSimulator) -> None:
    run_id = trigger(sim).json()["runId"]
    for _ in range(30):
        call(sim, "GET", f"{RUNS}/{run_id}")
    assert call(sim, "DELETE", f"{RUNS}/{run_id}").status == 204


def test_run_starts_are_limited_per_minute_and_hour(sim: HexSimulator, fake_clock: FakeClock) -> None:
    for _ in range(2):
        assert all(trigger(sim).status == 201 for _ in range(20))
        limited = trigger(sim)
        assert limited.status == 429
        assert limited.json()["code"] == "TOO_MANY_REQUESTS"
        assert limited.headers["Retry-After"] == "60"
        fake_clock.advance(60)
    assert all(trigger(sim).status == 201 for _ in range(20))

    # 60 starts within the hour: the hourly window (opened at FAKE_EPOCH) blocks for longer.
    limited = trigger(sim)
    assert limited.status == 429
    assert limited.headers["Retry-After"] == str(3600 - 120)
    fake_clock.advance(60)
    assert trigger(sim).status == 429
    assert len(sim.runs()) == 60
    fake_clock.advance(3600 - 180)
    assert trigger(sim).status == 201


def test_rate_limits_can_be_switched_off(fake_clock: FakeClock) -> None:
    sim = HexSimulator(SIM_TOKEN, clock=fake_clock, rate_limits=False)
    for _ in range(70):
        assert trigger(sim).status == 201
        fake_clock.advance(10)  # keep below the kernel limit
    for _ in range(100):
        assert call(sim, "GET", RUNS, query="limit=1").status == 200


def test_more_than_25_active_runs_is_503_without_a_run(sim: HexSimulator, fake_clock: FakeClock) -> None:
    sim.configure_project(PROJECT, running_seconds=10_000)
    run_ids = [trigger(sim).json()["runId"] for _ in range(20)]
    fake_clock.advance(61)  # past the per-minute start limit
    run_ids += [trigger(sim).json()["runId"] for _ in range(5)]
    assert len(sim.runs()) == 25

    refused = trigger(sim)

    assert refused.status == 503
    assert refused.json() == {"code": "SERVICE_UNAVAILABLE", "message": "Service unavailable", "issues": []}
    assert len(sim.runs()) == 25
    assert trigger(sim, {"dryRun": True}).status == 201  # a dry run needs no kernel
    assert call(sim, "DELETE", f"{RUNS}/{run_ids[0]}").status == 204  # frees a kernel
    assert trigger(sim).status == 201


def test_kernel_limit_can_be_switched_off(fake_clock: FakeClock) -> None:
    sim = HexSimulator(SIM_TOKEN, clock=fake_clock, rate_limits=False, max_active_runs=None)
    sim.configure_project(PROJECT, running_seconds=10_000)
    assert all(trigger(sim).status == 201 for _ in range(30))


# ---------------------------------------------------------------------------------------- faults


def test_faults_are_consumed_in_order_then_normal_handling_resumes(sim: HexSimulator) -> None:
    run_id = trigger(sim).json()["runId"]
    sim.add_fault(
        Fault("GET", r"/runs/[^/]+$", 500, count=2),
        Fault("GET", r"/runs/[^/]+$", 429, retry_after=7),
    )

    statuses = [call(sim, "GET", f"{RUNS}/{run_id}") for _ in range(4)]

    assert [r.status for r in statuses] == [500, 500, 429, 200]
    assert statuses[0].json() == {
        "message": "Internal Server Error",
        "code": "INTERNAL_SERVER_ERROR",
        "issues": [],
    }
    assert statuses[2].headers["Retry-After"] == "7"
    assert [entry["status"] for entry in sim.requests_log()] == [201, 500, 500, 429, 200]


def test_fault_body_echoes_the_sent_token(sim: HexSimulator) -> None:
    sim.add_fault(Fault("POST", "/runs$", 422, body={"reason": "bad token {token}", "traceId": "t-1"}))
    sim.add_fault(Fault("*", ".", 502, body="<html>gateway says {token}</html>"))

    json_fault = trigger(sim)
    text_fault = call(sim, "GET", RUNS)

    assert json_fault.json() == {"reason": f"bad token {SIM_TOKEN}", "traceId": "t-1"}
    assert text_fault.status == 502
    assert text_fault.body == f"<html>gateway says {SIM_TOKEN}</html>".encode()
    assert text_fault.headers["Content-Type"].startswith("text/plain")
    assert sim.runs() == []


def test_faults_apply_before_authentication(sim: HexSimulator) -> None:
    sim.add_fault(Fault("POST", "/runs$", 503))
    response = call(sim, "POST", RUNS, token=None)
    assert response.status == 503


def test_fault_without_status_delays_normal_handling(sim: HexSimulator) -> None:
    sim.add_fault(Fault("POST", "/runs$", None, delay_seconds=2.5))
    slow = trigger(sim)
    assert (slow.status, slow.delay_seconds) == (201, 2.5)
    assert len(sim.runs()) == 1  # the run exists even if the client times out meanwhile
    assert trigger(sim).delay_seconds == 0.0


def test_fault_delay_and_no_body_statuses(sim: HexSimulator) -> None:
    sim.add_fault(
        Fault("DELETE", ".", 204, delay_seconds=1),
        Fault("GET", ".", 401),
        Fault("GET", ".", 200),
    )
    cancelled = call(sim, "DELETE", f"{RUNS}/x")
    assert (cancelled.status, cancelled.body, cancelled.delay_seconds) == (204, b"", 1)
    assert call(sim, "GET", RUNS).body == b"Unauthorized"
    assert call(sim, "GET", RUNS).json() == {}


def test_invalid_faults_are_rejected(sim: HexSimulator) -> None:
    with pytest.raises(ValueError, match="count"):
        sim.add_fault(Fault("GET", ".", 500, count=0))
    with pytest.raises(Exception, match="unterminated"):
        sim.add_fault(Fault("GET", "(", 500))


# ------------------------------------------------------------------------------ history and list


def test_history_seeds_completed_api_runs_newest_first(sim: HexSimulator) -> None:
    sim.configure_project(
        PROJECT,
        history=[
            30,
            45.5,
            {"durationSeconds": 60, "runTrigger": "SCHEDULED"},
            {"durationSeconds": 5, "status": "ERRORED"},
        ],
    )
    live_id = trigger(sim).json()["runId"]

    response = call(sim, "GET", RUNS, query="statusFilter=COMPLETED&runTriggerFilter=API")

    assert response.status == 200
    payload = response.json()
    runs = payload["runs"]
    assert [r["elapsedTime"] for r in runs] == [30_000.0, 45_500.0]
    assert all(r["status"] == "COMPLETED" and r["runTrigger"] == "API" for r in runs)
    assert runs[0]["endTime"] == iso(FAKE_EPOCH - 60)  # most recent run ended a minute ago
    assert runs[0]["startTime"] == iso(FAKE_EPOCH - 90)
    assert (payload["nextPage"], payload["previousPage"]) == (None, None)

    everything = call(sim, "GET", RUNS).json()["runs"]  # default: every trigger, every status
    assert everything[0]["runId"] == live_id
    assert [r["status"] for r in everything] == ["PENDING", "COMPLETED", "COMPLETED", "COMPLETED", "ERRORED"]
    assert [r["runTrigger"] for r in everything][3] == "SCHEDULED"
    assert len(call(sim, "GET", RUNS, query="runTriggerFilter=ALL").json()["runs"]) == 5


def test_history_is_replaced_when_reconfigured(sim: HexSimulator) -> None:
    sim.configure_project(PROJECT, history=[1, 2, 3])
    sim.configure_project(PROJECT, history=[4])
    assert [r["elapsedTime"] for r in call(sim, "GET", RUNS).json()["runs"]] == [4000.0]
    assert all(run["seeded"] for run in sim.runs())


def test_list_pages_with_limit_and_offset(sim: HexSimulator) -> None:
    sim.configure_project(PROJECT, history=[1, 2, 3, 4, 5])

    first = call(sim, "GET", RUNS, query="limit=2&runTriggerFilter=API").json()
    middle = call(sim, "GET", RUNS, query={"limit": ["2"], "offset": ["2"]}).json()  # type: ignore[arg-type]
    last = call(sim, "GET", RUNS, query="limit=2&offset=4").json()

    assert [r["elapsedTime"] for r in first["runs"]] == [1000.0, 2000.0]
    assert first["previousPage"] is None
    assert first["nextPage"] == f"http://hex.test{RUNS}?limit=2&offset=2&runTriggerFilter=API"
    assert [r["elapsedTime"] for r in middle["runs"]] == [3000.0, 4000.0]
    assert middle["previousPage"] == f"http://hex.test{RUNS}?limit=2&offset=0"
    assert [r["elapsedTime"] for r in last["runs"]] == [5000.0]
    assert last["nextPage"] is None


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=101", "limit=ten", "offset=-1", "statusFilter=DONE", "runTriggerFilter=CI"]
)
def test_list_rejects_bad_query_parameters(sim: HexSimulator, query: str) -> None:
    response = call(sim, "GET", RUNS, query=query)
    assert response.status == 400
    assert response.json()["code"] == "BAD_REQUEST"


def test_base_url_overrides_the_host_header(fake_clock: FakeClock) -> None:
    sim = HexSimulator(SIM_TOKEN, clock=fake_clock, base_url="https://hex.sim/")
    sim.configure_project(PROJECT, history=[1, 2])
    run = trigger(sim).json()
    assert run["runStatusUrl"] == f"https://hex.sim{RUNS}/{run['runId']}"
    assert run["runUrl"] == f"https://hex.sim/app/{PROJECT}/runs/{run['runId']}"
    assert call(sim, "GET", RUNS, query="limit=1").json()["nextPage"] == f"https://hex.sim{RUNS}?limit=1&offset=1"


def test_without_host_header_urls_point_at_loopback(sim: HexSimulator) -> None:
    response = sim.handle("POST", RUNS, "", {"Authorization": f"Bearer {SIM_TOKEN}"}, b"")
    assert response.json()["runStatusUrl"].startswith("http://127.0.0.1/api/v1/")


def test_list_only_shows_the_projects_runs(sim: HexSimulator) -> None:
    trigger(sim, project="other-project")
    assert call(sim, "GET", RUNS).json()["runs"] == []


# --------------------------------------------------------------------------- log, inspection, reset


def test_request_log_records_requests_without_the_token(sim: HexSimulator, fake_clock: FakeClock) -> None:
    trigger(sim, {"inputParams": {"a": 1}})
    fake_clock.advance(2)
    call(sim, "GET", f"{RUNS}?limit=5", headers={"User-Agent": "hex-action/0.1.0"})

    log = sim.requests_log()

    assert log[0] == {
        "time": FAKE_EPOCH,
        "method": "POST",
        "path": RUNS,
        "query": {},
        "headers": {"host": "hex.test"},
        "authorized": True,
        "status": 201,
        "body": {"inputParams": {"a": 1}},
    }
    assert (log[1]["time"], log[1]["path"], log[1]["query"]) == (FAKE_EPOCH + 2, RUNS, {"limit": ["5"]})
    assert log[1]["headers"]["user-agent"] == "hex-action/0.1.0"
    assert SIM_TOKEN not in json.dumps(log)
    log.clear()  # a copy
    assert len(sim.requests_log()) == 2


def test_reset_forgets_everything(sim: HexSimulator) -> None:
    sim.configure_project(PROJECT, published=False, history=[1])
    sim.add_fault(Fault("GET", ".", 500))
    trigger(sim)

    sim.reset()

    assert (sim.runs(), sim.requests_log()) == ([], [])
    assert trigger(sim).status == 201
    assert call(sim, "GET", RUNS).status == 200


# ------------------------------------------------------------------------------------ CLI parsing


@pytest.mark.parametrize(
    ("text", "seconds"), [("1.5", 1.5), ("2s", 2.0), ("500ms", 0.5), ("1m", 60.0), ("1h", 3600.0), (".5", 0.5)]
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "-1", "1d", "1 2"])
def test_parse_duration_rejects_garbage(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    "argv",
    [
        ["--host", "0.0.0.0"],
        ["--host", "example.com"],
        ["--project", "p=running:soon"],
        ["--project", "p=colour:blue"],
        ["--project", "no-equals-sign"],
        ["--final-status", "KILLED"],
    ],
)
def test_main_rejects_bad_arguments(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as excinfo:
        main(argv)
    assert excinfo.value.code == 2
    assert "usage:" in capsys.readouterr().err


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::1"])
def test_serve_refuses_non_loopback_hosts(host: str) -> None:
    with pytest.raises(ValueError, match="refusing to listen"):
        serve(HexSimulator("t"), host=host)


# ------------------------------------------------------------------------------------- HTTP layer


@pytest.fixture
def http() -> Iterator[requests.Session]:
    session = requests.Session()
    session.trust_env = False  # never route 127.0.0.1 through a proxy from the environment
    yield session
    session.close()


def test_http_run_lifecycle(sim_server: SimServer, http: requests.Session) -> None:
    assert sim_server.url.startswith("http://127.0.0.1:")
    sim_server.sim.configure_project(PROJECT, pending_seconds=0, running_seconds=60)
    auth = {"Authorization": f"Bearer {sim_server.token}"}
    api = f"{sim_server.url}/api/v1/projects/{PROJECT}/runs"

    created = http.post(api, json={"inputParams": {"a": 1}}, headers=auth, timeout=5)
    assert created.status_code == 201
    run = created.json()
    assert run["runStatusUrl"] == f"{api}/{run['runId']}"
    assert run["runUrl"].startswith(sim_server.url)

    status = http.get(run["runStatusUrl"], headers=auth, timeout=5)
    assert (status.status_code, status.json()["status"]) == (200, "RUNNING")

    cancelled = http.delete(run["runStatusUrl"], headers=auth, timeout=5)
    assert (cancelled.status_code, cancelled.content) == (204, b"")
    assert http.get(run["runStatusUrl"], headers=auth, timeout=5).json()["status"] == "KILLED"

    listed = http.get(api, params={"statusFilter": "KILLED"}, headers=auth, timeout=5)
    assert [r["runId"] for r in listed.json()["runs"]] == [run["runId"]]

    unauthorized = http.get(api, timeout=5)
    assert (unauthorized.status_code, unauthorized.text) == (401, "Unauthorized")


def test_http_admin_endpoints(sim_server: SimServer, http: requests.Session) -> None:
    admin = f"{sim_server.url}/_sim"
    auth = {"Authorization": f"Bearer {sim_server.token}"}
    api = f"{sim_server.url}/api/v1/projects/{PROJECT}/runs"

    assert http.get(f"{admin}/health", timeout=5).json() == {"ok": True}
    configured = http.post(
        f"{admin}/projects/{PROJECT}",
        json={"pendingSeconds": 0, "runningSeconds": 0, "finalStatus": "ERRORED", "history": [12]},
        timeout=5,
    )
    assert configured.status_code == 200
    added = http.post(
        f"{admin}/faults",
        json=[
            {"method": "POST", "pathRegex": "/runs$", "status": 429, "retryAfter": 2, "body": {"t": "{token}"}},
            {"method": "GET", "pathRegex": "/runs$", "status": 500, "count": 1},
        ],
        timeout=5,
    )
    assert added.json() == {"ok": True, "added": 2}

    limited = http.post(api, headers=auth, timeout=5)
    assert (limited.status_code, limited.headers["Retry-After"], limited.json()) == (
        429,
        "2",
        {"t": sim_server.token},
    )
    run_id = http.post(api, headers=auth, timeout=5).json()["runId"]
    assert http.get(f"{api}/{run_id}", headers=auth, timeout=5).json()["status"] == "ERRORED"
    assert http.get(api, headers=auth, timeout=5).status_code == 500

    log = http.get(f"{admin}/requests", timeout=5).json()
    assert [(e["method"], e["status"]) for e in log] == [("POST", 429), ("POST", 201), ("GET", 200), ("GET", 500)]
    assert all("authorization" not in e["headers"] for e in log)
    runs = http.get(f"{admin}/runs", timeout=5).json()
    assert sorted(r["status"] for r in runs) == ["COMPLETED", "ERRORED"]

    assert http.post(f"{admin}/projects/{PROJECT}", json={"published": False}, timeout=5).ok
    assert http.post(api, headers=auth, timeout=5).status_code == 422
    assert http.post(f"{admin}/faults", json={"method": "GET", "status": 503}, timeout=5).json()["added"] == 1

    assert http.post(f"{admin}/reset", timeout=5).json() == {"ok": True}
    assert http.get(f"{admin}/requests", timeout=5).json() == []
    assert http.get(f"{admin}/runs", timeout=5).json() == []
    assert http.post(api, headers=auth, timeout=5).status_code == 201


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/_sim/faults", b"{oops", 400),
        ("POST", "/_sim/faults", b'{"colour": "red"}', 400),
        ("POST", "/_sim/faults", b'{"pathRegex": "("}', 400),
        ("POST", "/_sim/projects/p", b'{"finalStatus": "DONE"}', 400),
        ("POST", "/_sim/projects/p", b'{"pendingSecs": 1}', 400),
        ("GET", "/_sim/nothing", b"", 404),
    ],
)
def test_http_admin_errors(
    sim_server: SimServer, http: requests.Session, method: str, path: str, body: bytes, status: int
) -> None:
    response = http.request(method, f"{sim_server.url}{path}", data=body, timeout=5)
    assert response.status_code == status
    assert "error" in response.json()
    assert sim_server.sim.requests_log() == []  # admin calls are not logged


def test_http_fault_delay_makes_the_client_time_out(sim_server: SimServer, http: requests.Session) -> None:
    sim_server.sim.add_fault(Fault("POST", "/runs$", None, delay_seconds=1.0))
    api = f"{sim_server.url}/api/v1/projects/{PROJECT}/runs"
    auth = {"Authorization": f"Bearer {sim_server.token}"}

    with pytest.raises(requests.exceptions.ReadTimeout):
        http.post(api, headers=auth, timeout=(5, 0.2))

    assert len(sim_server.sim.runs()) == 1  # the slow POST still created its run
    assert http.post(api, headers=auth, timeout=5).status_code == 201


def test_server_close_is_idempotent() -> None:
    server = serve(HexSimulator("t"))
    server.close()
    server.close()
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"{server.url}/_sim/health", timeout=2)


# -------------------------------------------------------------------------------- CLI subprocess


def test_cli_serves_until_sigterm(tmp_path: Path, http: requests.Session) -> None:
    port_file = tmp_path / "port"
    env = {**os.environ, "HEX_API_TOKEN": "cli-token", "PYTHONPATH": str(REPO_ROOT)}
    argv = [
        sys.executable,
        "-m",
        "hex_action.simulator",
        "--port",
        "0",
        "--port-file",
        str(port_file),
        "--project",
        f"{PROJECT}=pending:0,running:0,final:ERRORED,version:3",
    ]
    process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 15
        while not port_file.exists():
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "simulator did not start"
            time.sleep(0.05)
        port = int(port_file.read_text())
        api = f"http://127.0.0.1:{port}/api/v1/projects/{PROJECT}/runs"
        auth = {"Authorization": "Bearer cli-token"}

        created = http.post(api, headers=auth, timeout=5)
        assert created.status_code == 201
        status = http.get(created.json()["runStatusUrl"], headers=auth, timeout=5).json()
        assert (status["status"], status["projectVersion"]) == ("ERRORED", 3)
        assert http.get(api, headers={"Authorization": "Bearer sim-token"}, timeout=5).status_code == 401

        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    assert stdout == f"Hex simulator listening on http://127.0.0.1:{port}\n"
    assert not port_file.exists()


# ------------------------------------------------------------------------------------ GetProject


def test_get_project_answers_title_and_states(sim: HexSimulator) -> None:
    sim.configure_project(PROJECT, title="Daily revenue", archived=True)
    response = call(sim, "GET", f"/api/v1/projects/{PROJECT}")
    assert response.status == 200
    body = response.json()
    assert (body["id"], body["title"]) == (PROJECT, "Daily revenue")
    assert body["lastPublishedAt"] is not None
    assert body["archivedAt"] is not None
    assert body["trashedAt"] is None
    sim.configure_project(PROJECT, exists=False)
    assert call(sim, "GET", f"/api/v1/projects/{PROJECT}").status == 404
    assert call(sim, "DELETE", f"/api/v1/projects/{PROJECT}").status == 404  # only GET is served


def test_get_project_counts_against_the_read_limit(sim: HexSimulator) -> None:
    for _ in range(30):
        assert call(sim, "GET", f"/api/v1/projects/{PROJECT}").status == 200
    assert call(sim, "GET", f"/api/v1/projects/{PROJECT}/runs").status == 429


def test_project_option_sets_title_and_states() -> None:
    project_id, options = _parse_project_option("p=title:Daily revenue,archived:true,trashed:no,published:false")
    assert project_id == "p"
    assert options == {"title": "Daily revenue", "archived": True, "trashed": False, "published": False}


def test_http_admin_configures_title_and_states(sim_server: SimServer, http: requests.Session) -> None:
    admin = f"{sim_server.url}/_sim/projects/{PROJECT}"
    spec = {"title": "Weekly KPIs", "archived": True, "trashed": True}
    assert http.post(admin, json=spec, timeout=5).ok
    auth = {"Authorization": f"Bearer {sim_server.token}"}
    body = http.get(f"{sim_server.url}/api/v1/projects/{PROJECT}", headers=auth, timeout=5).json()
    assert body["title"] == "Weekly KPIs"
    assert body["archivedAt"] is not None
    assert body["trashedAt"] is not None
