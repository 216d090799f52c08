"""Jobs run at once, where the first failure stops the rest and is raised as itself.

An anyio task group raises its children's errors wrapped in an ``ExceptionGroup``, which
no caller of this library catches (``except IngestError`` would miss it, and a report
would name the group instead of the cause). Every fan-out of the library goes through
:func:`run_all` instead, so that what ends it is the error that happened.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

import anyio

Job = Callable[[], Awaitable[object]]


async def run_all(jobs: Iterable[Job], *, first: type[Exception] | None = None) -> None:
    """Run ``jobs`` at once. The first to fail cancels the others (which are waited for)
    and its error is raised as itself; errors of type ``first``, if given, are raised
    before any other (a changed object explains the broken ranges beside it)."""
    errors: list[Exception] = []
    async with anyio.create_task_group() as group:

        async def run(job: Job) -> None:
            try:
                await job()
            except Exception as exc:
                errors.append(exc)
                group.cancel_scope.cancel()

        for job in jobs:
            group.start_soon(run, job)
    if errors:
        preferred = [exc for exc in errors if first is not None and isinstance(exc, first)]
        raise (preferred or errors)[0]
