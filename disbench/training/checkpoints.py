"""A run's checkpoints: what they hold, how they are written, loaded and checked.

A checkpoint holds everything needed to continue bit for bit on the same machine:
model, optimiser, step, the data sampler's NumPy state and torch's RNG state (and the
CPU threads the run chose, :mod:`disbench.training.threads`). It is written atomically,
so a kill never leaves half a file, and loaded without unpickling. The checkpoints of the
``save_at`` steps are also copied to ``checkpoints/step_N.pt`` and kept.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from disbench.errors import DisbenchError
from disbench.store import kept_checkpoint
from disbench.store.atomic import atomic_path

CHECKPOINT = "checkpoint.pt"
#: what to do about a damaged checkpoint, whichever command met it (eval's --overwrite rescores, it does not retrain)
RETRAIN = "train the run afresh: its `disbench train` command with --overwrite."


def training_state(
    method: Any, optimizer: Any, step: int, rng: np.random.Generator, cpu_threads: int | None = None,
    generator: Any = None,
) -> dict[str, Any]:
    """Everything a checkpoint holds: what the next step needs to continue bit for bit.

    Args:
        generator: the torch generator of the run's noise (a stacked run's member); None: torch's
            global generators, which a single run draws from. Either way the state looks the same.
    """
    import torch

    state = {
        "format": 1,
        "step": step,
        "method": method.state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else {},
        # the sampler's state holds 128-bit integers: JSON keeps them exact and loadable with weights_only
        "numpy_rng": json.dumps(rng.bit_generator.state),
        "torch_rng": torch.get_rng_state(),
    }
    if cpu_threads is not None:  # a resumed run keeps the threads (and so the float sums) it started with
        state["cpu_threads"] = cpu_threads
    if torch.cuda.is_available():
        state["cuda_rng"] = torch.cuda.get_rng_state_all()
    if generator is not None and generator.device.type == "cpu":
        state["torch_rng"] = generator.get_state()
    elif generator is not None:
        state["cuda_rng"][generator.device.index or 0] = generator.get_state()
    return state


def restore_training_state(
    state: dict[str, Any], method: Any, optimizer: Any, rng: np.random.Generator, generator: Any = None
) -> None:
    """Put ``method``, ``optimizer`` and the RNGs back where :func:`training_state` found them."""
    import torch

    method.load_state_dict(state["method"])
    if state["optimizer"]:
        optimizer.load_state_dict(state["optimizer"])
    rng.bit_generator.state = json.loads(state["numpy_rng"])
    if generator is not None and generator.device.type == "cpu":
        generator.set_state(state["torch_rng"].cpu())
    elif generator is not None:
        if "cuda_rng" in state:
            generator.set_state(state["cuda_rng"][generator.device.index or 0].cpu())
    else:
        torch.set_rng_state(state["torch_rng"].cpu())
        if "cuda_rng" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda_rng"])


def save_checkpoint(
    path: Path, method: Any, optimizer: Any, step: int, rng: np.random.Generator, cpu_threads: int | None = None,
    generator: Any = None,
) -> None:
    """Write :func:`training_state` atomically."""
    import torch

    state = training_state(method, optimizer, step, rng, cpu_threads, generator)
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def restore_checkpoint(
    path: Path, method: Any, optimizer: Any, rng: np.random.Generator, generator: Any = None
) -> tuple[int, int | None]:
    """Load a checkpoint written by :func:`save_checkpoint` into the run's objects.

    Returns ``(step, cpu_threads)``: the step to continue from and the CPU threads the run
    started with (None if not recorded). ``generator`` as in :func:`save_checkpoint`.
    """
    state = load_checkpoint(path, method.device)
    restore_training_state(state, method, optimizer, rng, generator)
    return int(state["step"]), state.get("cpu_threads")


def load_checkpoint(path: Path, device: str = "cpu") -> dict[str, Any]:
    """A checkpoint's contents, loaded without unpickling; a corrupt file is a DisbenchError."""
    import torch

    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:  # torch raises several types for truncated or foreign files
        raise DisbenchError(f"checkpoint {str(path)!r} is corrupt or unreadable ({type(exc).__name__}); {RETRAIN}") from None
    if not isinstance(state, dict) or "method" not in state or "step" not in state:
        raise DisbenchError(f"checkpoint {str(path)!r} is not a disbench checkpoint; {RETRAIN}")
    return state


def check_checkpoint_intact(path: Path) -> None:
    """Raise DisbenchError when a checkpoint is missing or damaged, without loading it: every
    member of torch's zip archive is read and checked against its CRC."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()
    except FileNotFoundError:
        raise DisbenchError(f"checkpoint {str(path)!r} is missing; {RETRAIN}") from None
    except (OSError, EOFError, zipfile.BadZipFile, ValueError) as exc:
        raise DisbenchError(f"checkpoint {str(path)!r} is corrupt or unreadable ({type(exc).__name__}); {RETRAIN}") from None
    if damaged is not None:
        raise DisbenchError(f"checkpoint {str(path)!r} is corrupt (its part {damaged!r} fails its checksum); {RETRAIN}")


def keep_checkpoint(run_dir: Path, step: int) -> None:
    """Copy the run's checkpoint (of ``step``) to ``checkpoints/step_<step>.pt``, atomically (``save_at``)."""
    import shutil

    with atomic_path(kept_checkpoint(run_dir, step)) as tmp:
        shutil.copyfile(Path(run_dir) / CHECKPOINT, tmp)
