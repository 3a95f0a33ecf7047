"""`scripts/docker-env.sh --remove` (what `make clean` runs) deletes only a state dir it made.

These use a throwaway HEX_ACTION_DOCKER_DIR with no engine in it, so they start and stop nothing;
the container tests exercise the real engine.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "docker-env.sh"


def _remove(state_dir: Path) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"HEX_ACTION_DOCKER_DIR": str(state_dir)}
    return subprocess.run([str(SCRIPT), "--remove"], env=env, capture_output=True, text=True, timeout=60, check=False)


def test_remove_deletes_the_state_dir_it_made(tmp_path: Path) -> None:
    state = tmp_path / "hex-action-docker"
    (state / "data" / "image").mkdir(parents=True)
    (state / "lock").touch()
    (state / "rootfs-bookworm-x86_64.tar").write_bytes(b"x" * 1024)
    proc = _remove(state)
    assert proc.returncode == 0, proc.stderr
    assert not state.exists()
    assert "no private dockerd running" in proc.stderr
    assert f"removed {state}" in proc.stderr


def test_remove_refuses_a_directory_it_did_not_make(tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "keep.txt").write_text("mine")
    proc = _remove(precious)
    assert proc.returncode != 0
    assert "not removing it" in proc.stderr
    assert (precious / "keep.txt").read_text() == "mine"


def test_remove_without_a_state_dir_is_a_no_op(tmp_path: Path) -> None:
    proc = _remove(tmp_path / "never-created")
    assert proc.returncode == 0, proc.stderr
    assert "no state dir" in proc.stderr
