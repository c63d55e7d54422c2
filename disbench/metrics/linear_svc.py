"""One-feature linear SVMs, many at once, following scikit-learn's LinearSVC step by step.

The SAP score fits, for every (code dimension, factor) pair, a
``LinearSVC(C=0.01, class_weight="balanced")`` on that single dimension. Each
binary problem is liblinear's L2-regularised squared-hinge primal with the
intercept regularised like a weight (liblinear appends a constant feature):

    f(w, b) = (w^2 + b^2) / 2 + sum_i c_i max(0, 1 - s_i (w x_i + b))^2

with labels ``s_i = +-1`` and costs ``c_i``. scikit-learn solves it with
liblinear's trust-region Newton method (TRON, ``tol=1e-4``), which stops before
the exact optimum; predictions near a decision boundary depend on where it
stops, so to reproduce its scores we run the *same* TRON iterations (same
trust-region rules, conjugate-gradient steps and stopping test), vectorised over
all problems of a code dimension.

The speed comes from the single feature: the samples whose hinge is active form
a prefix or suffix of the samples sorted by ``x``, so every sum the method needs
(the objective, gradient and Hessian) is a lookup in per-class cumulative sums of
``1, x, x^2`` after one ``np.searchsorted``, instead of a pass over the samples.

liblinear's multi-class conventions are kept: one-vs-rest, where the positive
class costs ``C * weight[k]`` and every negative sample costs plain ``C``
(``train_one(..., weighted_C[i], param->C)``); with two classes one problem, class
1 positive, each sample costing ``C * weight[its class]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# TRON's constants (liblinear tron.cpp)
_ETA0, _ETA1, _ETA2 = 1e-4, 0.25, 0.75
_SIGMA1, _SIGMA2, _SIGMA3 = 0.25, 0.5, 4.0


@dataclass
class _SortedSums:
    """Prefix sums of ``(1, x, x^2)`` over the samples sorted by ``x``, per class and in total.

    Samples are ranked by ``x``; keys ``class * (n + 1) + rank`` sorted once give every
    class's samples as one contiguous, rank-ordered segment, so "class ``k`` samples of
    rank below ``r``" is one ``searchsorted`` and one difference of a single cumulative
    sum (exact integer keys, no ``K x n`` table).

    Attributes:
        x_sorted: ``(n,)``.
        keys: ``(n,)`` sorted keys ``class * (n + 1) + rank``.
        class_cumsum: ``(n + 1, 3)`` cumulative moments in key order.
        total: ``(n + 1, 3)`` cumulative moments in rank order.
    """

    x_sorted: np.ndarray
    keys: np.ndarray
    class_cumsum: np.ndarray
    total: np.ndarray

    @staticmethod
    def build(x: np.ndarray, labels: np.ndarray, order: np.ndarray | None = None) -> "_SortedSums":
        """``order``: a stable argsort of ``x``, when the caller already has it."""
        n = len(x)
        if order is None:
            order = np.argsort(x, kind="stable")
        xs = x[order]
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n)
        keys = labels.astype(np.int64) * (n + 1) + rank
        # a stable sort of the labels in rank order sorts the keys (radix sort on small ints)
        key_order = order[np.argsort(labels[order], kind="stable")]

        def cumulative(values: np.ndarray) -> np.ndarray:
            out = np.zeros((n + 1, 3))
            np.cumsum(np.stack([np.ones_like(values), values, values * values], axis=1), axis=0, out=out[1:])
            return out

        return _SortedSums(xs, keys[key_order], cumulative(x[key_order]), cumulative(xs))

    def class_prefix(self, classes: np.ndarray, rank_limit: np.ndarray) -> np.ndarray:
        """Moments of the samples of ``classes[p]`` with rank below ``rank_limit[p]``; ``(P, 3)``."""
        n1 = len(self.x_sorted) + 1
        start = np.searchsorted(self.keys, classes * n1)
        stop = np.searchsorted(self.keys, classes * n1 + rank_limit)
        return self.class_cumsum[stop] - self.class_cumsum[start]


class _OneFeatureSquaredHinge:
    """The objective, gradient and Hessian-vector product of ``P`` one-feature problems.

    Problem ``p`` has positive class ``positive[p]`` with cost ``cost_pos[p]``; its
    negatives are every other sample, with cost ``cost_neg[p]``.
    """

    def __init__(self, sums: _SortedSums, positive: np.ndarray, cost_pos: np.ndarray, cost_neg: np.ndarray):
        self.sums = sums
        self.positive = positive
        self.cost_pos = cost_pos
        self.cost_neg = cost_neg
        self.hessian = None  # (A, B, D) of the active set at the last gradient point
        n = len(sums.x_sorted)
        self._pos_all = sums.class_prefix(positive, np.full(len(positive), n))
        self._neg_all = sums.total[n] - self._pos_all

    def _split(self, threshold: np.ndarray, below: np.ndarray, is_positive: bool) -> np.ndarray:
        """Moments of the positives (or negatives) with ``x < t`` where ``below``, else ``x > t``."""
        xs, sums = self.sums.x_sorted, self.sums
        lower = np.searchsorted(xs, threshold, side="left")  # ranks with x < t
        upper = np.searchsorted(xs, threshold, side="right")  # ranks with x <= t
        if is_positive:
            under = sums.class_prefix(self.positive, lower)
            under_eq = sums.class_prefix(self.positive, upper)
            everything = self._pos_all
        else:
            under = sums.total[lower] - sums.class_prefix(self.positive, lower)
            under_eq = sums.total[upper] - sums.class_prefix(self.positive, upper)
            everything = self._neg_all
        return np.where(below[:, None], under, everything - under_eq)

    def _active_sums(self, w: np.ndarray, b: np.ndarray):
        """Moments of the active positives (``w x + b < 1``) and negatives (``w x + b > -1``), each ``(P, 3)``."""
        flat = w == 0
        safe_w = np.where(flat, 1.0, w)
        pos = self._split((1.0 - b) / safe_w, w > 0, True)
        neg = self._split((-1.0 - b) / safe_w, w < 0, False)
        # w == 0: a whole side is active exactly when its margin is below 1
        pos = np.where(flat[:, None], np.where((b < 1.0)[:, None], self._pos_all, 0.0), pos)
        neg = np.where(flat[:, None], np.where((b > -1.0)[:, None], self._neg_all, 0.0), neg)
        return pos, neg

    def fun(self, w: np.ndarray, b: np.ndarray) -> np.ndarray:
        pos, neg = self._active_sums(w, b)
        loss_pos = (1.0 - b) ** 2 * pos[:, 0] - 2.0 * (1.0 - b) * w * pos[:, 1] + w * w * pos[:, 2]
        loss_neg = (1.0 + b) ** 2 * neg[:, 0] + 2.0 * (1.0 + b) * w * neg[:, 1] + w * w * neg[:, 2]
        return 0.5 * (w * w + b * b) + self.cost_pos * loss_pos + self.cost_neg * loss_neg

    def grad(self, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pos, neg = self._active_sums(w, b)
        cp, cn = self.cost_pos, self.cost_neg
        g_w = w + 2.0 * (cp * (w * pos[:, 2] + (b - 1.0) * pos[:, 1]) + cn * (w * neg[:, 2] + (b + 1.0) * neg[:, 1]))
        g_b = b + 2.0 * (cp * (w * pos[:, 1] + (b - 1.0) * pos[:, 0]) + cn * (w * neg[:, 1] + (b + 1.0) * neg[:, 0]))
        self.hessian = (
            cp * pos[:, 2] + cn * neg[:, 2],
            cp * pos[:, 1] + cn * neg[:, 1],
            cp * pos[:, 0] + cn * neg[:, 0],
        )
        return g_w, g_b

    def hv(self, s_w: np.ndarray, s_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a, bb, d = self.hessian
        return s_w + 2.0 * (a * s_w + bb * s_b), s_b + 2.0 * (bb * s_w + d * s_b)


def _trcg(problem: _OneFeatureSquaredHinge, delta, g_w, g_b):
    """liblinear's truncated conjugate gradient inside the trust region, for every problem at once."""
    s_w, s_b = np.zeros_like(g_w), np.zeros_like(g_b)
    r_w, r_b = -g_w, -g_b
    d_w, d_b = r_w.copy(), r_b.copy()
    cgtol = 0.1 * np.hypot(g_w, g_b)
    rtr = r_w * r_w + r_b * r_b
    running = np.ones(len(g_w), dtype=bool)
    for _ in range(50):
        running &= np.sqrt(r_w * r_w + r_b * r_b) > cgtol
        if not running.any():
            break
        hd_w, hd_b = problem.hv(d_w, d_b)
        with np.errstate(divide="ignore", invalid="ignore"):
            alpha = rtr / (d_w * hd_w + d_b * hd_b)
        alpha = np.where(running, alpha, 0.0)
        new_s_w, new_s_b = s_w + alpha * d_w, s_b + alpha * d_b
        boundary = running & (np.sqrt(new_s_w * new_s_w + new_s_b * new_s_b) > delta)
        if boundary.any():
            std = s_w * d_w + s_b * d_b
            sts = s_w * s_w + s_b * s_b
            dtd = d_w * d_w + d_b * d_b
            dsq = delta * delta
            with np.errstate(invalid="ignore", divide="ignore"):
                rad = np.sqrt(std * std + dtd * (dsq - sts))
                to_edge = np.where(std >= 0, (dsq - sts) / (std + rad), (rad - std) / dtd)
            new_s_w = np.where(boundary, s_w + to_edge * d_w, new_s_w)
            new_s_b = np.where(boundary, s_b + to_edge * d_b, new_s_b)
            alpha = np.where(boundary, to_edge, alpha)
        s_w, s_b = new_s_w, new_s_b
        r_w, r_b = r_w - alpha * hd_w, r_b - alpha * hd_b
        running &= ~boundary
        rnew = r_w * r_w + r_b * r_b
        with np.errstate(divide="ignore", invalid="ignore"):
            beta = np.where(running, rnew / rtr, 0.0)
        d_w = np.where(running, beta * d_w + r_w, d_w)
        d_b = np.where(running, beta * d_b + r_b, d_b)
        rtr = np.where(running, rnew, rtr)
    return s_w, s_b, r_w, r_b


