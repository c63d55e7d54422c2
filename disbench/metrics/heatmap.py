"""Space x factor R^2 heatmap (the figure of von Kugelgen et al. and Eastwood et al.)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from disbench.atomic import atomic_path
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
    # wide enough for the longest title line (run names are long), not only for the cells
    title_width = 0.085 * max(len(line) for line in title.splitlines()) + 0.5
    fig, ax = plt.subplots(figsize=(max(3.0 + 0.75 * cols, title_width), 1.2 + 0.55 * rows))
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
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="R$^2$ (clipped to [0, 1])")
    fig.tight_layout()
    with atomic_path(path) as temporary:
        fig.savefig(temporary, dpi=120, format="png")
    plt.close(fig)
    return path


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


def write_run_heatmaps(run_dir: str | Path, results: dict) -> list[Path]:
    """R^2 matrices of a scored run as CSV and kernel-R^2 heatmaps, next to its results.json."""
    if "r2" not in results:
        return []
    run_dir = Path(run_dir)
    written = []
    for name, matrix in r2_matrices(results["r2"]).items():
        csv_path = run_dir / f"r2_{name}.csv"
        with atomic_path(csv_path) as temporary:
            matrix.to_csv(temporary, index_label="space")
        written.append(csv_path)
        if name.startswith("kernel"):
            what = "factor group" if name.endswith("groups") else "factor"
            title = f"{run_dir.name}\nkernel R$^2$ of each {what} from each space"
            written.append(write_r2_heatmap(matrix, run_dir / f"r2_{name}.png", title))
    return written
