"""A paper's claims as checks on a leaderboard: each a number, a threshold, and whether it holds.

A suite may state the claims its runs test (``claims:`` in the suite file)::

    claims:
      - claim: the content space reads the content factors
        rows: {label: multispace, dataset: synthetic}
        score: {space: content, metric: r2.kernel, factor: "content*"}
        at_least: 0.9
      - claim: the content space reads shape well above an untrained encoder
        rows: {label: multispace, dataset: color-dsprites}
        score: {space: content, metric: linear-probe, factor: shape}
        above: {rows: {label: random, dataset: color-dsprites}, score: {space: latent}, by: 0.1}

``rows`` picks runs by any leaderboard column (``label`` is the suite entry's label);
``score`` picks one space, metric and factor pattern (wildcards average the matching
factors of a run, e.g. ``content*`` for the five ``content[i]`` dimensions). Each run gives one number (its
latest scored checkpoint); the claim is judged on the mean over the runs (seeds), and the
table reports mean ± std and n. ``above`` compares with another selection's mean, its
``score`` keys defaulting to the claim's own.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any

from disbench.errors import UsageError

SELECTION_KEYS = {"rows", "score"}
CLAIM_KEYS = {"claim", "rows", "score", "at_least", "at_most", "above"}
SCORE_KEYS = {"space", "metric", "factor"}


@dataclass(frozen=True)
class ScoreSelection:
    """Runs (``rows``: column -> value) and one of their scores (space, metric, factor pattern)."""

    rows: dict[str, Any]
    space: str
    metric: str
    factor: str = "all"

    def values(self, frame) -> "Any":
        """One number per run: the mean of its matching factors' scores (a pandas Series by run_id)."""
        from disbench.report.leaderboards import latest_checkpoints

        picked = frame
        for column, wanted in self.rows.items():
            if column not in picked.columns:
                raise UsageError(f"claim selects rows by {column!r}, which is not a leaderboard column.")
            picked = picked[picked[column].astype(str) == str(wanted)]
        picked = picked[(picked["space"] == self.space) & (picked["metric"] == self.metric)]
        picked = picked[picked["factor"].map(lambda name: fnmatch.fnmatchcase(str(name), self.factor)).astype(bool)]
        picked = latest_checkpoints(picked)
        return picked.assign(value=picked["value"].astype(float)).groupby("run_id")["value"].mean()

    def describe(self) -> str:
        rows = ", ".join(f"{k}={v}" for k, v in self.rows.items())
        return f"{rows}: {self.metric} of {self.factor} from {self.space}"


@dataclass(frozen=True)
class Claim:
    """One claim: a selection and its threshold (``at_least``, ``at_most``, or ``above`` another selection)."""

    text: str
    selection: ScoreSelection
    at_least: float | None = None
    at_most: float | None = None
    above: ScoreSelection | None = None
    by: float = 0.0

    def threshold_text(self) -> str:
        if self.above is not None:
            return f"> {self.above.describe()} + {self.by:g}"
        if self.at_least is not None:
            return f">= {self.at_least:g}"
        return f"<= {self.at_most:g}"


@dataclass
class ClaimResult:
    claim: Claim
    mean: float
    std: float
    n: int
    reference: float | None = None
    holds: bool | None = None
    runs: list[str] = field(default_factory=list)


