"""The one reporting hook between the API (which never prints) and the CLI.

The API calls ``progress.task(description, total)`` and advances the returned
task; the CLI passes a Rich implementation that draws on stderr, tests pass
nothing and get :class:`NullProgress`.
"""

from __future__ import annotations

from typing import Any, Protocol


class ProgressTask(Protocol):
    def advance(self, steps: int = 1, **fields: Any) -> None: ...

    def close(self) -> None: ...


class Progress(Protocol):
    def task(self, description: str, total: int | None, completed: int = 0) -> ProgressTask: ...

    def message(self, text: str) -> None: ...


class _NullTask:
    def advance(self, steps: int = 1, **fields: Any) -> None:
        pass

    def close(self) -> None:
        pass


class NullProgress:
    """Reports nothing."""

    def task(self, description: str, total: int | None, completed: int = 0) -> ProgressTask:
        return _NullTask()

    def message(self, text: str) -> None:
        pass
