"""The simulator checked against Hex's own OpenAPI schemas for the run endpoints.

Schemas come from tests/data/hex-openapi-runs.json, an extract of two spec editions made by
scripts/extract_openapi.py (fresh clones do not have the full specs in ../shared/hex-openapi):

* "2026-08" (hex-openapi-2026-08.yml): every success response must validate as is.
* "latest" (hex-openapi-latest.json): validated too, with one known difference relaxed: its
  GetRunStatus/GetProjectRuns ``ProjectRun.projectVersion`` is a *string* ("1", or "draft" for notebook
  runs), while the 2026-08 edition, the docs' samples and RunProject's 201 in both editions say
  integer. The simulator answers an integer (one choice for all endpoints); the action must accept both.

Error bodies are validated against the edition that defines their shape: the newer
``{message, code, issues}`` envelope (RunProject/GetRunStatus/GetProjectRuns in "latest") or the tsoa
``{reason, traceId}`` body (CancelRun in both; the 2026-08 edition still lists it for every endpoint),
and ``InvalidParamPayload`` (422 on RunProject, 2026-08 only).
"""

from __future__ import annotations

import copy
import importlib.util
import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import SIM_TOKEN, FakeClock

from hex_action.simulator import RUN_STATUSES, HexSimulator, SimResponse

REPO_ROOT = Path(__file__).resolve().parent.parent
EXTRACT = Path(__file__).resolve().parent / "data" / "hex-openapi-runs.json"
SHARED_SPECS = REPO_ROOT.parent / "shared" / "hex-openapi"
GENERATOR = REPO_ROOT / "scripts" / "extract_openapi.py"

PROJECT = "019a26ea-83df-7003-a89d-abc76d32842e"  # a UUIDv7, like real Hex project ids
RUNS_SPEC_PATH = "/v1/projects/{projectId}/runs"
RUN_SPEC_PATH = "/v1/projects/{projectId}/runs/{runId}"
PROJECT_SPEC_PATH = "/v1/projects/{projectId}"
RUNS = f"/api/v1/projects/{PROJECT}/runs"
EDITIONS = ("2026-08", "latest")


# ------------------------------------------------------------------------------------ schema tools


