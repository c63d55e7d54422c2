"""Pivot long leaderboards into entry x (dataset, metric) tables of mean ± std over seeds.

A cell pools only runs that differ in their seed alone. Each *entry* (a table row) is
one method under one configuration: the run's label when it has one (``train
--name``), else its hyperparameters (the leaderboard's ``hyperparameters`` column,
the RunSpec minus method, dataset and seed). Entries of the same method are named by
the keys whose values differ among that method's configurations (``beta-vae
(beta=8)``) or by their label (``multispace (no joint entropy)``).

Rows are prepared in this order:

1. leaderboards are merged; a score recorded twice (same run, space, metric, factor,
   options, checkpoint ``steps`` and protocol, e.g. from two machines) keeps its latest
   ``timestamp``;
2. each run keeps its latest scored checkpoint (``--x steps`` plots use them all);
3. per run the table scores one space: the ones matching ``spaces``, or by default the
   run's headline space (``joint`` when it has several spaces, else its only one).

Scores of different evaluation protocols (``n_eval``, ``n_test``, ``eval_seed``: the
``protocol`` column) are different results: they are never pooled, and a metric scored at
several protocols gets a column per protocol, named by what differs
(``mig[n_eval=1000,n_test=500]``), as a metric scored under several option sets does.

Reference rows (the oracle's upper bound, the random encoder's lower bound) are shown
but never marked best.
"""

from __future__ import annotations

import fnmatch
import glob
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from disbench.errors import DisbenchError, UsageError
from disbench.metrics.base import AGGREGATE
from disbench.store import LATER_COLUMNS, ROW_KEY, read_leaderboard

REFERENCE_METHODS = ("oracle", "random")
FORMATS = ("table", "md", "csv", "latex", "json")
GLOB_CHARACTERS = "*?["


# --- reading and merging -------------------------------------------------------------------


def leaderboard_paths(sources: str | Path | Iterable[str | Path]) -> list[Path]:
    """The files named by ``sources``: paths, or shell globs (``results/*/leaderboard.csv``).

    Raises:
        UsageError: a glob matches no file.
    """
    if isinstance(sources, (str, Path)):
        sources = [sources]
    paths: list[Path] = []
    for source in sources:
        text = str(source)
        if not Path(text).exists() and any(ch in text for ch in GLOB_CHARACTERS):
            matches = sorted(glob.glob(text, recursive=True))
            if not matches:
                raise UsageError(f"--leaderboard {text!r} matches no file; check the pattern (quote it so the shell leaves it alone).")
            paths += [Path(m) for m in matches]
        else:
            paths.append(Path(text))
    return list(dict.fromkeys(paths))


def load_leaderboards(sources: str | Path | Iterable[str | Path]):
    """One frame from several leaderboards, each score once (its latest ``timestamp``).

    Leaderboards written before the ``label`` and ``hyperparameters`` columns existed
    read with both empty.
    """
    import pandas as pd

    frames = []
    for path in leaderboard_paths(sources):
        frame = read_leaderboard(path)
        for column in LATER_COLUMNS:
            if column not in frame.columns:
                frame[column] = ""
        frames.append(frame)
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if frame.empty:
        return frame
    frame = frame.copy()
    for column in ("run_id", "space", "metric", "factor", "metric_options", "label", "hyperparameters", "method", "dataset"):
        frame[column] = frame[column].fillna("").astype(str)
    frame["steps"] = pd.to_numeric(frame["steps"], errors="coerce").fillna(0).astype(int)
    frame["seed"] = pd.to_numeric(frame["seed"], errors="coerce")
    frame["protocol"] = [
        protocol_text(*values) for values in zip(frame["n_eval"], frame["n_test"] if "n_test" in frame else [None] * len(frame), frame["eval_seed"])
    ]
    order = pd.to_datetime(frame["timestamp"].astype(str), utc=True, errors="coerce", format="mixed")
    # stable sort: equal or missing timestamps keep file order, so the later file wins a tie
    frame = frame.assign(_when=order).sort_values("_when", kind="stable", na_position="first")
    frame = frame.drop_duplicates(subset=list(ROW_KEY), keep="last").drop(columns="_when")
    return frame.sort_index()