def parse_claims(value: Any, where: str) -> tuple[Claim, ...]:
    """The ``claims:`` section of a suite file.

    Raises:
        UsageError: a claim lacks its text, rows, score or a single threshold.
    """
    if value is None:
        return ()
    if not isinstance(value, list):
        raise UsageError(f"{where}: claims must be a list of mappings (claim, rows, score, and at_least, at_most or above).")
    claims = []
    for number, item in enumerate(value, 1):
        here = f"{where}, claim {number}"
        if not isinstance(item, dict):
            raise UsageError(f"{here} must be a mapping.")
        unknown = set(item) - CLAIM_KEYS
        if unknown:
            raise UsageError(f"{here}: unknown key {sorted(unknown)[0]!r}; valid keys: {', '.join(sorted(CLAIM_KEYS))}.")
        if not item.get("claim"):
            raise UsageError(f"{here}: `claim:` must say in words what is claimed.")
        thresholds = [k for k in ("at_least", "at_most", "above") if k in item]
        if len(thresholds) != 1:
            raise UsageError(f"{here}: give exactly one of at_least, at_most or above (got {thresholds or 'none'}).")
        selection = _selection(item, None, here)
        above, by = None, 0.0
        if "above" in item:
            reference = item["above"]
            if not isinstance(reference, dict):
                raise UsageError(f"{here}: above takes a mapping of rows, score and by.")
            extra = set(reference) - SELECTION_KEYS - {"by"}
            if extra:
                raise UsageError(f"{here}: above: unknown key {sorted(extra)[0]!r}; valid keys: by, rows, score.")
            above = _selection(reference, selection, f"{here}, above")
            by = _number(reference.get("by", 0.0), f"{here}: above.by")
        claims.append(
            Claim(
                str(item["claim"]).strip(),
                selection,
                at_least=_number(item["at_least"], f"{here}: at_least") if "at_least" in item else None,
                at_most=_number(item["at_most"], f"{here}: at_most") if "at_most" in item else None,
                above=above,
                by=by,
            )
        )
    return tuple(claims)


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UsageError(f"{where} must be a number, got {value!r}.")
    return float(value)


def _selection(item: dict[str, Any], base: ScoreSelection | None, where: str) -> ScoreSelection:
    rows = item.get("rows")
    if not isinstance(rows, dict) or not rows:
        raise UsageError(f"{where}: rows must be a mapping of leaderboard columns to values, e.g. {{label: multispace}}.")
    score = item.get("score") or {}
    if not isinstance(score, dict) or set(score) - SCORE_KEYS:
        raise UsageError(f"{where}: score takes space, metric and factor.")
    defaults = {"space": base.space, "metric": base.metric, "factor": base.factor} if base else {"factor": "all"}
    merged = {**defaults, **{k: str(v) for k, v in score.items()}}
    missing = SCORE_KEYS - set(merged)
    if missing:
        raise UsageError(f"{where}: score needs {', '.join(sorted(missing))}.")
    return ScoreSelection({str(k): v for k, v in rows.items()}, merged["space"], merged["metric"], merged["factor"])


def check_claims(frame, claims: tuple[Claim, ...]) -> list[ClaimResult]:
    """Judge each claim on the leaderboard ``frame`` (as :func:`disbench.report.leaderboards.load_leaderboards` gives).

    A claim whose runs are not in the leaderboard has n = 0 and ``holds`` None (not judged).
    """
    results = []
    for claim in claims:
        values = claim.selection.values(frame)
        n = len(values)
        mean = float(values.mean()) if n else float("nan")
        std = float(values.std(ddof=1)) if n > 1 else 0.0 if n else float("nan")
        result = ClaimResult(claim, mean, std, n, runs=sorted(values.index))
        if n:
            if claim.above is not None:
                reference = claim.above.values(frame)
                if len(reference):
                    result.reference = float(reference.mean())
                    result.holds = mean > result.reference + claim.by
            elif claim.at_least is not None:
                result.holds = mean >= claim.at_least
            else:
                result.holds = mean <= claim.at_most
        results.append(result)
    return results


def claim_rows(results: list[ClaimResult]) -> tuple[list[str], list[list[str]], list[dict[str, Any]]]:
    """Header, text rows and typed records of the claims table (for :func:`disbench.report.rendering.render_rows`)."""
    header = ["claim", "measured", "n", "threshold", "holds"]
    rows, records = [], []
    for result in results:
        measured = "–" if not result.n else f"{result.mean:.3f} ± {result.std:.3f}"
        threshold = result.claim.threshold_text()
        if result.reference is not None:
            threshold = f"> {result.reference:.3f} + {result.claim.by:g} ({result.claim.above.describe()})"
        holds = {True: "yes", False: "no", None: "not run"}[result.holds]
        rows.append([result.claim.text, measured, str(result.n), threshold, holds])
        records.append({
            "claim": result.claim.text, "selection": result.claim.selection.describe(),
            "mean": result.mean if result.n else None, "std": result.std if result.n else None, "n": result.n,
            "threshold": threshold, "reference": result.reference, "holds": result.holds,
        })
    return header, rows, records