@cache
def extract() -> dict[str, Any]:
    return json.loads(EXTRACT.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def to_json_schema(node: Any, spec: dict[str, Any]) -> Any:
    """Turn an OpenAPI 3.0 schema into plain JSON Schema: inline ``$ref``s, map ``nullable``."""
    if isinstance(node, list):
        return [to_json_schema(item, spec) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        # OpenAPI 3.0 ignores keywords beside $ref (e.g. a description), so only the target counts.
        _, _, kind, name = node["$ref"].split("/", 3)
        return to_json_schema(spec["components"][kind][name], spec)
    converted = {key: to_json_schema(value, spec) for key, value in node.items() if key != "nullable"}
    if node.get("nullable") is True:
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


def response_schema(edition: str, path: str, method: str, status: int) -> dict[str, Any]:
    spec = extract()["specs"][edition]
    response = spec["paths"][path][method]["responses"][str(status)]
    return to_json_schema(response["content"]["application/json"]["schema"], spec)  # type: ignore[no-any-return]


def request_body_schema(edition: str) -> dict[str, Any]:
    spec = extract()["specs"][edition]
    body = spec["paths"][RUNS_SPEC_PATH]["post"]["requestBody"]
    return to_json_schema(body["content"]["application/json"]["schema"], spec)  # type: ignore[no-any-return]


def query_parameter_schema(edition: str, name: str) -> dict[str, Any]:
    spec = extract()["specs"][edition]
    [parameter] = [p for p in spec["paths"][RUNS_SPEC_PATH]["get"]["parameters"] if p["name"] == name]
    return to_json_schema(parameter["schema"], spec)  # type: ignore[no-any-return]


def errors(schema: dict[str, Any], instance: Any) -> list[jsonschema.ValidationError]:
    validator_class = jsonschema.Draft202012Validator
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    return list(validator.iter_errors(instance))


def assert_valid(schema: dict[str, Any], instance: Any) -> None:
    problems = [f"{list(e.absolute_path)}: {e.message}" for e in errors(schema, instance)]
    assert not problems, problems


def relax_project_version(schema: dict[str, Any]) -> dict[str, Any]:
    """Accept the simulator's integer where hex-openapi-latest's ProjectRun says string (see module doc)."""
    relaxed = copy.deepcopy(schema)
    run_schemas = [relaxed]
    if "runs" in relaxed.get("properties", {}):
        run_schemas = [relaxed["properties"]["runs"]["items"]]
    for run_schema in run_schemas:
        assert run_schema["properties"]["projectVersion"]["type"] == "string"
        run_schema["properties"]["projectVersion"] = {"type": ["string", "integer"]}
    return relaxed


# ---------------------------------------------------------------------------------------- helpers


def call(sim: HexSimulator, method: str, path: str, body: Any = None, **headers: str) -> SimResponse:
    raw = b"" if body is None else json.dumps(body).encode()
    all_headers = {"Host": "app.hex.test", "Authorization": f"Bearer {SIM_TOKEN}", **headers}
    return sim.handle(method, path, "", all_headers, raw)


def run_in_each_phase(sim: HexSimulator, clock: FakeClock) -> list[dict[str, Any]]:
    """GetRunStatus bodies for every status and both optional shapes (notifications, stateEvents)."""
    bodies = []
    notifications = [{"type": "ALL", "includeSuccessScreenshot": True, "userIds": ["u1"], "subject": "Done"}]
    for final in ("COMPLETED", "ERRORED", "UNABLE_TO_ALLOCATE_KERNEL"):
        sim.configure_project(PROJECT, pending_seconds=1, running_seconds=2, final_status=final)
        run_id = call(sim, "POST", RUNS, {"notifications": notifications}).json()["runId"]
        for step in (0, 1.5, 2):
            clock.advance(step)
            for headers in ({}, {"enable-expanded-stats": "true"}):
                response = call(sim, "GET", f"{RUNS}/{run_id}", **headers)
                assert response.status == 200
                bodies.append(response.json())
    run_id = call(sim, "POST", RUNS).json()["runId"]
    assert call(sim, "DELETE", f"{RUNS}/{run_id}").status == 204
    bodies.append(call(sim, "GET", f"{RUNS}/{run_id}", **{"enable-expanded-stats": "true"}).json())
    assert {body["status"] for body in bodies} == set(RUN_STATUSES)
    return bodies


@pytest.fixture
def open_sim(fake_clock: FakeClock) -> HexSimulator:
    """No rate limits here: these tests make many reads in a row and are about shapes only."""
    return HexSimulator(SIM_TOKEN, clock=fake_clock, rate_limits=False)


# ---------------------------------------------------------------------------------- the extract


def load_generator() -> Any:
    spec = importlib.util.spec_from_file_location("extract_openapi", GENERATOR)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not SHARED_SPECS.is_dir(), reason="full specs (../shared/hex-openapi) not beside this checkout")
def test_extract_is_up_to_date_with_the_full_specs() -> None:
    generator = load_generator()
    assert EXTRACT.read_text(encoding="utf-8") == generator.render(generator.build_extract(SHARED_SPECS)), (
        "tests/data/hex-openapi-runs.json is stale: run python scripts/extract_openapi.py"
    )


def test_extract_names_its_sources_and_holds_the_run_endpoints() -> None:
    data = extract()
    assert "hex-openapi-2026-08.yml" in data["_note"]
    assert "hex-openapi-latest.json" in data["_note"]
    for edition in EDITIONS:
        spec = data["specs"][edition]
        assert sorted(spec["paths"]) == [PROJECT_SPEC_PATH, RUNS_SPEC_PATH, RUN_SPEC_PATH]
        # The simulator serves the spec paths under the server's /api prefix.
        assert spec["servers"] == [{"url": "https://app.hex.tech/api"}]
        assert sorted(spec["paths"][RUNS_SPEC_PATH]) == ["get", "post"]
        assert sorted(spec["paths"][RUN_SPEC_PATH]) == ["delete", "get"]
        assert sorted(spec["paths"][PROJECT_SPEC_PATH]) == ["get"]


@pytest.mark.parametrize("edition", EDITIONS)
def test_status_and_trigger_enums_match_the_spec(edition: str) -> None:
    status_schema = response_schema(edition, RUN_SPEC_PATH, "get", 200)["properties"]["status"]
    assert tuple(status_schema["enum"]) == RUN_STATUSES
    assert query_parameter_schema(edition, "runTriggerFilter")["enum"] is not None


# ------------------------------------------------------------------------------ success responses


@pytest.mark.parametrize("edition", EDITIONS)
@pytest.mark.parametrize(
    "body",
    [
        None,
        {"inputParams": {"text_input_1": "Hello World", "numeric_input_1": 123}},
        {"dryRun": True},
        {"notifications": [{"type": "SUCCESS", "includeSuccessScreenshot": True, "slackChannelIds": ["C0123456"]}]},
    ],
)
def test_trigger_201_matches_the_spec(open_sim: HexSimulator, edition: str, body: Any) -> None:
    response = call(open_sim, "POST", RUNS, body)
    assert response.status == 201
    # RunProject's 201 says projectVersion is an integer in both editions.
    assert_valid(response_schema(edition, RUNS_SPEC_PATH, "post", 201), response.json())


def test_status_200_matches_the_2026_08_spec_in_every_phase(open_sim: HexSimulator, fake_clock: FakeClock) -> None:
    schema = response_schema("2026-08", RUN_SPEC_PATH, "get", 200)
    for body in run_in_each_phase(open_sim, fake_clock):
        assert_valid(schema, body)


def test_status_200_matches_the_latest_spec_but_for_project_version(
    open_sim: HexSimulator, fake_clock: FakeClock
) -> None:
    schema = response_schema("latest", RUN_SPEC_PATH, "get", 200)
    relaxed = relax_project_version(schema)
    for body in run_in_each_phase(open_sim, fake_clock):
        assert_valid(relaxed, body)
        # The recorded difference, and the only one: the strict schema rejects just projectVersion.
        assert [(list(e.absolute_path), e.validator) for e in errors(schema, body)] == [(["projectVersion"], "type")]


@pytest.mark.parametrize("edition", EDITIONS)
@pytest.mark.parametrize("query", ["", "limit=2", "limit=2&offset=2", "statusFilter=COMPLETED&runTriggerFilter=API"])
def test_list_200_matches_the_spec(open_sim: HexSimulator, edition: str, query: str) -> None:
    open_sim.configure_project(PROJECT, history=[30, 40, {"durationSeconds": 50, "runTrigger": "SCHEDULED"}])
    call(open_sim, "POST", RUNS)
    response = open_sim.handle("GET", RUNS, query, {"Authorization": f"Bearer {SIM_TOKEN}"}, b"")
    assert response.status == 200
    payload = response.json()
    assert payload["runs"]
    schema = response_schema(edition, RUNS_SPEC_PATH, "get", 200)
    if edition == "latest":
        schema = relax_project_version(schema)
    assert_valid(schema, payload)


@pytest.mark.parametrize("edition", EDITIONS)
@pytest.mark.parametrize(
    "shape",
    [{}, {"title": "Daily revenue"}, {"published": False}, {"archived": True}, {"trashed": True, "archived": True}],
)
def test_get_project_200_matches_the_spec(open_sim: HexSimulator, edition: str, shape: dict[str, Any]) -> None:
    open_sim.configure_project(PROJECT, **shape)
    response = call(open_sim, "GET", f"/api/v1/projects/{PROJECT}")
    assert response.status == 200
    body = response.json()
    assert_valid(response_schema(edition, PROJECT_SPEC_PATH, "get", 200), body)
    assert body["id"] == PROJECT
    assert body["title"] == shape.get("title", f"Simulated project {PROJECT[:8]}")
    assert (body["lastPublishedAt"] is None) is (shape.get("published") is False)
    assert (body["archivedAt"] is not None) is shape.get("archived", False)
    assert (body["trashedAt"] is not None) is shape.get("trashed", False)


def test_get_project_404_matches_the_latest_spec(open_sim: HexSimulator) -> None:
    open_sim.configure_project(PROJECT, exists=False)
    response = call(open_sim, "GET", f"/api/v1/projects/{PROJECT}")
    assert response.status == 404
    assert_valid(response_schema("latest", PROJECT_SPEC_PATH, "get", 404), response.json())


@pytest.mark.parametrize("edition", EDITIONS)
def test_cancel_204_is_declared_without_a_body(open_sim: HexSimulator, edition: str) -> None:
    run_id = call(open_sim, "POST", RUNS).json()["runId"]
    response = call(open_sim, "DELETE", f"{RUNS}/{run_id}")
    declared = extract()["specs"][edition]["paths"][RUN_SPEC_PATH]["delete"]["responses"]["204"]
    assert "content" not in declared
    assert (response.status, response.body) == (204, b"")


# -------------------------------------------------------------------------------- error responses


@pytest.mark.parametrize("edition", EDITIONS)
def test_cancel_of_finished_run_422_is_a_tsoa_body(open_sim: HexSimulator, fake_clock: FakeClock, edition: str) -> None:
    run_id = call(open_sim, "POST", RUNS).json()["runId"]
    fake_clock.advance(60)
    response = call(open_sim, "DELETE", f"{RUNS}/{run_id}")
    assert response.status == 422
    assert_valid(response_schema(edition, RUN_SPEC_PATH, "delete", 422), response.json())


def test_unknown_input_422_is_an_invalid_param_payload(open_sim: HexSimulator) -> None:
    open_sim.configure_project(PROJECT, input_names=["region"])
    response = call(open_sim, "POST", RUNS, {"inputParams": {"regoin": "eu"}})
    assert response.status == 422
    schema = response_schema("2026-08", RUNS_SPEC_PATH, "post", 422)
    assert_valid(schema, response.json())
    spec = extract()["specs"]["2026-08"]
    assert_valid(to_json_schema({"$ref": "#/components/schemas/InvalidParamPayload"}, spec), response.json())


def _unpublished_trigger(sim: HexSimulator) -> tuple[str, str, SimResponse]:
    sim.configure_project(PROJECT, published=False)
    return RUNS_SPEC_PATH, "post", call(sim, "POST", RUNS)


def _unpublished_list(sim: HexSimulator) -> tuple[str, str, SimResponse]:
    sim.configure_project(PROJECT, published=False)
    return RUNS_SPEC_PATH, "get", call(sim, "GET", RUNS)


def _view_and_inputs(sim: HexSimulator) -> tuple[str, str, SimResponse]:
    return RUNS_SPEC_PATH, "post", call(sim, "POST", RUNS, {"inputParams": {"a": 1}, "viewId": "v"})


def _kernels_full(sim: HexSimulator) -> tuple[str, str, SimResponse]:
    sim.max_active_runs = 1
    sim.configure_project(PROJECT, running_seconds=600)
    assert call(sim, "POST", RUNS).status == 201
    return RUNS_SPEC_PATH, "post", call(sim, "POST", RUNS)


def _bad_body(sim: HexSimulator) -> tuple[str, str, SimResponse]:
    return RUNS_SPEC_PATH, "post", call(sim, "POST", RUNS, {"dryRun": "yes"})


def _bad_query(sim: HexSimulator) -> tuple[str, str, SimResponse]:
    return RUNS_SPEC_PATH, "get", sim.handle("GET", RUNS, "limit=500", {"Authorization": f"Bearer {SIM_TOKEN}"}, b"")


@pytest.mark.parametrize(
    ("make", "status"),
    [
        (_unpublished_trigger, 422),
        (_unpublished_list, 422),
        (_view_and_inputs, 422),
        (_kernels_full, 503),
        (_bad_body, 400),
        (_bad_query, 400),
    ],
)
def test_envelope_errors_match_the_latest_spec(
    open_sim: HexSimulator, make: Callable[[HexSimulator], tuple[str, str, SimResponse]], status: int
) -> None:
    path, method, response = make(open_sim)
    assert response.status == status
    body = response.json()
    assert_valid(response_schema("latest", path, method, status), body)
    assert body["code"] == response_schema("latest", path, method, status)["example"]["code"]
    # Recorded difference: the 2026-08 edition still documents tsoa bodies ({reason} required) for these
    # statuses. The simulator follows the newer envelope, so this body does not fit that edition.
    assert errors(response_schema("2026-08", path, method, status), body)


# -------------------------------------------------------------------------------- request handling


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"inputParams": {"text_input_1": "Hello World", "numeric_input_1": 123}},
        {"dryRun": True, "updatePublishedResults": False, "useCachedSqlResults": True, "updateCache": False},
        {"viewId": "view-123"},
        {"notifications": [{"type": "FAILURE", "includeSuccessScreenshot": False, "groupIds": ["g"]}]},
        # The docs' sample sends booleans as strings: a doc artefact the schema (and simulator) reject.
        {"dryRun": "false"},
        {"inputParams": ["a"]},
        {"viewId": 12},
        {"updateCacheResult": True},  # not a real field
        {"notifications": [{"type": "ALL"}]},
        {"notifications": [{"type": "EVERY", "includeSuccessScreenshot": True}]},
    ],
)
def test_simulator_accepts_exactly_the_bodies_the_2026_08_spec_allows(open_sim: HexSimulator, body: Any) -> None:
    spec_allows = not errors(request_body_schema("2026-08"), body)
    response = call(open_sim, "POST", RUNS, body)
    assert (response.status == 201) is spec_allows, response.body
    if not spec_allows:
        assert response.status == 400


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("limit", "1"),
        ("limit", "100"),
        ("limit", "0"),
        ("limit", "101"),
        ("offset", "0"),
        ("offset", "-1"),
        *[("statusFilter", status) for status in RUN_STATUSES],
        ("statusFilter", "DONE"),
        *[("runTriggerFilter", trigger) for trigger in ("API", "SCHEDULED", "APP_REFRESH", "ALL", "CI")],
    ],
)
@pytest.mark.parametrize("edition", EDITIONS)
def test_simulator_accepts_exactly_the_query_values_the_spec_allows(
    open_sim: HexSimulator, edition: str, name: str, value: str
) -> None:
    typed: Any = int(value) if value.lstrip("-").isdigit() else value
    spec_allows = not errors(query_parameter_schema(edition, name), typed)
    response = open_sim.handle("GET", RUNS, f"{name}={value}", {"Authorization": f"Bearer {SIM_TOKEN}"}, b"")
    assert response.status == (200 if spec_allows else 400)
