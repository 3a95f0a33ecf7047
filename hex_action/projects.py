"""The read of each project before its runs start: its name for people, and whether Hex can run it.

One GetProject per project answers both: its `title` names it in the log, the summary, `results`
and error messages, and `lastPublishedAt`, `archivedAt` and `trashedAt` say whether RunProject
could run it, so an unpublished, archived or trashed project is a clear error naming it instead
of Hex's 422 after the start. The read is a courtesy, and never delays a run: when the read budget
has no room for it at that moment, the run starts (Hex's own answer then says whether it can run)
and its name is read once the runs are over; when the read fails (a token without the "Read
projects" scope, a passing fault) the id is shown.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from hex_action.client import HexClient, ProjectInfo
from hex_action.clock import Clock
from hex_action.errors import HexApiError
from hex_action.outcome import StepResult

#: The longest a project read may hold up a run start (retries of a failing read).
READ_WITHIN = 10.0
#: The longest the names still unknown when the runs are over may hold up the action's end: a
#: little more than the read budget's burst window (6 reads in 12 s), so that 6 names always fit.
NAMES_WITHIN = 15.0


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
        #: Projects not read before their run, for want of read budget at that moment.
        self._later: list[str] = []

    def before_start(self, project_id: str, deadline: float) -> ProjectInfo | None:
        """The project, read now if the read budget has room at once; None when unknown (yet).

        Raises `Interrupted` when a cancel arrives meanwhile.
        """
        now = self._clock.now()
        if project_id not in self._known and self._client.reads.next_allowed(now) > now:
            if project_id not in self._later:
                self._later.append(project_id)
            return None
        return self.read(project_id, deadline)

    def name_the_rest(self, results: Sequence[StepResult]) -> None:
        """Name the steps whose project was not read before their run, and those that never ran
        (skipped, say), waiting for the read budget at most NAMES_WITHIN in all.

        Raises `Interrupted` when a cancel arrives meanwhile.
        """
        deadline = self._clock.now() + NAMES_WITHIN
        never_read = [r.project_id for r in results if r.project_id not in self._known]
        for project_id in dict.fromkeys(self._later + never_read):
            if self._clock.now() >= deadline:
                break
            info = self.read(project_id, deadline, within=NAMES_WITHIN)
            for result in results:
                if info is not None and result.project_id == project_id:
                    result.project_name = info.title
        self._later.clear()

    def read(self, project_id: str, deadline: float, within: float = READ_WITHIN) -> ProjectInfo | None:
        """Read the project (at most until `deadline`, or `within` seconds from now); None when that fails.

        Raises `Interrupted` when a cancel arrives meanwhile.
        """
        if project_id in self._known:
            return self._known[project_id]
        info: ProjectInfo | None = None
        try:
            info = self._client.get_project(project_id, deadline=min(deadline, self._clock.now() + within))
        except HexApiError as exc:
            text = f"Could not read project {project_id} from Hex, so ids stand for names: {exc.detail}"
            # Once: a token without the scope would say the same for every project. Not for a bad
            # token or an unknown project (the run's start says that, as an error), nor for a read
            # budget with no room left (nothing is wrong).
            if exc.status_code in (401, 404, 429):
                self._debug(text)
            elif not self._warned:
                self._warned = True
                self._warn(text)
        self._known[project_id] = info
        return info