def protocol_text(n_eval: Any, n_test: Any, eval_seed: Any) -> str:
    """A row's evaluation protocol as ``n_eval=10000, n_test=5000, eval_seed=0`` (an unrecorded value left out)."""
    parts = []
    for name, value in (("n_eval", n_eval), ("n_test", n_test), ("eval_seed", eval_seed)):
        number = _whole_number(value)
        if number is not None:
            parts.append(f"{name}={number}")
    return ", ".join(parts)


def _whole_number(value: Any) -> int | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else int(number)


def _protocol_fields(text: str) -> dict[str, int]:
    return {name: int(value) for name, _, value in (part.partition("=") for part in text.split(", ")) if name}


def latest_checkpoints(frame):
    """Each score at its run's latest scored checkpoint (largest ``steps``)."""
    if frame.empty:
        return frame
    per_score = ["run_id", "space", "metric", "factor", "metric_options", "protocol"]
    latest = frame.groupby(per_score)["steps"].transform("max")
    return frame[frame["steps"] == latest]


# --- entries: which runs pool into one row ---------------------------------------------------


def short_value(value: Any) -> str:
    """A hyperparameter value in its shortest readable form (``8``, ``0.001``, ``1e30``, ``true``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e6:
            return str(int(value))
        text = f"{value:g}"
        if "e" in text:
            mantissa, exponent = text.split("e")
            text = f"{mantissa}e{int(exponent)}"
        return text
    if value is None:
        return "none"
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    return str(value)


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict) and value:
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), inner, out)
    else:
        out[prefix] = value


def flat_hyperparameters(text: str) -> dict[str, Any]:
    """The ``hyperparameters`` column as flat keys: method keys as-is, ``dataset.KEY``, ``steps``.

    Empty text (an old leaderboard) gives ``{}``.

    Raises:
        DisbenchError: the text is not a JSON object.
    """
    if not text or not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise DisbenchError(f"leaderboard hyperparameters {text[:60]!r} are not JSON; the file was edited by hand: fix or remove that row.") from None
    if not isinstance(data, dict):
        raise DisbenchError(f"leaderboard hyperparameters {text[:60]!r} are not a JSON object; fix or remove that row.")
    flat: dict[str, Any] = {}
    _flatten("", data.get("method_config") or {}, flat)
    dataset_flat: dict[str, Any] = {}
    _flatten("", data.get("dataset_config") or {}, dataset_flat)
    flat.update({f"dataset.{k}": v for k, v in dataset_flat.items()})
    for key, value in data.items():
        if key not in ("method_config", "dataset_config"):
            _flatten(key, value, flat)
    return flat


def _differing_keys(configs: Sequence[dict[str, Any]]) -> list[str]:
    keys = sorted({k for c in configs for k in c})
    return [k for k in keys if len({json.dumps(c.get(k), sort_keys=True, default=str) for c in configs}) > 1]


_NO_USUAL_VALUE = object()


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _usual_values(configs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """For each key that differs among ``configs``: the value most of them share, or
    ``_NO_USUAL_VALUE`` when no single value is the most common (a grid: every value is named).

    An entry names only its keys that differ from the usual value, so an ablation reads
    ``multispace``, ``multispace (joint_entropy=false)``, ``multispace (entropy=vicreg)``.
    Two configurations never get the same name: they differ in some key, and at most one of
    them has its usual value.
    """
    usual: dict[str, Any] = {}
    for key in _differing_keys(configs):
        counts: dict[str, int] = {}
        for config in configs:
            value = _canonical(config.get(key))
            counts[value] = counts.get(value, 0) + 1
        ranked = sorted(counts.items(), key=lambda item: -item[1])
        usual[key] = ranked[0][0] if ranked[0][1] > ranked[1][1] else _NO_USUAL_VALUE
    return usual


def assign_entries(frame):
    """``frame`` with an ``entry`` column: the table row each leaderboard row pools into.

    An entry is (method, label) for labelled runs, else (method, hyperparameters);
    dataset keys count only where they differ within one dataset, so the same method
    configuration on two datasets is one entry. Entries of a method are named by their label
    or by the keys in which they differ from the method's usual configuration
    (:func:`_usual_values`). Where one seed of an entry would come
    from two different runs (e.g. unnamed codes files, or a leaderboard without
    hyperparameters), those runs become entries of their own, named by run id.
    """
    if frame.empty:
        return frame.assign(entry=[])
    configs = {text: flat_hyperparameters(text) for text in frame["hyperparameters"].unique()}
    varying_dataset_keys: dict[tuple[str, str], set[str]] = {}
    for (method, dataset), group in frame.groupby(["method", "dataset"]):
        in_group = [configs[t] for t in group["hyperparameters"].unique()]
        varying_dataset_keys[(method, dataset)] = {k for k in _differing_keys(in_group) if k.startswith("dataset.")}

    def identity(method: str, dataset: str, label: str, hyperparameters: str) -> str:
        if label:
            return json.dumps({"label": label})
        kept = varying_dataset_keys[(method, dataset)]
        config = {k: v for k, v in configs[hyperparameters].items() if not k.startswith("dataset.") or k in kept}
        return json.dumps({"config": config}, sort_keys=True, default=str)

    identities = [identity(*row) for row in zip(frame["method"], frame["dataset"], frame["label"], frame["hyperparameters"])]
    frame = frame.assign(_identity=identities)

    # one seed, two runs: the entry would count that seed twice
    runs_per_seed = frame.groupby(["method", "dataset", "_identity", "seed"])["run_id"].nunique()
    clashing = {(m, i) for (m, _d, i, _s), n in runs_per_seed.items() if n > 1}
    if clashing:
        split = [(m, i) in clashing for m, i in zip(frame["method"], frame["_identity"])]
        frame["_identity"] = [
            json.dumps({**json.loads(i), "run": r}) if s else i for i, r, s in zip(frame["_identity"], frame["run_id"], split)
        ]

    names: dict[tuple[str, str], str] = {}
    for method, group in frame.groupby("method", sort=False):
        identities_of_method = [json.loads(i) for i in dict.fromkeys(group["_identity"])]
        unlabelled = list({_canonical(i["config"]): i["config"] for i in identities_of_method if "config" in i}.values())
        usual = _usual_values(unlabelled)
        sizes = {
            json.dumps(ident, sort_keys=True, default=str): parameter_note(
                group.loc[group["_identity"].map(_same_identity(ident)), "parameters"] if "parameters" in group else []
            )
            for ident in identities_of_method
        }
        for ident in identities_of_method:
            parts = []
            if "label" in ident and ident["label"] != method:
                parts.append(ident["label"])
            if "config" in ident:
                shown = [k for k in usual if usual[k] is _NO_USUAL_VALUE or _canonical(ident["config"].get(k)) != usual[k]]
                if shown:
                    parts.append(", ".join(f"{k}={short_value(ident['config'].get(k))}" for k in shown))
            if "run" in ident:
                parts.append(f"run {ident['run']}")
            key = json.dumps(ident, sort_keys=True, default=str)
            size = sizes[json.dumps(ident, sort_keys=True, default=str)]
            if size and len(set(sizes.values())) > 1:  # sizes tell entries apart (an encoder grid)
                parts.append(size)
            names[(method, key)] = f"{method} ({'; '.join(parts)})" if parts else method
    entries = [names[(m, json.dumps(json.loads(i), sort_keys=True, default=str))] for m, i in zip(frame["method"], frame["_identity"])]
    return frame.assign(entry=entries).drop(columns="_identity")


def _same_identity(ident: dict[str, Any]):
    wanted = json.dumps(ident, sort_keys=True, default=str)
    return lambda text: json.dumps(json.loads(text), sort_keys=True, default=str) == wanted


def parameter_note(values) -> str:
    """``"102M parameters"`` when an entry's rows record one encoder size (the ``parameters``
    column; Ottlik et al.'s Table 1 lists them), else ``""``."""
    sizes = {str(v) for v in values if str(v) not in ("", "nan", "<NA>", "None")}
    if len(sizes) != 1:
        return ""
    count = float(sizes.pop())
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if count >= scale:
            return f"{count / scale:.3g}{suffix} parameters"
    return f"{count:.0f} parameters"


