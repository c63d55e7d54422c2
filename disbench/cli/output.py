"""Terminal output: data on stdout, progress and messages on stderr, colour only on a terminal."""

from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from disbench.errors import DisbenchError

stdout = Console(soft_wrap=True)
stderr = Console(stderr=True, soft_wrap=True)

#: set by the root callback
STATE: dict[str, Any] = {"debug": False}

F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(command: F) -> F:
    """Turn DisbenchError into one line on stderr and its exit code (a traceback only with --debug)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except DisbenchError as exc:
            if STATE["debug"]:
                raise
            stderr.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, markup=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            stderr.print("[bold red]interrupted[/]")
            raise typer.Exit(130) from None
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except Exception as exc:
            if STATE["debug"]:
                raise
            stderr.print(
                f"[bold red]internal error:[/] {type(exc).__name__}: {escape(str(exc))}. "
                "This is a bug in disbench: rerun with --debug and report the traceback.",
                highlight=False,
            )
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def info(message: str) -> None:
    stderr.print(message, highlight=False, markup=False)


class _RichTask:
    def __init__(self, progress: Progress, task_id: Any) -> None:
        self._progress = progress
        self._task_id = task_id

    def advance(self, steps: int = 1, **fields: Any) -> None:
        status = "  ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in fields.items())
        self._progress.update(self._task_id, advance=steps, status=status)

    def close(self) -> None:
        self._progress.update(self._task_id, visible=False)


class RichProgress:
    """The API's progress hook drawn as Rich bars on stderr."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[status]}"),
            console=stderr,
            transient=True,
            disable=quiet,
        )

    def __enter__(self) -> "RichProgress":
        self._progress.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._progress.__exit__(*exc)

    def task(self, description: str, total: int | None, completed: int = 0) -> _RichTask:
        return _RichTask(self._progress, self._progress.add_task(description, total=total, completed=completed, status=""))

    def message(self, text: str) -> None:
        if not self.quiet:
            self._progress.console.print(text, highlight=False)
