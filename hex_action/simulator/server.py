"""The simulator's HTTP layer: a threaded server on a loopback address, and its admin endpoints.

:func:`serve` wraps a :class:`~hex_action.simulator.core.HexSimulator` in a ``ThreadingHTTPServer``
on 127.0.0.1. API requests go to :meth:`HexSimulator.handle`; unauthenticated JSON endpoints under
``/_sim/`` let tests and demos in another process configure and inspect it.
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from hex_action.simulator.core import HexSimulator
from hex_action.simulator.faults import Fault
from hex_action.simulator.responses import SimResponse, envelope, json_response

_ADMIN_PROJECT_PATH = re.compile(r"^/_sim/projects/(?P<project>[^/]+)/?$")


def _admin_fault(spec: Any) -> Fault:
    if not isinstance(spec, dict):
        raise ValueError("a fault must be a JSON object")
    known = {"method", "pathRegex", "status", "count", "retryAfter", "body", "delaySeconds"}
    unknown = set(spec) - known
    if unknown:
        raise ValueError(f"unknown fault keys: {sorted(unknown)}")
    return Fault(
        method=str(spec.get("method", "*")),
        path_regex=str(spec.get("pathRegex", ".*")),
        status=None if spec.get("status") is None else int(spec["status"]),
        count=int(spec.get("count", 1)),
        retry_after=None if spec.get("retryAfter") is None else float(spec["retryAfter"]),
        body=spec.get("body"),
        delay_seconds=float(spec.get("delaySeconds", 0.0)),
    )


def _admin_project(sim: HexSimulator, project_id: str, spec: Any) -> None:
    if not isinstance(spec, dict):
        raise ValueError("a project configuration must be a JSON object")
    known = {
        "pendingSeconds",
        "runningSeconds",
        "finalStatus",
        "published",
        "exists",
        "inputNames",
        "history",
        "projectVersion",
        "title",
        "archived",
        "trashed",
    }
    unknown = set(spec) - known
    if unknown:
        raise ValueError(f"unknown project keys: {sorted(unknown)}")

    def optional_float(key: str) -> float | None:
        return None if spec.get(key) is None else float(spec[key])

    sim.configure_project(
        project_id,
        pending_seconds=optional_float("pendingSeconds"),
        running_seconds=optional_float("runningSeconds"),
        final_status=spec.get("finalStatus"),
        published=bool(spec.get("published", True)),
        exists=bool(spec.get("exists", True)),
        input_names=spec.get("inputNames"),
        history=spec.get("history"),
        project_version=int(spec.get("projectVersion", 1)),
        title=None if spec.get("title") is None else str(spec["title"]),
        archived=bool(spec.get("archived", False)),
        trashed=bool(spec.get("trashed", False)),
    )


def _handle_admin(sim: HexSimulator, method: str, path: str, raw: bytes) -> SimResponse:
    """Unauthenticated JSON endpoints that let tests and demos drive a simulator in another process."""
    try:
        payload = json.loads(raw) if raw.strip() else None
    except ValueError:
        return json_response(400, {"error": "body is not valid JSON"})
    try:
        if method == "GET" and path in ("/_sim/health", "/_sim/health/"):
            return json_response(200, {"ok": True})
        if method == "GET" and path in ("/_sim/requests", "/_sim/requests/"):
            return json_response(200, sim.requests_log())
        if method == "GET" and path in ("/_sim/runs", "/_sim/runs/"):
            return json_response(200, sim.runs())
        if method == "POST" and path in ("/_sim/reset", "/_sim/reset/"):
            sim.reset()
            return json_response(200, {"ok": True})
        if method == "POST" and path in ("/_sim/faults", "/_sim/faults/"):
            specs = payload if isinstance(payload, list) else [payload]
            faults = [_admin_fault(spec) for spec in specs]
            sim.add_fault(*faults)
            return json_response(200, {"ok": True, "added": len(faults)})
        match = _ADMIN_PROJECT_PATH.match(path)
        if method == "POST" and match is not None:
            _admin_project(sim, match["project"], payload if payload is not None else {})
            return json_response(200, {"ok": True, "projectId": match["project"]})
    except (ValueError, TypeError, KeyError, re.error) as exc:
        return json_response(400, {"error": str(exc)})
    return json_response(404, {"error": f"no admin endpoint {method} {path}"})


class _SimHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], sim: HexSimulator) -> None:
        self.sim = sim
        super().__init__(address, _SimRequestHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet when a client drops a kept-alive connection (a process that exits does)."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _SimRequestHandler(BaseHTTPRequestHandler):
    server: _SimHTTPServer
    # HTTP/1.1 so clients can keep connections alive, as they would against Hex.
    protocol_version = "HTTP/1.1"
    server_version = "HexSimulator/1"

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: the simulator's own request log is the record."""

    def _dispatch(self) -> None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self._write(envelope(411, "Length required", ["Send a Content-Length header"]))
            self.close_connection = True
            return
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        url = urlsplit(self.path)
        if url.path.startswith("/_sim/"):
            response = _handle_admin(self.server.sim, self.command, url.path, raw)
        else:
            headers = dict(self.headers.items())
            response = self.server.sim.handle(self.command, url.path, url.query, headers, raw)
        if response.delay_seconds > 0:
            time.sleep(response.delay_seconds)  # a scripted slow answer (Fault.delay_seconds)
        if response.reset:  # chaos: no answer, a TCP reset (linger 0) instead of a clean close
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        try:
            self._write(response)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (e.g. its read timeout fired during a delay): nothing to answer.
            self.close_connection = True

    def _write(self, response: SimResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.status != 204:
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if response.status != 204 and self.command != "HEAD":
            self.wfile.write(response.body)
        self.wfile.flush()


class SimServer:
    """A running HTTP server around a :class:`HexSimulator` (see :func:`serve`); a context manager."""

    def __init__(self, sim: HexSimulator, httpd: ThreadingHTTPServer, thread: threading.Thread) -> None:
        self.sim = sim
        self._httpd = httpd
        self._thread = thread
        host, port = httpd.server_address[:2]
        self.host = str(host)
        self.port = int(port)
        #: Base URL, e.g. ``http://127.0.0.1:8765`` (the API lives under ``{url}/api/v1``).
        self.url = f"http://{self.host}:{self.port}"

    @property
    def token(self) -> str:
        """The bearer token the simulator accepts."""
        return self.sim.token

    def close(self) -> None:
        """Stop serving and release the port (idempotent)."""
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._thread.join()
        self._httpd.server_close()

    def __enter__(self) -> SimServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def loopback_host(host: str) -> str:
    """Return an IPv4 loopback address for ``host`` or raise ValueError: the simulator never listens
    on a reachable interface (it has no real security and its admin endpoints need no auth)."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is None or address.version != 4 or not address.is_loopback:
        raise ValueError(f"refusing to listen on {host!r}: use a loopback address such as 127.0.0.1")
    return host


def serve(sim: HexSimulator, host: str = "127.0.0.1", port: int = 0) -> SimServer:
    """Serve ``sim`` over HTTP on a loopback address in a daemon thread (``port=0``: any free port)."""
    httpd = _SimHTTPServer((loopback_host(host), port), sim)
    thread = threading.Thread(target=httpd.serve_forever, name="hex-simulator", daemon=True)
    thread.start()
    return SimServer(sim, httpd, thread)