# --- selecting and labelling columns ----------------------------------------------------------


def _as_patterns(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _matches(series, patterns: list[str]):
    return series.map(lambda v: any(fnmatch.fnmatchcase(str(v), p) for p in patterns))


def _metric_labels(frame) -> Any:
    """Label each row's metric; a metric scored under several option sets or protocols gets
    the differing options and protocol fields appended (``mig[num_bins=20]``, ``mig[n_eval=1000]``)."""
    labels = frame["metric"].copy()
    for metric, group in frame.groupby("metric"):
        variants = group[["metric_options", "protocol"]].drop_duplicates().itertuples(index=False, name=None)
        parsed = {(o, p): {**(json.loads(o) if o else {}), **_protocol_fields(p)} for o, p in variants}
        if len(parsed) < 2:
            continue
        keys = _differing_keys(list(parsed.values()))
        for (options_text, protocol), options in parsed.items():
            suffix = ",".join(f"{k}={options.get(k)}" for k in keys)
            rows = (frame["metric"] == metric) & (frame["metric_options"] == options_text) & (frame["protocol"] == protocol)
            labels[rows] = f"{metric}[{suffix}]"
    return labels


def column_labels(frame, spaces_chosen: bool) -> Any:
    """The metric label, plus the factor and the space when the table shows several of them.

    Headline spaces (``joint`` for one run, ``latent`` for another) share a column;
    spaces the user chose with ``--space`` get a column each.
    """
    labels = _metric_labels(frame)
    several_factors = frame["factor"].nunique() > 1
    several_spaces = spaces_chosen and frame["space"].nunique() > 1
    if several_factors or several_spaces:
        parts = []
        if several_factors:
            parts.append(frame["factor"])
        if several_spaces:
            parts.append(frame["space"])
        suffix = parts[0] if len(parts) == 1 else parts[0] + "<-" + parts[1]
        labels = labels + " " + suffix
    return labels


def headline_rows(frame, space: str | Sequence[str] | None = None):
    """Rows of each run's scored space: those matching ``space``, else joint / the only space."""
    patterns = _as_patterns(space)
    if patterns:
        return frame[_matches(frame["space"], patterns)]
    if frame.empty:
        return frame
    spaces_per_run = frame.groupby("run_id")["space"].agg(lambda s: set(s))
    headline = {
        run: ("joint" if "joint" in spaces else sorted(spaces)[0]) if len(spaces) > 1 else next(iter(spaces))
        for run, spaces in spaces_per_run.items()
    }
    return frame[frame["space"] == frame["run_id"].map(headline)]


@dataclass
class Selection:
    """What a report is made of: leaderboards and filters (each a list of names; ``None``: all)."""

    leaderboards: Any = "results/leaderboard.csv"
    methods: list[str] | None = None
    datasets: list[str] | None = None
    metrics: list[str] | None = None
    spaces: list[str] | None = None
    factors: list[str] = field(default_factory=lambda: [AGGREGATE])
    run_ids: list[str] | None = None
    all_steps: bool = False


def selected_rows(selection: Selection):
    """The leaderboard rows a report pools, with ``entry`` and ``column`` (metric label) assigned.

    Raises:
        DisbenchError: the leaderboards are missing or empty, or nothing matches the filters.
    """
    frame = load_leaderboards(selection.leaderboards)
    names = ", ".join(repr(str(p)) for p in leaderboard_paths(selection.leaderboards))
    if frame.empty:
        raise DisbenchError(
            f"no results in {names}; make some with `disbench bench --suite quick` "
            "or `disbench train ...` then `disbench eval --metric all`."
        )
    for column, wanted in (("method", selection.methods), ("dataset", selection.datasets), ("run_id", selection.run_ids)):
        if wanted:
            frame = frame[frame[column].isin(wanted)]
    if selection.metrics:
        metrics = list(selection.metrics)
        check_metrics_present(frame, metrics, names)
        frame = frame[frame["metric"].isin(metrics) | frame["metric"].str.split(".").str[0].isin(metrics)]
    frame = frame[_matches(frame["factor"], _as_patterns(selection.factors) or [AGGREGATE])]
    if not selection.all_steps:
        frame = latest_checkpoints(frame)
    frame = headline_rows(frame, selection.spaces)
    if frame.empty:
        raise DisbenchError(f"no leaderboard rows in {names} match the filters; drop some filters.")
    frame = assign_entries(frame)
    return frame.assign(column=column_labels(frame, bool(selection.spaces)))


def check_metrics_present(frame, metrics: list[str], names: str) -> None:
    """UsageError for a ``--metric`` that is no metric at all (neither in the leaderboards, as a
    metric or a metric's prefix, nor in the registry), naming the closest metrics the
    leaderboards hold; a real metric they lack is left to the filters' own message."""
    import difflib

    from disbench.metrics.selection import metric_registry

    present = sorted(set(frame["metric"]) | set(frame["metric"].str.split(".").str[0]))
    registered = set(metric_registry())
    for metric in metrics:
        if metric not in present and metric.partition(".")[0] not in registered:
            close = difflib.get_close_matches(metric, present, n=3, cutoff=0.5)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise UsageError(f"no metric {metric!r} in {names}.{hint} Its metrics: {', '.join(present)}.")


# --- the table ---------------------------------------------------------------------------------


@dataclass
class Cell:
    mean: float
    std: float
    n: int
    best: bool = False

    def text(self, digits: int = 3) -> str:
        if self.n > 1:
            return f"{self.mean:.{digits}f} ± {self.std:.{digits}f} ({self.n})"
        return f"{self.mean:.{digits}f} (1)"


@dataclass
class ReportTable:
    """Rows are entries (a method under one configuration); columns are (dataset, metric label)."""

    entries: list[str]
    columns: list[tuple[str, str]]
    higher_is_better: dict[tuple[str, str], bool]
    cells: dict[tuple[str, tuple[str, str]], Cell]
    entry_method: dict[str, str] = field(default_factory=dict)
    #: each column's evaluation protocol (:func:`protocol_text`); a column never pools two
    protocols: dict[tuple[str, str], str] = field(default_factory=dict)

    def protocol_note(self) -> str:
        """One line saying which protocol the scores were computed at, or that columns are split by protocol."""
        used = list(dict.fromkeys(self.protocols[c] for c in self.columns if self.protocols.get(c)))
        if not used:
            return ""
        if len(used) == 1:
            return f"scored at {used[0]}"
        return (
            f"scores at {len(used)} protocols ({'; '.join(used)}) are never pooled: "
            "a metric scored at several gets a column per protocol"
        )

    def header(self, column: tuple[str, str], arrows: bool = True) -> str:
        dataset, metric = column
        arrow = (" ↑" if self.higher_is_better[column] else " ↓") if arrows else ""
        return f"{dataset} / {metric}{arrow}"

    def is_reference(self, entry: str) -> bool:
        return self.entry_method.get(entry, entry) in REFERENCE_METHODS


def _is_true(value: Any) -> bool:
    return str(value).lower() == "true"


def pooled(frame, by: list[str]):
    """Mean, sample std (0 for one seed) and seed count per group; one value per seed."""
    one_per_seed = frame.drop_duplicates(subset=[*by, "seed"], keep="last")
    stats = one_per_seed.groupby(by, sort=False)["value"].agg(["mean", "std", "count"]).reset_index()
    stats["std"] = stats["std"].fillna(0.0)
    return stats


def build_report(
    leaderboard: Any = "results/leaderboard.csv",
    methods: list[str] | None = None,
    datasets: list[str] | None = None,
    metrics: list[str] | None = None,
    space: str | Sequence[str] | None = None,
    factor: str | Sequence[str] = AGGREGATE,
    run_ids: list[str] | None = None,
) -> ReportTable:
    """Mean ± std over seeds of each (entry, dataset, metric), best per column marked.

    ``leaderboard`` is a path, a glob or a list of them; ``space`` and ``factor`` are
    names or shell wildcards (a list shows each matching one as its own column).

    Raises:
        DisbenchError: the leaderboard is missing or empty, or nothing matches the filters.
    """
    selection = Selection(leaderboard, methods, datasets, metrics, _as_patterns(space) or None, _as_patterns(factor), run_ids)
    return table_of_rows(selected_rows(selection))


def table_of_rows(frame) -> ReportTable:
    """The table of :func:`build_report` from report rows already selected (:func:`selected_rows`)."""
    stats = pooled(frame, ["entry", "dataset", "column"])
    direction = frame.groupby(["dataset", "column"])["higher_is_better"].first().map(_is_true)
    protocol_of = frame.groupby(["dataset", "column"])["protocol"].agg(lambda p: "; ".join(sorted(set(p))))
    entry_method = dict(zip(frame["entry"], frame["method"]))

    # methods in order of first appearance, each method's usual configuration (its bare name) first,
    # reference rows last
    methods = list(dict.fromkeys(frame["method"]))
    seen = list(dict.fromkeys(frame["entry"]))
    ordered = sorted(seen, key=lambda e: (entry_method[e] in REFERENCE_METHODS, methods.index(entry_method[e]), e != entry_method[e]))
    entries = ordered
    columns = sorted({(d, c) for d, c in zip(stats["dataset"], stats["column"])})
    higher = {column: bool(direction[column]) for column in columns}
    cells = {
        (row.entry, (row.dataset, row.column)): Cell(float(row["mean"]), float(row["std"]), int(row["count"]))
        for _, row in stats.iterrows()
    }
    table = ReportTable(entries, columns, higher, cells, entry_method, {column: protocol_of[column] for column in columns})
    for column in columns:
        contenders = [cells[(e, column)] for e in entries if not table.is_reference(e) and (e, column) in cells]
        if contenders:
            pick = max if higher[column] else min
            best_value = pick(c.mean for c in contenders)
            for cell in contenders:
                cell.best = math.isclose(cell.mean, best_value, rel_tol=0, abs_tol=1e-12)
    return table


# --- text forms --------------------------------------------------------------------------------

LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "±": r"$\pm$",
    "↑": r"$\uparrow$",
    "↓": r"$\downarrow$",
    "–": "--",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
}


