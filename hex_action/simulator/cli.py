"""``python -m hex_action.simulator``: the command line that serves a simulator until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import os
import re
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from hex_action.simulator.chaos import Chaos
from hex_action.simulator.core import HexSimulator
from hex_action.simulator.server import loopback_host, serve
from hex_action.simulator.state import FINAL_STATUSES, check_final_status

_DURATION = re.compile(r"^\s*(?P<number>\d+(?:\.\d*)?|\.\d+)\s*(?P<unit>ms|s|m|h)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(text: str) -> float:
    """Parse ``1.5``, ``2s``, ``500ms``, ``1m`` or ``1h`` into seconds (ValueError otherwise)."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"not a duration: {text!r} (examples: 1.5, 2s, 500ms, 1m)")
    return float(match["number"]) * _UNIT_SECONDS[match["unit"]]


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"not a boolean: {text!r}")


def _parse_project_option(text: str) -> tuple[str, dict[str, Any]]:
    """Parse ``ID=running:5,final:ERRORED,pending:1`` into configure_project keyword arguments.

    Keys: pending, running (durations), final, published/exists/archived/trashed (booleans),
    version (int), inputs (names separated by ``/``), history (durations separated by ``/``),
    title (text without commas).
    """
    project_id, sep, spec = text.partition("=")
    if not project_id or not sep:
        raise ValueError(f"expected ID=key:value,...: {text!r}")
    options: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        key, colon, value = item.partition(":")
        if not colon:
            raise ValueError(f"expected key:value in {item!r}")
        if key == "pending":
            options["pending_seconds"] = parse_duration(value)
        elif key == "running":
            options["running_seconds"] = parse_duration(value)
        elif key == "final":
            check_final_status(value.upper())
            options["final_status"] = value.upper()
        elif key in ("published", "exists", "archived", "trashed"):
            options[key] = _parse_bool(value)
        elif key == "title":
            options["title"] = value
        elif key == "version":
            options["project_version"] = int(value)
        elif key == "inputs":
            options["input_names"] = [name for name in value.split("/") if name]
        elif key == "history":
            options["history"] = [parse_duration(d) for d in value.split("/") if d]
        else:
            raise ValueError(f"unknown project key {key!r} in {text!r}")
    return project_id, options


def _argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m hex_action.simulator",
        description="Serve a local fake of Hex's run API on 127.0.0.1 until SIGINT/SIGTERM.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port, 0 for any free port (default 8765)")
    parser.add_argument("--token", help='accepted bearer token (default: $HEX_API_TOKEN, else "sim-token")')
    parser.add_argument("--pending", type=parse_duration, default=1.0, help="default PENDING time (1s)")
    parser.add_argument("--running", type=parse_duration, default=3.0, help="default RUNNING time (3s)")
    parser.add_argument(
        "--final-status",
        default="COMPLETED",
        type=str.upper,
        choices=sorted(FINAL_STATUSES),
        help="default final status (COMPLETED)",
    )
    parser.add_argument(
        "--project",
        action="append",
        default=[],
        metavar="ID=key:value,...",
        help="per-project behaviour, e.g. ID=running:5,final:ERRORED,pending:1 (also published:false, "
        "exists:false, archived:true, trashed:true, title:Daily revenue, version:3, inputs:a/b, "
        "history:30/45s); repeatable",
    )
    parser.add_argument("--no-rate-limits", action="store_true", help="never answer 429")
    parser.add_argument(
        "--max-active-runs", type=int, default=25, help="kernel limit before 503, 0 for none (default 25)"
    )
    parser.add_argument(
        "--chaos", type=int, metavar="SEED", help="chaos mode: seeded random faults on every request (see chaos.py)"
    )
    parser.add_argument(
        "--chaos-rate", type=float, default=0.2, help="chaos mode: share of requests that meet a fault (0.2)"
    )
    parser.add_argument("--port-file", type=Path, help="write the bound port to this file (atomically)")
    return parser


def _write_port_file(path: Path, port: int) -> None:
    # Write then rename, so a reader polling for the file never sees it half written.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(f"{port}\n", encoding="utf-8")
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    """Run the simulator as a process until SIGINT/SIGTERM, then return 0.

    Bad usage (including a non-loopback ``--host``) exits with status 2 through argparse.
    """
    parser = _argument_parser()
    args = parser.parse_args(argv)
    try:
        host = loopback_host(args.host)
        projects = [_parse_project_option(text) for text in args.project]
    except ValueError as exc:
        parser.error(str(exc))
    token = args.token or os.environ.get("HEX_API_TOKEN") or "sim-token"
    sim = HexSimulator(
        token,
        default_pending_seconds=args.pending,
        default_running_seconds=args.running,
        default_final_status=args.final_status,
        rate_limits=not args.no_rate_limits,
        max_active_runs=args.max_active_runs or None,
        chaos=None if args.chaos is None else Chaos(args.chaos, rate=args.chaos_rate),
    )
    for project_id, options in projects:
        sim.configure_project(project_id, **options)

    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    wrote_port_file = False
    try:
        with serve(sim, host, args.port) as server:
            print(f"Hex simulator listening on {server.url}", flush=True)
            if args.port_file is not None:
                _write_port_file(args.port_file, server.port)
                wrote_port_file = True
            # Short waits so the signal handler's flag is seen promptly on every platform.
            while not stop.wait(0.2):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if wrote_port_file:
            args.port_file.unlink(missing_ok=True)  # the port is no longer served
    return 0
