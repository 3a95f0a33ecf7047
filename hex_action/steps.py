"""What to run: one `StepSpec` per Hex run. A single-project action is a pipeline of one step."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class StepSpec:
    """One Hex project run: what to send, and how long it may take."""

    name: str
    project_id: str
    input_params: dict[str, Any] | None = None
    update_published_results: bool = False
    use_cached_sql_results: bool = True
    view_id: str | None = None
    notifications: list[dict[str, Any]] | None = None
    dry_run: bool = False
    #: Longest wait for this step; None means the action's `timeout` alone bounds it.
    timeout: float | None = None
    #: Names of steps that must complete before this one starts.
    needs: tuple[str, ...] = field(default_factory=tuple)
    #: Wait on this existing run instead of starting one.
    existing_run_id: str | None = None

    def request_body(self) -> dict[str, Any]:
        """The RunProject body. Unset optional fields are left out, never sent as null."""
        body: dict[str, Any] = {
            "dryRun": self.dry_run,
            "updatePublishedResults": self.update_published_results,
            "useCachedSqlResults": self.use_cached_sql_results,
        }
        if self.input_params is not None:
            body["inputParams"] = self.input_params
        if self.view_id:
            body["viewId"] = self.view_id
        if self.notifications is not None:
            body["notifications"] = self.notifications
        return body