def latex_escape(text: str) -> str:
    """``text`` safe inside a LaTeX tabular cell (every special character replaced)."""
    return "".join(LATEX_SPECIALS.get(ch, ch) for ch in str(text))


def aligned_text(headers: list[str], rows: list[list[str]], header: bool = True) -> str:
    """Plain columns padded with spaces, one line per row, never truncated or wrapped."""
    lines = ([headers] if header else []) + rows
    if not lines:
        return ""
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    return "".join("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() + "\n" for line in lines)


def markdown_text(headers: list[str], rows: list[list[str]]) -> str:
    def cell(text: str) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def records_text(records: list[dict[str, Any]], fmt: str, columns: list[str] | None = None) -> str:
    """Records as ``json`` (a list of objects) or ``csv`` (a header line, then one row each)."""
    if fmt == "json":
        return json.dumps(records, indent=2) + "\n"
    import pandas as pd

    return pd.DataFrame(records, columns=columns).to_csv(index=False)


def latex_table(headers: list[str], rows: list[list[str]]) -> str:
    """A booktabs tabular of escaped cells."""
    lines = [f"\\begin{{tabular}}{{l{'r' * (len(headers) - 1)}}}", "\\toprule"]
    lines.append(" & ".join(latex_escape(h) for h in headers) + " \\\\")
    lines.append("\\midrule")
    lines += [" & ".join(latex_escape(c) for c in row) + " \\\\" for row in rows]
    lines += ["\\bottomrule", "\\end{tabular}"]
    return "\n".join(lines) + "\n"


def render_rows(headers: list[str], rows: list[list[str]], records: list[dict[str, Any]], fmt: str, header: bool = True) -> str:
    """A plain table in ``fmt``: text forms from the formatted ``rows``, csv/json from the typed ``records``."""
    if fmt == "table":
        return aligned_text(headers, rows, header=header)
    if fmt == "md":
        return markdown_text(headers, rows)
    if fmt == "latex":
        return latex_table(headers, rows)
    if fmt in ("csv", "json"):
        return records_text(records, fmt, list(records[0]) if records else headers)
    raise UsageError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}.")


