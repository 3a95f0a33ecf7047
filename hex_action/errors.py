"""The action's exceptions and exit codes.

An `InputError` ends the action before any request, with exit code 2 (`cli.main`). A
`HexApiError` is handled by the engine as part of a step's outcome, which `run.exit_code`
turns into the exit code. The exceptions carry no exit codes themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_INPUT_ERROR = 2


class HexActionError(Exception):
    """Base class: anything that ends the action, or a step of it, with a message for the user."""


@dataclass(frozen=True)
class InputProblem:
    """One invalid input: which one, what is wrong, and how to fix it."""

    input_name: str
    problem: str
    fix: str

    def __str__(self) -> str:
        return f"Input '{self.input_name}': {self.problem} Fix: {self.fix}"


class InputError(HexActionError):
    """Invalid inputs, found before any request is sent (exit code 2)."""

    def __init__(self, problems: list[InputProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class HexApiError(HexActionError):
    """Hex answered with an error, or could not be reached.

    The message carries Hex's own words, its traceId and the likely fix. It never
    contains the API token: `client.HexClient` redacts it before raising.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        trace_id: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.status_code = status_code
        #: For a run start: Hex may have created the run although the call failed
        #: (a 500, a lost answer, a 2xx answer without a runId), so the action must look
        #: for it rather than assume not.
        self.maybe_started = False
        #: When Hex said (Retry-After) to try again, in seconds, for a 429 or 503.
        self.retry_after: float | None = None
        self.trace_id = trace_id
        self.hint = hint
        self.detail = message
        # Hex's words first, then its traceId, then the action's hint, marked as such: the
        # hint is a likely cause, not something Hex said.
        text = message + (f" (Hex traceId: {trace_id})" if trace_id else "")
        if hint:
            text = f"{text.rstrip('.')}. Hint: {hint}"
        super().__init__(text)


class Interrupted(BaseException):
    """Raised inside an interruptible wait when SIGINT or SIGTERM arrives.

    A BaseException, so that no `except Exception` in requests or urllib3 swallows it.
    `in_request` is False when it came while waiting between attempts: the request was then
    not on its way to Hex, which matters for a run start (no run can be half-made).
    """

    def __init__(self, *, in_request: bool = True) -> None:
        super().__init__()
        self.in_request = in_request