def _tron(problem: _OneFeatureSquaredHinge, eps: np.ndarray, max_iter: int = 1000):
    """liblinear's TRON from ``w = 0`` for every problem at once; returns ``(w, b)``."""
    num = len(eps)
    w, b = np.zeros(num), np.zeros(num)
    f = problem.fun(w, b)
    g_w, g_b = problem.grad(w, b)
    hessian = problem.hessian
    delta = np.hypot(g_w, g_b)
    gnorm1 = delta.copy()
    searching = ~(delta <= eps * gnorm1)
    iteration = np.ones(num, dtype=np.int64)
    while searching.any():
        problem.hessian = hessian
        s_w, s_b, r_w, r_b = _trcg(problem, delta, g_w, g_b)
        w_new, b_new = w + s_w, b + s_b
        gs = g_w * s_w + g_b * s_b
        prered = -0.5 * (gs - (s_w * r_w + s_b * r_b))
        fnew = problem.fun(w_new, b_new)
        actred = f - fnew
        snorm = np.hypot(s_w, s_b)
        delta = np.where(searching & (iteration == 1), np.minimum(delta, snorm), delta)
        curvature = fnew - f - gs
        with np.errstate(divide="ignore", invalid="ignore"):
            alpha = np.where(curvature <= 0, _SIGMA3, np.maximum(_SIGMA1, -0.5 * (gs / curvature)))
        new_delta = np.where(
            actred < _ETA0 * prered,
            np.minimum(np.maximum(alpha, _SIGMA1) * snorm, _SIGMA2 * delta),
            np.where(
                actred < _ETA1 * prered,
                np.maximum(_SIGMA1 * delta, np.minimum(alpha * snorm, _SIGMA2 * delta)),
                np.where(
                    actred < _ETA2 * prered,
                    np.maximum(_SIGMA1 * delta, np.minimum(alpha * snorm, _SIGMA3 * delta)),
                    np.maximum(delta, np.minimum(alpha * snorm, _SIGMA3 * delta)),
                ),
            ),
        )
        delta = np.where(searching, new_delta, delta)
        accept = searching & (actred > _ETA0 * prered)
        if accept.any():
            iteration = np.where(accept, iteration + 1, iteration)
            w, b, f = np.where(accept, w_new, w), np.where(accept, b_new, b), np.where(accept, fnew, f)
            new_g_w, new_g_b = problem.grad(w, b)
            g_w, g_b = np.where(accept, new_g_w, g_w), np.where(accept, new_g_b, g_b)
            hessian = tuple(np.where(accept, new, old) for new, old in zip(problem.hessian, hessian))
            converged = accept & (np.hypot(g_w, g_b) <= eps * gnorm1)
            searching &= ~converged
        stalled = (
            (f < -1.0e32)
            | ((np.abs(actred) <= 0) & (prered <= 0))
            | ((np.abs(actred) <= 1.0e-12 * np.abs(f)) & (np.abs(prered) <= 1.0e-12 * np.abs(f)))
        )
        searching &= ~stalled & (iteration <= max_iter)
    return w, b


