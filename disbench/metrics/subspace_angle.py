"""Subspace angle: how well per-point factor subspaces match the true ones (Pfau et al. 2020).

For each point, the largest principal angle between each true factor's tangent subspace
and each found factor's subspace (``pi/2`` when their dimensions differ), then the best
matching of true to found factors (Hungarian, ``scipy.optimize.linear_sum_assignment``,
the minimum over permutations that the reference's ``avg_angle_between_subspaces``
enumerates) and the mean matched angle. As in the reference, a point whose number of
found factors is wrong scores ``pi/2`` as a whole. Lower is better; 0 is perfect,
``pi/2`` is the worst. ``subspace-angle.lenient`` gives such a point partial credit
instead (the mean over ``max(F_true, F_found)`` factors, ``pi/2`` for each unmatched one);
it is disbench's, not the reference's.

Which points: by default (``points="fitted"``) the points a transductive method was
fitted on, with their own splits, as the reference evaluates GeoManCEr; methods that
were not fitted on a sample get ``num_points`` new points. ``points="sampled"`` always
scores ``num_points`` new points, which GeoManCEr reaches by its out-of-sample extension.

The unaligned variant does not trust the ambient coordinates to be shared: it aligns the
found tangent frame to the true one by canonical correlation of the same neighbourhood
(the true kNN) seen in both spaces, then measures the angles in the canonical frame.

It is an encoder metric: it calls ``encode`` on the points and reads the ``bases``
``(N, D, k)``, ``factor_labels`` ``(N, k)`` and ``factor_counts`` ``(N,)`` extras; the fitted
points come from ``encode.fitted_sample()`` (the method's :meth:`~disbench.methods.base.Method.fitted_sample`,
attached by the evaluation) when present. The dataset must offer ``true_tangents(factors)``
(and ``product_tangents`` for the unaligned variant).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy.optimize import linear_sum_assignment

from disbench.metrics.base import MetricNotApplicable, MetricResult, Score, register_encoder_metric

RIGHT_ANGLE = np.pi / 2


def factor_angles(true_bases: list[np.ndarray], bases: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Largest principal angle between every true and every found factor subspace.

    Args:
        true_bases: F arrays ``(N, D, d_j)`` with orthonormal columns.
        bases: ``(N, D, k)`` orthonormal columns.
        labels: ``(N, k)`` found factor label of each column (``0..k-1``).

    Returns:
        ``(N, F, k)`` angles in ``[0, pi/2]``; entry ``[n, j, l]`` is ``pi/2`` when found factor
        ``l`` is absent or has a dimension other than ``d_j`` at point n.
    """
    n, _, k = bases.shape
    masks = labels[:, None, :] == np.arange(k)[None, :, None]  # (N, l, k) columns of factor l
    dims = masks.sum(axis=2)  # (N, l)
    out = np.full((n, len(true_bases), k), RIGHT_ANGLE)
    for j, truth in enumerate(true_bases):  # loop over true factors (few), vectorised over points
        d = truth.shape[2]
        overlap = np.einsum("ndi,ndc->nic", truth, bases)  # (N, d_j, k)
        masked = overlap[:, None, :, :] * masks[:, :, None, :]  # (N, l, d_j, k)
        singular = np.linalg.svd(masked, compute_uv=False)  # descending, (N, l, min(d_j, k))
        cosine = singular[:, :, d - 1] if singular.shape[2] >= d else np.zeros((n, k))
        angle = np.arccos(np.clip(cosine, 0.0, 1.0))
        out[:, j, :] = np.where(dims == d, angle, RIGHT_ANGLE)
    return out


