"""Space x factor R^2 heatmap (the figure of von Kugelgen et al. and Eastwood et al.)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from disbench.errors import UsageError


def write_r2_heatmap(matrix, path: str | Path, title: str = "R$^2$ per space and factor") -> Path:
    """Write a heatmap PNG of R^2 values, rows = spaces, columns = factors, atomically.

    Args:
        matrix: ``pandas.DataFrame`` of R^2 values (index: space names, columns: factor names).
        path: the PNG to write (its folder must exist).
        title: figure title.

    Returns:
        The written path.

    Raises:
        UsageError: an empty matrix or a missing folder.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    if matrix.size == 0:
        raise UsageError("the R^2 matrix is empty; evaluate at least one space and one factor.")
    if not path.parent.is_dir():
        raise UsageError(f"folder {str(path.parent)!r} does not exist; create it first.")
    values = matrix.to_numpy(dtype=float)
    rows, cols = values.shape
    fig, ax = plt.subplots(figsize=(1.0 + 0.75 * cols, 1.2 + 0.55 * rows))
    image = ax.imshow(np.clip(values, 0.0, 1.0), cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(cols), [str(c) for c in matrix.columns], rotation=45, ha="right")
    ax.set_yticks(range(rows), [str(r) for r in matrix.index])
    for i in range(rows):
        for j in range(cols):
            ax.text(j, i, f"{values[i, j]:.2f}", ha="center", va="center", fontsize=8,
                    color="black" if values[i, j] > 0.6 else "white")
    ax.set_xlabel("factor")
    ax.set_ylabel("space")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="R$^2$ (clipped to [0, 1])")
    fig.tight_layout()
    handle, temporary = tempfile.mkstemp(suffix=".png", dir=path.parent, prefix=f".{path.stem}.")
    os.close(handle)
    try:
        fig.savefig(temporary, dpi=120)
        os.replace(temporary, path)
    finally:
        plt.close(fig)
        if os.path.exists(temporary):
            os.unlink(temporary)
    return path
