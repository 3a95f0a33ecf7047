"""The read of each project before its runs start: its name for people, and whether Hex can run it.

One GetProject per project answers both: its `title` names it in the log, the summary, `results`
and error messages, and `lastPublishedAt`, `archivedAt` and `trashedAt` say whether RunProject
could run it, so an unpublished, archived or trashed project is a clear error naming it instead
of Hex's 422 after the start. The read is a courtesy: when it fails (a token without the "Read
projects" scope, a passing fault, a spent read budget) the run goes ahead and the id is shown.
"""

from __future__ import annotations

from collections.abc import Callable

from hex_action.client import HexClient, ProjectInfo
from hex_action.clock import Clock
from hex_action.errors import HexApiError

#: The longest a project read may hold up a run start, retries and waits for the read budget included.
READ_WITHIN = 10.0


def unrunnable(info: ProjectInfo) -> str | None:
    """Why Hex would refuse to run the project, with the fix; None when it can run it."""
    name = f"'{info.title}' ({info.project_id})" if info.title else info.project_id
    drop = "or remove it from the workflow."
    if info.trashed:
        return f"Project {name} is in Hex's trash, so it cannot run. Restore it in Hex, {drop}"
    if info.archived:
        return f"Project {name} is archived in Hex, so it cannot run. Unarchive it in Hex, {drop}"
    if not info.published:
        return (
            f"Project {name} has never been published, and Hex runs only a project's published version. "
            "Publish it in Hex, then run the workflow again."
        )
    return None


class ProjectReader:
    """Reads each project once; remembers the answer, or that there is none."""

    def __init__(
        self, client: HexClient, clock: Clock, warn: Callable[[str], None], debug: Callable[[str], None]
    ) -> None:
        self._client = client
        self._clock = clock
        self._warn = warn
        self._debug = debug
        self._known: dict[str, ProjectInfo | None] = {}
        self._warned = False

    def known(self, project_id: str) -> bool:
        """Whether the project was read already (successfully or not)."""
        return project_id in self._known

    def info(self, project_id: str) -> ProjectInfo | None:
        """What was read of the project, or None (not read, or the read failed)."""
        return self._known.get(project_id)

    def read(self, project_id: str, deadline: float) -> ProjectInfo | None:
        """Read the project (at most until `deadline`, or READ_WITHIN from now); None when that fails.

        Raises `Interrupted` when a cancel arrives meanwhile.
        """
        if project_id in self._known:
            return self._known[project_id]
        info: ProjectInfo | None = None
        try:
            info = self._client.get_project(project_id, deadline=min(deadline, self._clock.now() + READ_WITHIN))
        except HexApiError as exc:
            text = f"Could not read project {project_id} from Hex, so ids stand for names: {exc.detail}"
            # Once: a token without the scope would say the same for every project. Not for a bad
            # token or an unknown project: the run's start says that, as an error.
            if exc.status_code in (401, 404):
                self._debug(text)
            elif not self._warned:
                self._warned = True
                self._warn(text)
        self._known[project_id] = info
        return info
