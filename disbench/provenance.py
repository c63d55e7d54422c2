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


def environment_report() -> dict[str, Any]:
    """What ``disbench env`` prints: what a bug report needs."""
    import torch

    report: dict[str, Any] = dict(versions())
    report["platform"] = platform.platform()
    report["executable"] = sys.executable
    report["cpu cores"] = os.cpu_count()
    report["torch threads"] = torch.get_num_threads()
    report["cuda available"] = torch.cuda.is_available()
    if torch.cuda.is_available():
        report["cuda devices"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        report["cuda version"] = torch.version.cuda
    for var in ("DISBENCH_DATA", "DISBENCH_CACHE"):
        report[var] = os.environ.get(var, "(unset)")
    return report