def _cell_text(table: ReportTable, entry: str, column: tuple[str, str], bold: tuple[str, str]) -> str:
    cell = table.cells.get((entry, column))
    if cell is None:
        return "–"
    return f"{bold[0]}{cell.text()}{bold[1]}" if cell.best else cell.text()


RECORD_COLUMNS = ["method", "dataset", "metric", "mean", "std", "n_seeds", "higher_is_better", "best", "entry", "protocol"]


def render(table: ReportTable, fmt: str) -> str:
    """The table as ``table`` (plain aligned text, best marked ``*``), ``md``, ``csv``, ``latex`` or ``json``."""
    if fmt == "table":
        headers = ["method", *(table.header(c) for c in table.columns)]
        rows = [
            [f"{e} (reference)" if table.is_reference(e) else e, *(_cell_text(table, e, c, ("", " *")) for c in table.columns)]
            for e in table.entries
        ]
        return aligned_text(headers, rows)
    if fmt == "md":
        headers = ["method", *(table.header(c) for c in table.columns)]
        rows = [
            [f"*{e}* (reference)" if table.is_reference(e) else e, *(_cell_text(table, e, c, ("**", "**")) for c in table.columns)]
            for e in table.entries
        ]
        return markdown_text(headers, rows)
    if fmt == "latex":
        # booktabs; bold marks the best cell, reference rows are italic and set apart by a rule
        lines = [f"\\begin{{tabular}}{{l{'c' * len(table.columns)}}}", "\\toprule"]
        lines.append(" & ".join(latex_escape(h) for h in ["method", *(table.header(c) for c in table.columns)]) + " \\\\")
        lines.append("\\midrule")
        ruled = False
        for entry in table.entries:
            if table.is_reference(entry) and not ruled:
                if entry != table.entries[0]:
                    lines.append("\\midrule")
                ruled = True
            name = f"\\textit{{{latex_escape(entry)}}} (reference)" if table.is_reference(entry) else latex_escape(entry)
            cells = []
            for column in table.columns:
                text = latex_escape(_cell_text(table, entry, column, ("", "")))
                best = table.cells.get((entry, column))
                cells.append(f"\\textbf{{{text}}}" if best is not None and best.best else text)
            lines.append(" & ".join([name, *cells]) + " \\\\")
        lines += ["\\bottomrule", "\\end{tabular}"]
        return "\n".join(lines) + "\n"
    if fmt in ("csv", "json"):
        records = []
        for entry in table.entries:
            for column in table.columns:
                cell = table.cells.get((entry, column))
                if cell is not None:
                    records.append(
                        {
                            "method": table.entry_method.get(entry, entry),
                            "dataset": column[0],
                            "metric": column[1],
                            "mean": cell.mean,
                            "std": cell.std,
                            "n_seeds": cell.n,
                            "higher_is_better": table.higher_is_better[column],
                            "best": cell.best,
                            "entry": entry,
                            "protocol": table.protocols.get(column, ""),
                        }
                    )
        return records_text(records, fmt, RECORD_COLUMNS)
    raise UsageError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}.")
