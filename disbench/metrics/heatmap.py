"""Space x factor R^2 matrices of a scored run (the figure of von Kugelgen et al. and Eastwood et al.).

The matrices are computed here; :func:`disbench.figures.plots.write_r2_heatmap` draws them.
"""

from __future__ import annotations


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
