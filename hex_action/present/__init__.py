"""Presenters: what each audience sees of a command, behind the engine's `Observer`.

The engine reports events (a run started, a status read, a step finished, a warning) and
the client reports retries; a presenter turns them, and the command's final `Outcome`,
into what its audience reads:

* `github` (`GitHubPresenter`): the runner's language: workflow commands, `::add-mask::`,
  step outputs in `GITHUB_OUTPUT`, the job summary;
* `text` (`TextPresenter`): plain lines on stderr for a person; no workflow command and
  never the token, in any form;
* `json` (`JsonPresenter`): the same lines on stderr, and one JSON document on stdout at the
  end, with the action's output names as keys.

The CLI chooses one (`choose`), once; nothing else knows which one listens.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from hex_action.errors import InputError
from hex_action.outcome import Observer, StepResult
from hex_action.present.model import Outcome
from hex_action.settings import Settings

if TYPE_CHECKING:  # annotations only: the client imports requests, which `--help` and input errors need not
    from hex_action.client import RetryWait, RunState

__all__ = ["FORMATS", "Outcome", "Presenter", "choose", "default_format"]

#: The presentations, by the name `--output` takes.
FORMATS = ("github", "text", "json")


class Presenter(Observer, Protocol):
    """An `Observer` that also shows the command's beginning, retries and final outcome."""

    def begin(self, settings: Settings, steps: Sequence[StepResult], command: str = "run") -> None:
        """`command` is about to send its first request; `steps` are filled in as it goes."""

    def retrying(self, wait: RetryWait) -> None:
        """A request failed in a way worth retrying, and the retry now waits."""

    def finish(self, outcome: Outcome) -> int:
        """Show the command's outcome (outputs, summary, verdict); return the exit code, which is
        a failure when what scripts or later steps read (outputs, summary, JSON) was lost."""

    def runs_listed(self, project_id: str, runs: Sequence[RunState], error: str | None = None) -> None:
        """The `runs` command's answer (newest first), or why there is none."""

    def input_error(self, error: InputError) -> None:
        """Invalid input: nothing was sent."""

    def internal_error(self, message: str) -> None:
        """A bug before any request was sent."""


def default_format(environ: Mapping[str, str]) -> str:
    """`github` inside a GitHub Actions job (`GITHUB_ACTIONS=true`), else `text`."""
    return "github" if environ.get("GITHUB_ACTIONS") == "true" else "text"


def choose(
    name: str, environ: Mapping[str, str], token: str, others: Sequence[str] = (), *, verbose: bool = False
) -> Presenter:
    """The presenter for `name` (one of FORMATS).

    `token` is the one in use; `others` are every other token in sight (a flag wins over
    HEX_API_TOKEN, which is still a secret): the command line's presenters show none of them.
    """
    if name == "github":
        from hex_action.present.github_presenter import GitHubPresenter  # noqa: PLC0415

        return GitHubPresenter(environ, token)
    from hex_action.present.text import JsonPresenter, TextPresenter  # noqa: PLC0415

    secrets = [token, *others]
    debug = verbose or environ.get("RUNNER_DEBUG") == "1"
    if name == "json":
        return JsonPresenter(secrets, debug=debug)
    return TextPresenter(secrets, debug=debug)
