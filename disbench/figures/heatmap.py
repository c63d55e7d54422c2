"""Space x factor R^2 matrices of a scored run, as CSV and heatmap (the figure of von Kugelgen et al. and Eastwood et al.).

:func:`write_r2_figures` writes them beside a run's results.json from its ``r2`` entry;
:func:`write_r2_heatmap` draws one matrix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from disbench.errors import UsageError
from disbench.store.atomic import atomic_path


def r2_matrices(r2_results: dict) -> dict[str, "object"]:
    """From a run's results.json ``r2`` entry: ``{"<estimator>_factors"|"<estimator>_groups": DataFrame}``.

    Rows are spaces (in evaluation order), columns factors or factor groups.
    """
    import pandas as pd

    spaces = r2_results["spaces"]
    matrices = {}
    for estimator in ("kernel", "linear"):
        metric = f"r2.{estimator}"
        by_factor = {
            space: {s["factor"]: s["value"] for s in entry["scores"] if s["metric"] == metric and s["factor"] != "all"}
            for space, entry in spaces.items()
        }
        by_group = {space: entry["details"]["group_mean"][metric] for space, entry in spaces.items()}
        matrices[f"{estimator}_factors"] = pd.DataFrame.from_dict(by_factor, orient="index")
        matrices[f"{estimator}_groups"] = pd.DataFrame.from_dict(by_group, orient="index")
    return matrices


def write_r2_figures(run_dir: Path, r2_results: dict[str, Any]) -> list[Path]:
    """The R^2 matrices of a scored run as CSV, and kernel-R^2 heatmaps, beside its results.json."""
    written = []
    for name, matrix in r2_matrices(r2_results).items():
        csv_path = run_dir / f"r2_{name}.csv"
        with atomic_path(csv_path) as temporary:
            matrix.to_csv(temporary, index_label="space")
        written.append(csv_path)
        if name.startswith("kernel"):
            what = "factor group" if name.endswith("groups") else "factor"
            title = f"{run_dir.name}\nkernel R$^2$ of each {what} from each space"
            written.append(write_r2_heatmap(matrix, run_dir / f"r2_{name}.png", title))
    return written


#: inches: a heatmap is never shorter than this, so that a one-row matrix keeps a readable colourbar
_HEATMAP_MIN_HEIGHT = 2.8


def write_r2_heatmap(matrix, path: str | Path, title: str = "R$^2$ per space and factor") -> Path:
    """Write a heatmap PNG of R^2 values, rows = spaces, columns = factors, atomically.

    Args:
        matrix: ``pandas.DataFrame`` of R^2 values (index: space names, columns: factor names).
        path: the PNG to write (its folder must exist).
        title: figure title (may hold several lines).

    Returns:
        The written path.

    Raises:
        UsageError: an empty matrix or a missing folder.
    """
    import matplotlib.pyplot as plt

    path = Path(path)
    if not path.parent.is_dir():
        raise UsageError(f"folder {str(path.parent)!r} does not exist; create it first.")
    fig = r2_heatmap_figure(matrix, title)
    with atomic_path(path) as temporary:
        fig.savefig(temporary, dpi=120, format="png")
    plt.close(fig)
    return path


def r2_heatmap_figure(matrix, title: str = "R$^2$ per space and factor"):
    """The matplotlib figure of :func:`write_r2_heatmap` (its last axes is the colourbar)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if matrix.size == 0:
        raise UsageError("the R^2 matrix is empty; evaluate at least one space and one factor.")
    values = matrix.to_numpy(dtype=float)
    rows, cols = values.shape
    title_lines = title.splitlines() or [""]
    # wide enough for the longest title line (run names are long), not only for the cells
    width = max(3.5 + 0.75 * cols, 0.085 * max(len(line) for line in title_lines) + 0.5)
    height = max(_HEATMAP_MIN_HEIGHT, 1.4 + 0.2 * len(title_lines) + 0.55 * rows)
    fig, ax = plt.subplots(figsize=(width, height))
    image = ax.imshow(np.clip(values, 0.0, 1.0), cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(cols), [str(c) for c in matrix.columns], rotation=45, ha="right")
    ax.set_yticks(range(rows), [str(r) for r in matrix.index])
    for i in range(rows):
        for j in range(cols):
            ax.text(j, i, f"{values[i, j]:.2f}", ha="center", va="center", fontsize=8,
                    color="black" if values[i, j] > 0.6 else "white")
    ax.set_xlabel("factor")
    ax.set_ylabel("space")
    ax.set_title(title, fontsize=10)
    # the colourbar spans the axes' full height, so even one row leaves room for its ticks and label
    colourbar = fig.colorbar(image, ax=ax, fraction=0.05, pad=0.03)
    colourbar.set_label("R$^2$ (clipped\nto [0, 1])", fontsize=8)
    colourbar.set_ticks([0.0, 0.5, 1.0])
    fig.tight_layout()
    return fig
