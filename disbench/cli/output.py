"""Terminal output: data on stdout, progress and messages on stderr, colour only on a terminal."""

from __future__ import annotations

import functools
import sys
import threading
import time
from typing import Any, Callable, TypeVar

import typer
from typer.core import TyperGroup
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
    """Turn DisbenchError and file-system refusals into one line on stderr and an exit code.

    Anything else is a bug: one line asking for the ``--debug`` traceback.
    """

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
        except (typer.Exit, typer.Abort, SystemExit, BrokenPipeError):
            raise  # a closed pipe (`| head`) is not an error of the command: the group ends quietly
        except OSError as exc:
            if STATE["debug"]:
                raise
            message, code = describe_os_error(exc)
            stderr.print(f"[bold red]error:[/] {escape(message)}", highlight=False, markup=True)
            raise typer.Exit(code) from None
        except Exception as exc:
            if STATE["debug"]:
                raise
            if is_out_of_memory(exc):  # a size the user asked for, not a bug
                first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                stderr.print(
                    f"[bold red]error:[/] out of memory ({escape(first)}); lower the sizes asked for "
                    "(--set batch_size=..., --n-eval, a metric's points) or free memory.",
                    highlight=False,
                )
                raise typer.Exit(1) from None
            stderr.print(
                f"[bold red]internal error:[/] {type(exc).__name__}: {escape(str(exc))}. "
                "This is a bug in disbench: rerun with --debug and report the traceback.",
                highlight=False,
            )
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is an allocation that failed: NumPy's MemoryError, torch's CPU allocator
    or a GPU out of memory (recognised by name and message: torch is not imported here)."""
    return (
        isinstance(exc, MemoryError)
        or type(exc).__name__ == "OutOfMemoryError"
        or (isinstance(exc, RuntimeError) and "can't allocate memory" in str(exc))
    )


#: what the user can do about each kind of file-system refusal (errno name -> (problem, fix, exit code));
#: a wrong path is a usage error (2), a full or read-only disk a failure at run time (1)
_OS_ERRORS = {
    "EACCES": ("permission denied", "choose a path you can read and write, or change its permissions", 2),
    "EPERM": ("operation not permitted", "choose a path you can read and write, or change its permissions", 2),
    "EISDIR": ("is a folder, where a file is expected", "give a file name", 2),
    "ENOTDIR": ("is not a folder (a file is in the way)", "give a folder, or move the file aside", 2),
    "ENOENT": ("does not exist", "check the path", 2),
    "EEXIST": ("already exists and is in the way", "choose another path or move it aside", 2),
    "ENAMETOOLONG": ("has a name too long for the file system", "choose a shorter path", 2),
    "ENOSPC": ("cannot be written: no space left on the device", "free some space or write elsewhere", 1),
    "EDQUOT": ("cannot be written: disk quota exceeded", "free some space or write elsewhere", 1),
    "EROFS": ("is on a read-only file system", "write somewhere else", 2),
}


def describe_os_error(exc: OSError) -> tuple[str, int]:
    """One line (the path, what is wrong with it, what to do) and the exit code of a file-system error."""
    import errno

    name = errno.errorcode.get(exc.errno or 0, "")
    path = exc.filename if exc.filename is not None else None
    problem, fix, code = _OS_ERRORS.get(name, (exc.strerror or str(exc) or type(exc).__name__, "check the path and the disk", 1))
    where = f"{str(path)!r} " if path is not None else ""
    if exc.filename2 is not None:
        where = f"{str(path)!r} -> {str(exc.filename2)!r} "
    return f"{where}{problem}; {fix}.", code


class OneLineUsageErrors(TyperGroup):
    """The command group, printing a command-line mistake as one line, as every other error.

    Typer draws usage errors (an unknown option, a value that is not an integer) as a
    boxed block; the README promises one line on stderr and exit 2, which this keeps.
    """

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        args = list(sys.argv[1:] if args is None else args)
        if "--debug" in args[1:]:  # `disbench train ... --debug` means what `disbench --debug train ...` means
            args = ["--debug", *(arg for arg in args if arg != "--debug")]
        try:
            result = super().main(args=args, prog_name=prog_name, complete_var=complete_var,
                                  standalone_mode=False, **extra)
        except Exception as exc:
            # click's exceptions, recognised by their interface: typer vendors click, so never import it
            if not standalone_mode or STATE["debug"]:
                raise
            if not (hasattr(exc, "format_message") and hasattr(exc, "exit_code")):
                if type(exc).__name__ == "Abort":
                    stderr.print("[bold red]interrupted[/]")
                    sys.exit(130)
                raise
            message = exc.format_message()
            if type(exc).__name__ == "NoArgsIsHelpError":  # `disbench data`: the help is the message
                stderr.print(message, highlight=False, markup=False)
                sys.exit(exc.exit_code)
            context = getattr(exc, "ctx", None)
            hint = f" (see `{context.command_path} --help`)" if context is not None else ""
            stderr.print(f"[bold red]error:[/] {escape(' '.join(message.split()) + hint)}", highlight=False)
            sys.exit(exc.exit_code)
        if standalone_mode:
            sys.exit(result if isinstance(result, int) else 0)
        return result


def info(message: str) -> None:
    stderr.print(message, highlight=False, markup=False)


class _RichTask:
    def __init__(self, progress: Progress, task_id: Any) -> None:
        self._progress = progress
        self._task_id = task_id

    def advance(self, steps: int = 1, **fields: Any) -> None:
        status = "  ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in fields.items())
        # a new status without progress announces what starts now (e.g. the metric being computed):
        # draw it at once rather than at the next timed refresh, which a short step may never reach
        self._progress.update(self._task_id, advance=steps, status=status, refresh=steps == 0 and bool(fields))

    def close(self) -> None:
        self._progress.update(self._task_id, visible=False)


#: seconds between the progress lines written when stderr is not a terminal (a log file, a pipe)
HEARTBEAT_SECONDS = 45.0


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}h{seconds // 60 % 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"


class RichProgress:
    """The API's progress hook: Rich bars on a terminal's stderr; elsewhere (a log file, a pipe,
    a batch job) one line per running task every ``heartbeat_seconds``, so that a long training
    or evaluation is never silent for minutes."""

    def __init__(self, quiet: bool = False, heartbeat_seconds: float | None = None) -> None:
        self.quiet = quiet
        self.heartbeat_seconds = HEARTBEAT_SECONDS if heartbeat_seconds is None else heartbeat_seconds
        self._drawn = stderr.is_terminal
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[status]}"),
            console=stderr,
            transient=True,
            # off a terminal Rich draws nothing but a blank line: the heartbeat speaks instead
            disable=quiet or not self._drawn,
        )
        self._stopped = threading.Event()
        self._heartbeat: threading.Thread | None = None

    def __enter__(self) -> "RichProgress":
        self._progress.__enter__()
        if not self.quiet and not self._drawn:
            self._heartbeat = threading.Thread(target=self._beat, name="disbench-heartbeat", daemon=True)
            self._heartbeat.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stopped.set()
        if self._heartbeat is not None:
            self._heartbeat.join()
        self._progress.__exit__(*exc)

    def _beat(self) -> None:
        while not self._stopped.wait(self.heartbeat_seconds):
            for line in self.heartbeat_lines():
                stderr.print(line, highlight=False, markup=False)

    def heartbeat_lines(self) -> list[str]:
        """One line per running task: what, how far, for how long, and its status (the current loss or metric)."""
        lines = []
        for task in list(self._progress.tasks):
            if not task.visible or task.finished:
                continue
            done = f"{task.completed:.0f}/{task.total:.0f} ({task.percentage:.0f}%)" if task.total else f"{task.completed:.0f}"
            status = task.fields.get("status") or ""
            lines.append(f"[{time.strftime('%H:%M:%S')}] {task.description}: {done}, {_duration(task.elapsed or 0.0)} elapsed"
                         + (f", {status}" if status else ""))
        return lines

    def task(self, description: str, total: int | None, completed: int = 0) -> _RichTask:
        return _RichTask(self._progress, self._progress.add_task(description, total=total, completed=completed, status=""))

    def message(self, text: str) -> None:
        if not self.quiet:
            self._progress.console.print(text, highlight=False)
