"""The release: scripts/release_action_yml.py (action.yml of a release commit names the image by digest)
and the release workflow's shape (what it publishes, with which permissions, after what)."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "release_action_yml.py"
DIGEST = "sha256:" + "ab" * 32
IMAGE = "ghcr.io/hex-action/hex-action"
REFERENCE = f"docker://{IMAGE}@{DIGEST}"


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("release_action_yml", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


release = _load_script()
ACTION_TEXT = (ROOT / "action.yml").read_text(encoding="utf-8")


def test_rewrite_changes_only_the_image_line() -> None:
    result = release.rewrite(ACTION_TEXT, REFERENCE)
    before, after = ACTION_TEXT.splitlines(), result.splitlines()
    changed = [(old, new) for old, new in zip(before, after, strict=True) if old != new]
    assert changed == [("  image: Dockerfile", f"  image: {REFERENCE}")]
    parsed: dict[str, Any] = yaml.safe_load(result)
    assert parsed["runs"] == {"using": "docker", "image": REFERENCE}
    assert result.endswith("\n") == ACTION_TEXT.endswith("\n")


def test_rewrite_keeps_quotes_out_and_comments_in() -> None:
    text = "name: x\ndescription: y\nruns:\n  using: docker\n  image: 'Dockerfile'   # built by the runner\n"
    result = release.rewrite(text, REFERENCE)
    assert result.splitlines()[-1] == f"  image: {REFERENCE}  # built by the runner"
    assert yaml.safe_load(result)["runs"]["image"] == REFERENCE


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (ACTION_TEXT.replace("image: Dockerfile", f"image: {REFERENCE}"), "already released"),
        ("name: x\nruns:\n  using: node24\n  main: index.js\n", "not a Docker container action"),
        ("name: x\nruns:\n  using: docker\n  image: other/Dockerfile\n", "not 'Dockerfile'"),
        # The value is right but on a flow mapping: no single line to rewrite, refused rather than guessed.
        ("name: x\nruns: {using: docker, image: Dockerfile}\n", "no single top-level `runs:` block"),
    ],
    ids=["already-released", "not-docker", "other-dockerfile", "flow-mapping"],
)
def test_rewrite_refuses_what_it_cannot_rewrite_exactly(text: str, message: str) -> None:
    with pytest.raises(release.ReleaseError, match=message):
        release.rewrite(text, REFERENCE)


@pytest.mark.parametrize(
    ("image", "digest", "message"),
    [
        ("ghcr.io/Hex-Action/hex-action", DIGEST, "lowercase registry image"),
        ("ghcr.io/hex-action/hex-action:1.0.0", DIGEST, "no tag"),
        ("hex-action/hex-action", DIGEST, "registry image"),
        (IMAGE, "sha256:abc", "64 lowercase hex"),
        (IMAGE, DIGEST.upper(), "64 lowercase hex"),
        (IMAGE, "1.0.0", "64 lowercase hex"),
    ],
)
def test_image_reference_checks_name_and_digest(image: str, digest: str, message: str) -> None:
    with pytest.raises(release.ReleaseError, match=message):
        release.image_reference(image, digest)


def test_command_line_writes_the_release_action_yml(tmp_path: Path) -> None:
    output = tmp_path / "action.yml"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--image", IMAGE, "--digest", DIGEST, "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert yaml.safe_load(output.read_text(encoding="utf-8"))["runs"]["image"] == REFERENCE
    assert (ROOT / "action.yml").read_text(encoding="utf-8") == ACTION_TEXT, "the source action.yml is untouched"


def test_command_line_refuses_bad_input_with_exit_2_and_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "action.yml"
    target.write_text(ACTION_TEXT, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--image", IMAGE, "--digest", "latest", "--file", str(target)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "--digest 'latest'" in proc.stderr
    assert target.read_text(encoding="utf-8") == ACTION_TEXT


# ----------------------------------------------------------------------------- the workflow

WORKFLOW: dict[str, Any] = yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text("utf-8"))
JOBS: dict[str, Any] = WORKFLOW["jobs"]


def _needs(job: str) -> set[str]:
    """Every job `job` waits for, directly or not."""
    direct = JOBS[job].get("needs", [])
    direct = [direct] if isinstance(direct, str) else direct
    found = set(direct)
    for name in direct:
        found |= _needs(name)
    return found


def _uses(job: str) -> list[str]:
    return [step["uses"].split("@")[0] for step in JOBS[job].get("steps", []) if "uses" in step]


def _job_using(action: str) -> list[str]:
    return [name for name in JOBS if action in _uses(name)]


def test_every_publishing_job_waits_for_ci() -> None:
    for job in ("image", "pypi", "release"):
        assert "ci" in _needs(job), job


def test_the_release_commit_names_the_image_the_image_job_pushed() -> None:
    (tagger,) = [name for name, job in JOBS.items() if "release_action_yml.py" in str(job.get("steps", ""))]
    assert "image" in _needs(tagger)
    script = str(JOBS[tagger]["steps"])
    assert "needs.image.outputs.digest" in script
    assert "needs.image.outputs.name" in script


def test_publishing_permissions_are_granted_per_job_and_only_where_used() -> None:
    assert WORKFLOW["permissions"] == {}
    writers = {
        name: {scope for scope, level in (job.get("permissions") or {}).items() if level == "write"}
        for name, job in JOBS.items()
    }
    assert writers["image"] == {"packages", "id-token", "attestations"}
    assert writers["pypi"] == {"id-token"}
    assert JOBS["pypi"]["environment"]["name"] == "pypi"
    assert "contents" in writers["release"]
    for name, scopes in writers.items():
        if "id-token" in scopes:
            assert name in {"image", "pypi", "package"}, name


def test_image_is_multi_arch_and_attested() -> None:
    build = next(s for s in JOBS["image"]["steps"] if s.get("uses", "").startswith("docker/build-push-action@"))
    assert set(build["with"]["platforms"].split(",")) == {"linux/amd64", "linux/arm64"}
    assert str(build["with"]["push"]).lower() == "true"
    assert "actions/attest-build-provenance" in _uses("image")
    assert "actions/attest-build-provenance" in _uses("package")


def test_pypi_is_published_by_trusted_publishing_without_a_token() -> None:
    text = str(JOBS["pypi"])
    assert "--trusted-publishing always" in text
    assert "secrets." not in text
    assert "UV_PUBLISH_TOKEN" not in text
    assert "password" not in text.lower()


# ----------------------------------------------------------------------- the GitLab example


def test_gitlab_example_runs_the_images_entrypoint_with_the_token_from_the_environment() -> None:
    example: dict[str, Any] = yaml.safe_load((ROOT / "examples" / "gitlab" / ".gitlab-ci.yml").read_text("utf-8"))
    (job,) = [job for name, job in example.items() if isinstance(job, dict) and "script" in job]
    assert job["image"]["name"].startswith("ghcr.io/hex-action/hex-action:")
    assert job["image"]["entrypoint"] == [""], "GitLab needs a shell for `script`"
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    entrypoint = json.loads(dockerfile.split("ENTRYPOINT", 1)[1].strip().splitlines()[0])
    command = " ".join(job["script"])
    # The same interpreter flags and script as the ENTRYPOINT, through `python` on the image's PATH.
    assert command.startswith(" ".join(["python", *entrypoint[1:]]) + " "), command
    assert "HEX_API_TOKEN" not in command
    assert "--api-token" not in command
    timeout = re.search(r"--timeout (\d+)h", command)
    assert timeout is not None
    assert int(job["timeout"].removesuffix("m")) > int(timeout[1]) * 60, "the job outlives --timeout"
