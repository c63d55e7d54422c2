"""Markdown tables of claims-cpu: per (label, space), mean ± std over seeds of factor-group scores."""
import sys
import pandas as pd

d = pd.read_csv(sys.argv[1])
d = d[d.space != "joint"]


def table(labels, columns, title):
    """columns: list of (header, metric, factors)"""
    out = [f"| run: space | " + " | ".join(h for h, _, _ in columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for label in labels:
        rows = d[d.label == label]
        for space in dict.fromkeys(rows.space):
            cells = []
            for _, metric, factors in columns:
                sel = rows[(rows.space == space) & (rows.metric == metric) & rows.factor.isin(factors)]
                per_seed = sel.groupby("seed").value.mean()
                cells.append("–" if per_seed.empty else f"{per_seed.mean():.2f} ± {per_seed.std(ddof=1) if len(per_seed) > 1 else 0:.2f}")
            out.append(f"| {label}: `{space}` | " + " | ".join(cells) + " |")
    print(f"## {title}\n")
    print("\n".join(out) + "\n")


syn = [f"content[{i}]" for i in range(5)], [f"group1[{i}]" for i in range(5)]
table(["multispace", "multispace, no joint entropy", "multispace, fixed multipliers", "multispace, no content-only entropy", "simclr", "random"],
      [("content (R^2)", "r2.kernel", syn[0]), ("style (R^2)", "r2.kernel", syn[1])],
      "Synthetic data: kernel R^2 of each factor group, averaged over its 5 dimensions")
cd = [("shape (accuracy)", "linear-probe", ["shape"]), ("colour (R^2)", "r2.kernel", ["colour"]),
      ("position x, y (R^2)", "r2.kernel", ["x", "y"]), ("scale (R^2)", "r2.kernel", ["scale"])]
for view in ("factor views", "augmentation views"):
    labels = [f"{m}, {view}" for m in ("multispace", "simclr", "random")]
    if (d.label.isin(labels)).any():
        table(labels, cd, f"ColorDSprites, {view}: shape by linear-probe accuracy (chance 1/3), the rest by kernel R^2")
