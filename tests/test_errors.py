"""hex_action.errors: the exception hierarchy and the text each exception shows."""

from __future__ import annotations

from hex_action.errors import HexActionError, HexApiError, InputError, InputProblem, Interrupted


def test_hierarchy() -> None:
    assert issubclass(InputError, HexActionError)
    assert issubclass(HexApiError, HexActionError)
    # A BaseException, so that no `except Exception` in requests or urllib3 swallows a cancel.
    assert issubclass(Interrupted, BaseException)
    assert not issubclass(Interrupted, Exception)


def test_exceptions_carry_no_exit_codes_or_titles() -> None:
    # cli.main and run.exit_code decide exit codes; annotation titles are written where reported.
    for cls in (HexActionError, InputError, HexApiError):
        assert {"exit_code", "title"}.isdisjoint(vars(cls)), cls


def test_input_error_lists_every_problem() -> None:
    problems = [InputProblem("timeout", "'soon' is not a duration.", "use 15m."), InputProblem("wait", "no.", "yes.")]
    error = InputError(problems)
    assert error.problems == problems
    assert str(error) == "Input 'timeout': 'soon' is not a duration. Fix: use 15m.\nInput 'wait': no. Fix: yes."


def test_hex_api_error_text() -> None:
    error = HexApiError("Hex answered 404 Not Found to GET /x", status_code=404, trace_id="t-1", hint="Check it.")
    assert str(error) == "Hex answered 404 Not Found to GET /x (Hex traceId: t-1). Hint: Check it."
    assert str(HexApiError("Hex answered 401: Unauthorized.", hint="Check the token.")) == (
        "Hex answered 401: Unauthorized. Hint: Check the token."
    )
    assert (error.detail, error.status_code, error.trace_id, error.hint) == (
        "Hex answered 404 Not Found to GET /x",
        404,
        "t-1",
        "Check it.",
    )
    assert error.maybe_started is False
    assert str(HexApiError("down")) == "down"