def balanced_class_weights(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """scikit-learn's ``class_weight="balanced"``: ``n / (K * count_k)``."""
    counts = np.bincount(labels, minlength=num_classes)
    return len(labels) / (num_classes * np.maximum(counts, 1))


def fit_predict_one_feature_svc(
    train_x: np.ndarray,
    train_labels: np.ndarray,
    test_x: np.ndarray,
    num_classes: int,
    C: float,
    tol: float = 1e-4,
    max_iter: int = 1000,
    orders: list[np.ndarray] | None = None,
) -> np.ndarray:
    """Fit ``LinearSVC(C, class_weight="balanced", tol, max_iter)`` on each column alone; predict the test points.

    Args:
        train_x: ``(n, d)``: column ``j`` is the only feature of classifier ``j``.
        train_labels: ``(n,)`` labels ``0 .. num_classes - 1``, every label present.
        test_x: ``(m, d)``.
        num_classes: ``K >= 2``.
        C: inverse regularisation strength.
        tol, max_iter: LinearSVC's stopping tolerance and iteration cap.
        orders: stable argsort of each column of ``train_x``, to share between factors.

    Returns:
        ``(m, d)`` labels predicted by each column's classifier.
    """
    n, d = train_x.shape
    class_weight = balanced_class_weights(train_labels, num_classes)
    class_counts = np.bincount(train_labels, minlength=num_classes)
    if num_classes == 2:
        positive = np.array([1])
        cost_pos = np.array([C * class_weight[1]])
        cost_neg = np.array([C * class_weight[0]])
    else:
        positive = np.arange(num_classes)
        cost_pos = C * class_weight
        cost_neg = np.full(num_classes, C)
    pos_count = class_counts[positive]
    # liblinear's primal stopping tolerance: tol * max(min(pos, neg), 1) / n
    eps = tol * np.maximum(np.minimum(pos_count, n - pos_count), 1) / n
    predictions = np.empty((len(test_x), d), dtype=np.int64)
    for column in range(d):
        sums = _SortedSums.build(
            train_x[:, column].astype(np.float64), train_labels, None if orders is None else orders[column]
        )
        problem = _OneFeatureSquaredHinge(sums, positive, cost_pos, cost_neg)
        w, b = _tron(problem, eps, max_iter)
        decision = test_x[:, column, None] * w + b  # (m, P)
        if num_classes == 2:
            predictions[:, column] = decision[:, 0] > 0
        else:
            predictions[:, column] = np.argmax(decision, axis=1)
    return predictions