def matched_angle(angles: np.ndarray, counts: np.ndarray, lenient: bool = False) -> np.ndarray:
    """Per point, the mean angle under the best matching of true to found factors.

    Args:
        angles: ``(N, F, k)`` from :func:`factor_angles`.
        counts: ``(N,)`` found factors per point.
        lenient: give a point with a wrong factor count partial credit instead of ``pi/2``.

    Returns:
        ``(N,)``: the mean matched angle; where ``count != F``, ``pi/2`` (the reference's rule)
        or, lenient, (sum of matched angles + ``pi/2`` per unmatched factor) / ``max(F, count)``.
    """
    num_true = angles.shape[1]
    scores = np.full(len(angles), RIGHT_ANGLE)
    for i, (cost, count) in enumerate(zip(angles, counts)):  # Hungarian has no batched form
        count = int(count)
        if count != num_true and not lenient:
            continue
        cost = cost[:, :count]
        rows, cols = linear_sum_assignment(cost)
        unmatched = abs(num_true - count)
        scores[i] = (cost[rows, cols].sum() + RIGHT_ANGLE * unmatched) / max(num_true, count)
    return scores


def cca_align(true_offsets: np.ndarray, found_offsets: np.ndarray, eps: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
    """Per-point CCA rotations mapping true and found tangent coordinates to a shared frame.

    Args:
        true_offsets: ``(N, r, K)`` neighbour offsets in true tangent coordinates.
        found_offsets: ``(N, r, k)`` the same neighbours in found tangent coordinates.

    Returns:
        ``(U, V)``: ``(N, K, c)`` and ``(N, k, c)``; canonical coordinates are ``U^T a`` and ``V^T b``.
    """

    def inverse_sqrt(cov: np.ndarray) -> np.ndarray:
        values, vectors = np.linalg.eigh(cov)
        return np.einsum("nij,nj,nkj->nik", vectors, 1.0 / np.sqrt(np.maximum(values, eps)), vectors)

    xx = np.einsum("nri,nrj->nij", true_offsets, true_offsets)
    yy = np.einsum("nri,nrj->nij", found_offsets, found_offsets)
    xy = np.einsum("nri,nrj->nij", true_offsets, found_offsets)
    u, _, vt = np.linalg.svd(inverse_sqrt(xx) @ xy @ inverse_sqrt(yy))
    c = min(u.shape[2], vt.shape[1])
    return u[:, :, :c], np.swapaxes(vt, 1, 2)[:, :, :c]


@dataclass
class SubspaceAngleOptions:
    """Attributes:
    points: ``"fitted"`` scores the points a transductive method was fitted on (the
        reference's protocol), or ``num_points`` new points for other methods;
        ``"sampled"`` always scores ``num_points`` new points (out-of-sample extension).
    num_points: points sampled from the dataset and encoded when new points are scored
        (at most --n-eval unless set).
    alignment_neighbors: true-space neighbours used by the unaligned (CCA) variant; 0 skips it.
    """

    points: Literal["fitted", "sampled"] = "fitted"
    num_points: int = field(default=1000, metadata={"budget": "n_eval"})
    alignment_neighbors: int = 10

    def __post_init__(self) -> None:
        if self.points not in ("fitted", "sampled"):
            raise ValueError(f"points must be 'fitted' or 'sampled', got {self.points!r}")
        if self.num_points < 2:
            raise ValueError(f"num_points must be at least 2, got {self.num_points}")
        if self.alignment_neighbors < 0:
            raise ValueError(f"alignment_neighbors must be >= 0, got {self.alignment_neighbors}")


def read_subspaces(representation) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(bases, labels, counts)`` from a Representation's extras, or MetricNotApplicable."""
    missing = [key for key in ("bases", "factor_labels", "factor_counts") if key not in representation.extras]
    if missing:
        raise MetricNotApplicable(
            f"subspace-angle needs per-point factor subspaces (extras {', '.join(missing)} are missing); "
            "use a method that returns them, such as geomancer."
        )
    extras = representation.extras
    return np.asarray(extras["bases"], float), np.asarray(extras["factor_labels"]), np.asarray(extras["factor_counts"])


@register_encoder_metric(
    "subspace-angle",
    higher_is_better=False,
    value_range=(0.0, float(RIGHT_ANGLE)),
    reference="Pfau, Higgins, Botev, Racaniere 2020, Disentangling by Subspace Diffusion",
    summary="mean largest principal angle between true and found factor subspaces (radians)",
    options=SubspaceAngleOptions,
)
def subspace_angle(encode, space, dataset, options: SubspaceAngleOptions, rng: np.random.Generator) -> MetricResult:
    """Subspace angle of a method's per-point factor subspaces (module docstring).

    Scores: ``subspace-angle`` (mean over points), ``subspace-angle.std``,
    ``subspace-angle.right_count`` (fraction of points with the true factor count),
    ``subspace-angle.lenient`` (partial credit for a wrong count) and, unless
    ``alignment_neighbors`` is 0, ``subspace-angle.unaligned``.

    Raises:
        MetricNotApplicable: the dataset has no true tangents, or the method returns no subspaces.
    """
    if not hasattr(dataset, "true_tangents"):
        raise MetricNotApplicable(
            f"subspace-angle needs a dataset with true tangent spaces (such as product-manifold); "
            f"{dataset.name!r} has none."
        )
    fitted = getattr(encode, "fitted_sample", None)
    sample = fitted() if options.points == "fitted" and fitted is not None else None
    if sample is not None:
        observations, factors = sample
    else:
        factors = dataset.sample_factors(options.num_points, rng)
        observations = dataset.observations_from_factors(factors, rng)
    representation = encode(observations, factors)
    bases, labels, counts = read_subspaces(representation)
    truth = dataset.true_tangents(factors)
    angles = factor_angles(truth, bases, labels)
    per_point = matched_angle(angles, counts)
    scores = [
        Score("subspace-angle", float(per_point.mean())),
        Score("subspace-angle.std", float(per_point.std())),
        Score("subspace-angle.right_count", float(np.mean(counts == len(truth))), higher_is_better=True),
        Score("subspace-angle.lenient", float(matched_angle(angles, counts, lenient=True).mean())),
    ]
    details = {
        "points_scored": "fitted" if sample is not None else "sampled",
        "num_points_scored": len(factors),
        "num_true_factors": len(truth),
        "num_found_factors_mode": int(np.bincount(counts).argmax()),
    }
    for key in ("separable", "spectrum", "num_factors"):  # the fit's verdict travels with the score
        if key in representation.extras:
            value = np.asarray(representation.extras[key])[0]
            details[key] = value.tolist() if value.ndim else value.item()
    if options.alignment_neighbors:
        unaligned = unaligned_angle(
            dataset, factors, np.asarray(observations, dtype=np.float64), bases, labels, counts, options.alignment_neighbors
        )
        scores.append(Score("subspace-angle.unaligned", float(unaligned.mean())))
    return MetricResult(scores, details)


def unaligned_angle(dataset, factors, observations, bases, labels, counts, num_neighbors: int) -> np.ndarray:
    """Per-point angle after CCA alignment on the true neighbourhood (paper's unaligned protocol).

    Returns:
        ``(N,)`` matched mean angles, in the canonical frame of each point.
    """
    from sklearn.neighbors import NearestNeighbors

    true_parts = dataset.product_tangents(factors)  # F arrays (N, product_dim, d_j)
    true_frame = np.concatenate(true_parts, axis=2)
    r = min(num_neighbors, len(factors) - 1)
    neighbors = NearestNeighbors(n_neighbors=r).fit(factors).kneighbors(return_distance=False)
    true_offsets = np.einsum("nrd,ndk->nrk", factors[neighbors] - factors[:, None, :], true_frame)
    found_offsets = np.einsum("nrd,ndk->nrk", observations[neighbors] - observations[:, None, :], bases)
    u, v = cca_align(true_offsets, found_offsets)
    bounds = np.cumsum([0] + [t.shape[2] for t in true_parts])
    # true factor j in canonical coordinates: rows bounds[j]:bounds[j+1] of U (coordinates of its basis)
    true_canonical = [u[:, a:b, :].transpose(0, 2, 1) for a, b in zip(bounds[:-1], bounds[1:])]
    found_canonical = np.swapaxes(v, 1, 2)  # (N, c, k): column c' is found direction c' in canonical coordinates
    true_canonical = [np.linalg.qr(t)[0] for t in true_canonical]
    return matched_angle(factor_angles(true_canonical, found_canonical, labels), counts)
