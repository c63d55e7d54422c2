"""Entry names: which leaderboard rows pool into one table row, and what that row is called.

Each *entry* is one method under one configuration: the run's label when it has one
(``train --name``), else its hyperparameters (the leaderboard's ``hyperparameters`` column,
the RunSpec minus method, dataset and seed). Entries of the same method are named by the
keys whose values differ among that method's configurations (``beta-vae (beta=8)``) or by
their label (``multispace (no joint entropy)``). Columns are named by their metric, and by
the options, protocol, factor and space that tell two columns of one metric apart.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

from disbench.errors import DisbenchError
from disbench.report.leaderboards import protocol_fields

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



def _metric_labels(frame) -> Any:
    """Label each row's metric; a metric scored under several option sets or protocols gets
    the differing options and protocol fields appended (``mig[num_bins=20]``, ``mig[n_eval=1000]``)."""
    labels = frame["metric"].copy()
    for metric, group in frame.groupby("metric"):
        variants = group[["metric_options", "protocol"]].drop_duplicates().itertuples(index=False, name=None)
        parsed = {(o, p): {**(json.loads(o) if o else {}), **protocol_fields(p)} for o, p in variants}
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
