"""What every run and leaderboard row records about the software and machine."""

from __future__ import annotations

import os
import platform
import sys
from typing import Any

import disbench


def resolve_device(requested: str = "auto") -> str:
    """``auto`` -> ``cuda`` when a GPU is visible, else ``cpu``; ``cuda`` without one is a UsageError."""
    from disbench.errors import UsageError

    if requested not in {"auto", "cpu", "cuda"} and not requested.startswith("cuda:"):
        raise UsageError(f"unknown device {requested!r}; use auto, cpu or cuda.")
    import torch

    has_cuda = torch.cuda.is_available()
    if requested.startswith("cuda") and not has_cuda:
        raise UsageError("--device cuda was asked for but no CUDA GPU is visible; use --device cpu or auto.")
    if requested == "auto":
        requested = "cuda" if has_cuda else "cpu"
    if requested == "cuda" and "LOCAL_RANK" in os.environ:
        return f"cuda:{int(os.environ['LOCAL_RANK'])}"  # torchrun: one GPU per process
    return requested


def device_description(device: str) -> str:
    if device.startswith("cuda"):
        import torch

        return f"{device} ({torch.cuda.get_device_name(torch.device(device))})"
    return f"cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def versions() -> dict[str, str]:
    """Versions of disbench, Python and the libraries that change numbers."""
    import numpy
    import sklearn
    import torch

    # str(): torch's version is a str subclass that YAML's safe dumper refuses
    return {
        "disbench": str(disbench.__version__),
        "python": platform.python_version(),
        "torch": str(torch.__version__),
        "numpy": str(numpy.__version__),
        "scikit-learn": str(sklearn.__version__),
    }


#: the libraries whose versions a bug report needs beyond :func:`versions` (import name, shown name)
REPORTED_LIBRARIES = (
    ("torchvision", "torchvision"), ("scipy", "scipy"), ("pandas", "pandas"), ("h5py", "h5py"),
    ("typer", "typer"), ("matplotlib", "matplotlib"),
)


def install_description() -> str:
    """How disbench is installed: ``editable from PATH (git COMMIT[, modified])``, ``wheel``, or a bare source tree."""
    import json
    import subprocess
    from importlib import metadata

    package_dir = os.path.dirname(os.path.abspath(disbench.__file__))
    source = os.path.dirname(package_dir)
    try:
        distribution = metadata.distribution("disbench")
        direct_url = json.loads(distribution.read_text("direct_url.json") or "{}")
    except (metadata.PackageNotFoundError, ValueError):
        distribution, direct_url = None, {}
    installed_at = os.path.abspath(str(distribution.locate_file(""))) if distribution is not None else ""
    if distribution is None:
        mode = "not installed (imported from a source tree)"
    elif package_dir.startswith(installed_at + os.sep) and not direct_url.get("dir_info", {}).get("editable"):
        mode = "wheel"
    elif direct_url.get("dir_info", {}).get("editable"):
        editable_source = direct_url.get("url", "").removeprefix("file://")
        mode = "editable" if os.path.abspath(editable_source) == source else f"editable install of {editable_source}, shadowed by"
    else:
        mode = "imported from a source tree"
    try:
        commit = subprocess.run(["git", "-C", source, "rev-parse", "--short=12", "HEAD"], capture_output=True,
                                text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", source, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
        revision = f" (git {commit}{', modified' if dirty else ''})"
    except (OSError, subprocess.SubprocessError):
        revision = ""
    return f"{mode} {source}{revision}" if mode != "wheel" else f"wheel in {installed_at}"


def environment_report() -> dict[str, Any]:
    """What ``disbench env`` prints: what a bug report needs."""
    from importlib import import_module

    import torch

    from disbench.datasets import locations

    report: dict[str, Any] = dict(versions())
    report["installed"] = install_description()
    for module, shown in REPORTED_LIBRARIES:
        try:
            report[shown] = str(import_module(module).__version__)
        except ImportError:
            report[shown] = "not installed"
    report["platform"] = platform.platform()
    report["executable"] = sys.executable
    report["cpu cores"] = os.cpu_count()
    report["torch threads"] = torch.get_num_threads()
    report["cuda available"] = torch.cuda.is_available()
    if torch.cuda.is_available():
        report["cuda devices"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        report["cuda version"] = torch.version.cuda
    data = os.environ.get(locations.DATA_ENV)
    data_path = os.path.abspath(os.path.expanduser(data)) if data else None
    report["data folder"] = (
        f"{data_path} ({'exists' if os.path.isdir(data_path) else 'does not exist'}; from ${locations.DATA_ENV})"
        if data_path else f"none (set ${locations.DATA_ENV} to the folder of released dataset files)"
    )
    cache = locations.cache_dir()
    origin = f"from ${locations.CACHE_ENV}" if os.environ.get(locations.CACHE_ENV) else "the default"
    report["cache folder"] = f"{cache.absolute()} ({'exists' if cache.is_dir() else 'does not exist yet'}; {origin})"
    return report


def available_memory() -> int | None:
    """Bytes of memory this process can still take: the machine's available memory, capped by
    the container's (cgroup v2) limit; None where neither can be read."""
    found: list[int] = []
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    found.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError):
        try:
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (OSError, ValueError, AttributeError):
            pass
    try:
        with open("/sys/fs/cgroup/memory.max") as limit, open("/sys/fs/cgroup/memory.current") as used:
            text = limit.read().strip()
            if text != "max":
                found.append(int(text) - int(used.read().strip()))
    except (OSError, ValueError):
        pass
    return min(found) if found else None


def require_memory(needed: int, what: str, fix: str) -> None:
    """Refuse (UsageError, one line) work whose arrays alone would not fit in the available memory,
    before it starts: the kernel's out-of-memory killer would end it without a word."""
    from disbench.errors import UsageError

    available = available_memory()
    if available is not None and needed > available:
        raise UsageError(f"{what} needs about {needed / 2**30:,.1f} GiB of memory; {available / 2**30:,.1f} GiB are available: {fix}.")
