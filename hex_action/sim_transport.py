"""An in-process transport: a `requests` adapter that answers from a `HexSimulator`.

With it the real client, engine and schedule run against the simulator on a simulated
clock, with no socket and no real sleep: for engine tests and for the benchmark's long runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from hex_action.simulator import HexSimulator


class SimulatorAdapter(BaseAdapter):
    """Mount on a session (`session.mount("http://sim", SimulatorAdapter(sim))`)."""

    def __init__(self, simulator: HexSimulator) -> None:
        super().__init__()
        self.simulator = simulator

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        url = request.url or ""
        path = "/" + url.split("://", 1)[-1].split("/", 1)[-1]
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        headers: dict[str, Any] = dict(request.headers)
        headers.setdefault("Host", url.split("://", 1)[-1].split("/", 1)[0])  # urllib3 would add it on the wire
        answer = self.simulator.handle(request.method or "GET", path, "", headers, body)
        if answer.reset:  # chaos mode: the connection was reset, with or without Hex acting
            raise requests.ConnectionError("Connection reset by peer (simulated)", request=request)
        response = requests.Response()
        response.status_code = answer.status
        response.headers = CaseInsensitiveDict(answer.headers)
        response._content = answer.body  # how requests itself builds a Response by hand
        response.url = url
        response.request = request
        response.reason = ""
        return response

    def close(self) -> None:
        """Nothing to release."""


def simulated_session(simulator: HexSimulator, base_url: str = "https://hex.sim") -> requests.Session:
    """A session whose requests to `base_url` are answered by `simulator`."""
    session = requests.Session()
    session.mount(base_url, SimulatorAdapter(simulator))
    return session
