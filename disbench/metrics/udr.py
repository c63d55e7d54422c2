"""UDR: Unsupervised Disentanglement Ranking (Duan et al. 2020), as in disentanglement_lib.

UDR scores a model without ground truth, against the other models of its
configuration (the other seeds): a disentangled representation is recovered, up to
permutation and sign, by every seed, while an entangled one is not. For every ordered
pair of models ``(i, j)`` it

1. standardises each model's codes on the same observations and zeroes the dimensions
   whose mean KL divergence to the prior is at most 0.01 (inactive latents);
2. builds a similarity matrix ``R`` (code dimensions of ``i`` x code dimensions of
   ``j``): ``|coef|`` of a multi-output ``Lasso(alpha=0.1)`` regressing ``j`` on ``i``
   (``lasso``, dlib's default), or absolute Spearman rank correlations (``spearman``);
3. keeps the rows and columns of active latents (KL above ``kl_threshold``) and scores
   ``R`` by relative strength: the mean over columns of ``max(column)^2 / sum(column)``
   and the same over rows, averaged.

A model's UDR is the median of its pairwise scores as the second model of the pair,
``median_{j != i} d[j, i]``. dlib's defaults (``udr.gin``): 1,000 points, Lasso,
``filter_low_kl=True``, threshold 0.01.

Methods without a posterior (no KL per latent) keep every dimension: the
``kl_per_latent`` of such models is ``None``, and the details say so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from disbench.metrics.base import MetricNotApplicable, MetricResult, RunMember, Score, register_run_group_metric

#: dlib multiplies each standardised latent by ``kl > 0.01`` whatever ``kl_threshold`` is
ACTIVE_KL = 0.01


@dataclass
class UDROptions:
    """Attributes:
    num_points: observations encoded by every model (dlib: 1,000).
    correlation: ``lasso`` (dlib's default) or ``spearman``.
    filter_low_kl: drop latents whose mean KL is at most ``kl_threshold`` (dlib: True).
    kl_threshold: the KL below which a latent is inactive (dlib: 0.01).
    """

    num_points: int = 1_000
    correlation: str = "lasso"
    filter_low_kl: bool = True
    kl_threshold: float = 0.01

    def __post_init__(self) -> None:
        if self.num_points < 2:
            raise ValueError(f"num_points must be at least 2, got {self.num_points}")
        if self.correlation not in ("lasso", "spearman"):
            raise ValueError(f"correlation must be lasso or spearman, got {self.correlation!r}")


def relative_strength(matrix: np.ndarray) -> float:
    """dlib's ``relative_strength_disentanglement`` of a non-negative similarity matrix."""
    with np.errstate(divide="ignore", invalid="ignore"):
        columns = np.nan_to_num(np.max(matrix, axis=0) ** 2 / np.sum(matrix, axis=0))
        rows = np.nan_to_num(np.max(matrix, axis=1) ** 2 / np.sum(matrix, axis=1))
    return float((np.nanmean(columns) + np.nanmean(rows)) / 2)


def spearman_matrix(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """``|Spearman correlation|`` of every column of ``first`` with every column of ``second``, ``(d1, d2)``.

    Pearson correlation of tie-averaged ranks (scipy's definition); a constant column gives NaN,
    as scipy does.
    """
    from scipy.stats import rankdata

    def standardised_ranks(values: np.ndarray) -> np.ndarray:
        ranks = rankdata(values, axis=0)
        centred = ranks - ranks.mean(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            return centred / np.sqrt((centred**2).sum(axis=0))

    return np.abs(standardised_ranks(first).T @ standardised_ranks(second))


def lasso_matrix(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """``|coef|`` of ``Lasso(alpha=0.1)`` regressing every column of ``second`` on ``first``, ``(d1, d2)``."""
    from sklearn.linear_model import Lasso

    return np.abs(Lasso(alpha=0.1).fit(first, second).coef_).T


def udr_scores(
    codes: list[np.ndarray], kl_per_latent: list[np.ndarray | None], options: UDROptions
) -> tuple[np.ndarray, np.ndarray]:
    """UDR of each model from its codes on the same observations.

    Args:
        codes: one ``(N, d)`` array per model, rows on the same observations.
        kl_per_latent: per model, the mean KL of each latent ``(d,)``, or None (every latent active).
        options: :class:`UDROptions`.

    Returns:
        ``(scores (M,), pairwise (M, M))`` where ``pairwise[i, j]`` scores model ``j`` against
        model ``i`` (0 on the diagonal).
    """
    if len(codes) < 2:
        raise ValueError("UDR compares models of one configuration: it needs at least two (seeds)")
    prepared, masks = [], []
    for values, kl in zip(codes, kl_per_latent):
        values = np.asarray(values, dtype=np.float64)
        scale = values.std(axis=0)
        standardised = (values - values.mean(axis=0)) / np.where(scale > 0, scale, 1.0)
        if kl is None:
            prepared.append(standardised)
            masks.append(np.ones(values.shape[1], dtype=bool))
        else:
            kl = np.asarray(kl, dtype=np.float64)
            prepared.append(standardised * (kl > ACTIVE_KL))
            masks.append(kl > options.kl_threshold)
    similarity = lasso_matrix if options.correlation == "lasso" else spearman_matrix
    num_models = len(prepared)
    pairwise = np.zeros((num_models, num_models))
    for i in range(num_models):
        for j in range(num_models):
            if i == j:
                continue
            matrix = similarity(prepared[i], prepared[j])
            if options.filter_low_kl:
                matrix = matrix[masks[i]][:, masks[j]]
            pairwise[i, j] = relative_strength(matrix) if matrix.size else 0.0
    scores = np.array([np.median(np.delete(pairwise[:, i], i)) for i in range(num_models)])
    return scores, pairwise


def member_codes_and_kl(member: RunMember, observations: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """A run's codes of ``observations`` (all its spaces side by side; the encoder mean for a VAE)
    and the mean KL of each latent, or None for a method without a posterior."""
    from disbench.methods.vae import latent_statistics

    model = getattr(member.method, "model", None)
    if model is not None and hasattr(model, "posterior"):
        means, _, kl = latent_statistics(member.method, observations)
        return means, kl
    representation = member.method.encode(observations, None)
    return representation.joint().astype(np.float64), None


@register_run_group_metric(
    "udr",
    value_range=(0.0, 1.0),
    reference="Duan et al. 2020, Unsupervised model selection for variational disentangled "
    "representation learning; disentanglement_lib udr.py",
    summary="UDR: agreement of a run's latents with the other seeds of its configuration (no labels)",
    options=UDROptions,
)
def compute_udr(members: list[RunMember], options: UDROptions, rng: np.random.Generator) -> list[MetricResult]:
    """UDR of each run of one configuration, from ``num_points`` observations every run encodes."""
    if getattr(members[0].method, "reads_factors", False):
        raise MetricNotApplicable(
            f"{members[0].method.name} encodes the true factors, not observations; UDR scores learned codes"
        )
    if len(members) < 2:
        raise MetricNotApplicable("UDR compares the seeds of a configuration; train at least two seeds of it")
    dataset = members[0].dataset
    observations = dataset.observations_from_factors(dataset.sample_factors(options.num_points, rng), rng)
    codes, kls = zip(*(member_codes_and_kl(member, observations) for member in members))
    scores, pairwise = udr_scores(list(codes), list(kls), options)
    group = [member.run_id for member in members]
    results = []
    for position, member in enumerate(members):
        details = {
            "group": group,
            "pairwise_as_second": pairwise[:, position].tolist(),
            "kl_per_latent": None if kls[position] is None else np.asarray(kls[position]).tolist(),
            "active_latents": "every latent (no posterior)" if kls[position] is None else "KL above kl_threshold",
        }
        results.append(MetricResult([Score("udr", float(scores[position]))], details))
    return results
