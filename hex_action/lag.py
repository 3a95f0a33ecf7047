"""Hex's read-after-write lag: a run the action has just created may be unknown to reads for a moment.

Hex answers the start 201, yet the first reads of the run may answer 404 (or 403, the same
stale view seen through an access check), and the project's run list may not show it yet: a
replica behind, a load balancer's stale view. Such answers about a run the action itself just
created (or whose start answer was lost) are retried for `READ_AFTER_WRITE_GRACE` seconds, every
`LAG_RETRY_EVERY`, before they count. A run given by `run-id` gets no such grace: it is not new.
"""

from __future__ import annotations

#: Answers that may only mean "not visible yet" for a run just created.
LAG_STATUSES = frozenset({403, 404})
#: How long answers in LAG_STATUSES on a new run are retried before they count (README, "How it waits").
READ_AFTER_WRITE_GRACE = 10.0
#: The pause between two such retries (the status reads' floor).
LAG_RETRY_EVERY = 2.0
