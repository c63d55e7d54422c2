"""Exact-threshold gradient-boosted trees for DCI: scikit-learn's ``GradientBoostingClassifier()``.

Fits, for every factor at once, the model that disentanglement_lib's DCI fits with
``GradientBoostingClassifier()`` (scikit-learn's defaults): multinomial log loss with one
regression tree per class and stage (one tree for a binary factor), 100 stages, learning
rate 0.1, initial scores from the class priors, depth-3 trees grown on the negative
gradient by the best squared-error reduction over *every* threshold (midpoints between
consecutive distinct values of the float32 codes, values closer than 1e-7 counted as
equal), a node left unsplit when its impurity is at most machine epsilon, leaf values by
one Newton step ``(K-1)/K * sum(residual) / sum(p (1 - p))``, and importances = the
summed impurity decreases normalised to one (scikit-learn's ``feature_importances_``:
per-tree unnormalised importances averaged over trees, then normalised).

scikit-learn sorts each node's samples again for every dimension of every tree (113
trees per stage on dSprites' factors: 430 s at 10,000 points on 2 cores). The codes never
change between trees, so here each dimension is sorted once per fit; as in scikit-learn's
splitter, a node owns a segment of each dimension's sorted order, scanned once per
dimension with running left sums: every gap between two consecutive in-node values
(more than 1e-7 apart) is a candidate split, scored with those sums, exactly scikit-learn's
candidates and sums. A split partitions the segments stably into its children's. The
scans are compiled (numba, cached on disk after the first compilation) and the trees
of a stage are grown in parallel threads, chunk by chunk, each tree's arithmetic its
own: the result does not depend on the thread count.

Ties between equally good dimensions (gains within a relative 1e-12) are broken by a
random order of the dimensions per node drawn from the given generator (scikit-learn
visits features in a random order and keeps the first best); ties within a dimension go
to the lowest threshold, as in scikit-learn.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numba
import numpy as np

# scikit-learn's tree code: values closer than this are never split apart, and a node
# whose impurity is at most machine epsilon is a leaf.
FEATURE_THRESHOLD = 1e-7
IMPURITY_EPSILON = float(np.finfo(np.float64).eps)
# relative difference below which two candidate gains are a tie (the same partition of
# the samples reached through different dimensions sums in a different order)
TIE_TOLERANCE = 1e-12


@dataclass
class BoostedTreesResult:
    """Attributes:
    importances: ``(d, F)`` gain importances, each column summing to 1 (0 if no split was made).
    train_accuracy, test_accuracy: ``(F,)``.
    """

    importances: np.ndarray
    train_accuracy: np.ndarray
    test_accuracy: np.ndarray


@dataclass
class TreeSlots:
    """The boosted trees of every factor side by side, as scikit-learn grows them.

    A factor of ``K > 2`` classes has ``K`` trees per stage (one per class, multinomial
    deviance), a binary factor one (binomial deviance); ``blocks[f]`` are factor ``f``'s
    slots. ``target`` holds each slot's 0/1 class indicator ``(slots, n)``, ``init`` the
    starting raw score (log prior odds, or log priors), ``leaf_scale`` the ``(K - 1) / K``
    of multinomial leaf values.
    """

    binary: np.ndarray
    blocks: list[slice]
    num_slots: int
    slot_factor: np.ndarray
    target: np.ndarray
    leaf_scale: np.ndarray
    init: np.ndarray

    @staticmethod
    def for_factors(train_labels: np.ndarray, num_classes: list[int]) -> "TreeSlots":
        n = len(train_labels)
        binary = np.array([k == 2 for k in num_classes])
        slots_per_factor = [1 if b else k for k, b in zip(num_classes, binary)]
        starts = np.concatenate([[0], np.cumsum(slots_per_factor)])
        blocks = [slice(int(a), int(b)) for a, b in zip(starts[:-1], starts[1:])]
        num_slots = int(starts[-1])
        target = np.zeros((num_slots, n))
        leaf_scale = np.ones(num_slots)
        init = np.zeros(num_slots)
        for f, (block, is_binary, k) in enumerate(zip(blocks, binary, num_classes)):
            prior = np.bincount(train_labels[:, f], minlength=k) / n
            if is_binary:
                target[block] = train_labels[:, f] == 1
                init[block] = np.log(prior[1] / prior[0])
            else:
                target[block] = train_labels[:, f][None, :] == np.arange(k)[:, None]
                init[block] = np.log(np.maximum(prior, 1e-300))
                leaf_scale[block] = (k - 1) / k
        slot_factor = np.repeat(np.arange(len(num_classes)), slots_per_factor)
        return TreeSlots(binary, blocks, num_slots, slot_factor, target, leaf_scale, init)


def predict_labels(raw: np.ndarray, blocks: list[slice], binary: np.ndarray) -> list[np.ndarray]:
    """Each factor's predicted class from the raw scores ``(T, n)``: the sign if binary, else the top class."""
    return [
        (raw[block][0] > 0).astype(np.int64) if is_binary else np.argmax(raw[block], axis=0)
        for block, is_binary in zip(blocks, binary)
    ]


@numba.njit(parallel=True, cache=True, nogil=True)
def _probabilities(raw, block_start, block_stop, binary, proba):
    """Each slot's probability ``(T, n)`` into ``proba``: softmax over a factor's block of classes, sigmoid if binary.

    The samples are independent, so they run in parallel.
    """
    n = raw.shape[1]
    for i in numba.prange(n):
        for f in range(block_start.shape[0]):
            a, b = block_start[f], block_stop[f]
            if binary[f]:
                proba[a, i] = 1.0 / (1.0 + np.exp(-raw[a, i]))
            else:
                top = raw[a, i]
                for s in range(a + 1, b):
                    top = max(top, raw[s, i])
                total = 0.0
                for s in range(a, b):
                    proba[s, i] = np.exp(raw[s, i] - top)
                    total += proba[s, i]
                for s in range(a, b):
                    proba[s, i] /= total


@numba.njit(parallel=True, cache=True, nogil=True)
def _boosting_stage(order, sorted_values, train_by_dim, test_by_dim, target, proba, priority, leaf_scale, learning_rate,
                    max_depth, split_dim, split_decrease, raw, raw_test, num_chunks):
    """One boosting stage: a depth-``max_depth`` regression tree per slot, added to the raw scores.

    Each slot ``t`` gets a tree fitted to its negative gradient ``target[t] - proba[t]``;
    its leaves take one Newton step as scikit-learn's (``leaf_scale[t] * mean(residual) /
    mean(p (1 - p))``, zero where the hessian vanishes), and ``raw``/``raw_test`` ``(T, n)``
    / ``(T, m)`` grow by ``learning_rate`` times the leaf of each sample. Writes the split
    dimension and impurity decrease (0 where no split) of each node, heap-indexed (level
    ``l`` node ``k`` at ``2**l - 1 + k``). Trees are grown in ``num_chunks`` parallel chunks.
    """
    num_trees, n = raw.shape
    num_leaves = 1 << max_depth
    for chunk in numba.prange(num_chunks):
        # one workspace per chunk of trees (allocating megabytes per tree costs page faults)
        segment_order = np.empty_like(order)
        segment_values = np.empty_like(sorted_values)
        spare_order = np.empty_like(order)
        spare_values = np.empty_like(sorted_values)
        goes_right = np.zeros(n, np.uint8)
        bounds = np.zeros(num_leaves + 1, np.int64)
        residual = np.empty(n)
        leaf = np.empty(n, np.int64)
        threshold = np.empty(num_leaves - 1)
        for t in range(chunk, num_trees, num_chunks):
            for i in range(n):
                residual[i] = target[t, i] - proba[t, i]
            _grow_tree(order, sorted_values, train_by_dim, residual, priority[t], max_depth, split_dim[t], threshold,
                       split_decrease[t], leaf, segment_order, segment_values, spare_order, spare_values, goes_right, bounds)
            # Newton step per leaf, as scikit-learn: averages, zero where the hessian vanishes
            count = np.zeros(num_leaves)
            sum_g = np.zeros(num_leaves)
            sum_h = np.zeros(num_leaves)
            for i in range(n):
                count[leaf[i]] += 1.0
                sum_g[leaf[i]] += residual[i]
                sum_h[leaf[i]] += proba[t, i] * (1.0 - proba[t, i])
            value = np.zeros(num_leaves)
            for k in range(num_leaves):
                if count[k] > 0:
                    mean_h = sum_h[k] / count[k]
                    if abs(mean_h) >= 1e-150:
                        value[k] = (sum_g[k] / count[k]) * leaf_scale[t] / mean_h
            for i in range(n):
                raw[t, i] += learning_rate * value[leaf[i]]
            for i in range(test_by_dim.shape[1]):
                k = 0
                for level in range(max_depth):
                    heap = (1 << level) - 1 + k
                    k = 2 * k + (1 if test_by_dim[split_dim[t, heap], i] > threshold[heap] else 0)
                raw_test[t, i] += learning_rate * value[k]


@numba.njit(inline="always")
def _candidate(value, previous, left, total, count, left_count, bar, gain, threshold):
    """The split between ``previous`` and ``value`` (left sum ``left`` of ``left_count`` samples) if it beats ``bar``.

    Returns the updated ``(bar, gain, threshold)``. The gain ``ls^2 / lc + rs^2 / rc`` is
    compared as ``ls^2 rc + rs^2 lc`` against the bar times ``lc rc`` (no division unless
    the candidate wins); the bar is the best gain plus the tie tolerance, so that among
    tied thresholds the lowest stays, as in scikit-learn.
    """
    if value > previous + FEATURE_THRESHOLD:
        right_count = count - left_count
        right = total - left
        if left * left * right_count + right * right * left_count > bar * (left_count * right_count):
            gain = left * left / left_count + right * right / right_count
            bar = gain + TIE_TOLERANCE * abs(gain)
            threshold = previous / 2.0 + value / 2.0
            if threshold == value or np.isinf(threshold):
                threshold = previous  # scikit-learn's rule where the midpoint rounds onto the right value
    return bar, gain, threshold


@numba.njit(cache=True, nogil=True)
def _grow_tree(order, sorted_values, values_by_dim, r, priority, max_depth, split_dim, split_threshold, split_decrease, node,
               segment_order, segment_values, spare_order, spare_values, goes_right, bounds):
    """One tree of :func:`_boosting_stage` on the residuals ``r``, in the given workspace.

    ``order`` ``(d, n)``: each dimension's samples in increasing order of value
    (``sorted_values``). Each node owns a segment ``bounds[k]:bounds[k + 1]`` of every
    dimension's order; a split partitions each segment stably into its children's (the
    root's segments are ``order`` itself, the partitions alternate between the two
    workspace pairs). Dimensions are scanned two at a time, so that their running sums
    are independent chains of additions. Writes the split of each node heap-indexed
    (level ``l`` node ``k`` at ``2**l - 1 + k``; threshold ``+inf``: no split, every
    sample goes left) and each sample's leaf into ``node``.
    """
    d, n = order.shape
    workspace_order, workspace_values = segment_order, segment_values
    segment_order, segment_values = order, sorted_values
    bounds[0] = 0
    bounds[1] = n
    best_gain = np.empty(d)
    best_threshold = np.empty(d)
    for level in range(max_depth):
        m = 1 << level
        base = m - 1
        new_bounds = np.zeros(2 * m + 1, np.int64)
        for k in range(m):
            start, end = bounds[k], bounds[k + 1]
            count = float(end - start)
            total = 0.0
            squares = 0.0
            for p in range(start, end):
                value = r[segment_order[0, p]]
                total += value
                squares += value * value
            splittable = False
            if count >= 2.0:
                mean = total / count
                splittable = squares / count - mean * mean > IMPURITY_EPSILON
            chosen = -1
            if splittable:
                # two dimensions per pass: their running sums are independent chains of additions
                for first in range(0, d, 2):
                    second = min(first + 1, d - 1)
                    previous_a, previous_b = segment_values[first, start], segment_values[second, start]
                    left_a, left_b = r[segment_order[first, start]], r[segment_order[second, start]]
                    bar_a = bar_b = gain_a = gain_b = -np.inf
                    threshold_a = threshold_b = np.inf
                    for p in range(start + 1, end):
                        left_count = float(p - start)
                        value_a, value_b = segment_values[first, p], segment_values[second, p]
                        bar_a, gain_a, threshold_a = _candidate(value_a, previous_a, left_a, total, count, left_count, bar_a, gain_a, threshold_a)
                        bar_b, gain_b, threshold_b = _candidate(value_b, previous_b, left_b, total, count, left_count, bar_b, gain_b, threshold_b)
                        left_a += r[segment_order[first, p]]
                        left_b += r[segment_order[second, p]]
                        previous_a, previous_b = value_a, value_b
                    best_gain[first], best_threshold[first] = gain_a, threshold_a
                    best_gain[second], best_threshold[second] = gain_b, threshold_b
                # the best dimension; near-ties go to the node's random dimension order
                top = -np.inf
                for j in range(d):
                    top = max(top, best_gain[j])
                if top > -np.inf:
                    for j in range(d):
                        if best_gain[j] >= top - TIE_TOLERANCE * abs(top) and (chosen < 0 or priority[base + k, j] < priority[base + k, chosen]):
                            chosen = j
            heap = base + k
            if chosen >= 0:
                split_dim[heap] = chosen
                split_threshold[heap] = best_threshold[chosen]
                split_decrease[heap] = best_gain[chosen] - total * total / count
            else:
                split_dim[heap] = 0
                split_threshold[heap] = np.inf
                split_decrease[heap] = 0.0
            num_left = 0
            for p in range(start, end):
                i = segment_order[0, p]
                goes_right[i] = values_by_dim[split_dim[heap], i] > split_threshold[heap]
                num_left += 1 - np.int64(goes_right[i])
                node[i] = 2 * k + goes_right[i]  # the leaf, after the last level
            new_bounds[2 * k] = start
            new_bounds[2 * k + 1] = start + num_left
        new_bounds[2 * m] = n
        bounds[: 2 * m + 1] = new_bounds
        if level + 1 == max_depth:
            break
        # stable partition of every node's segment: left child's samples, then the right's
        for k in range(m):
            start, middle, end = new_bounds[2 * k], new_bounds[2 * k + 1], new_bounds[2 * k + 2]
            for j in range(d):
                to_left, to_right = start, middle
                for p in range(start, end):
                    # branch-free: the side is a coin flip the branch predictor cannot learn
                    i = segment_order[j, p]
                    right = np.int64(goes_right[i])
                    target = to_right if right else to_left
                    spare_order[j, target] = i
                    spare_values[j, target] = segment_values[j, p]
                    to_right += right
                    to_left += 1 - right
        segment_order, spare_order = spare_order, (workspace_order if level == 0 else segment_order)
        segment_values, spare_values = spare_values, (workspace_values if level == 0 else segment_values)


def _threads() -> int:
    """Threads for the trees: numba's count, at most the cores this process may run on (a
    job's share under Slurm or taskset, where numba would count the machine's cores)."""
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    threads = max(1, min(numba.get_num_threads(), available))
    numba.set_num_threads(threads)
    return threads


def fit_exact_boosted_trees(
    train_x: np.ndarray,
    train_labels: np.ndarray,
    num_classes: list[int],
    test_x: np.ndarray,
    test_labels: np.ndarray,
    n_estimators: int = 100,
    learning_rate: float = 0.1,
    max_depth: int = 3,
    rng: np.random.Generator | None = None,
):
    """Fit one scikit-learn-equal gradient-boosted classifier per factor (all at once) and score it.

    Args:
        train_x: ``(n, d)`` codes.
        train_labels: ``(n, F)`` labels, column ``f`` in ``0 .. num_classes[f] - 1``.
        num_classes: ``K_f >= 2`` per factor.
        test_x: ``(m, d)``.
        test_labels: ``(m, F)`` labels on the same scale (``-1`` for a value unseen in training).
        n_estimators, learning_rate, max_depth: scikit-learn's defaults.
        rng: orders the dimensions of each node to break ties (seeded default).

    Returns:
        :class:`BoostedTreesResult`.
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    # scikit-learn compares the float32 codes (its trees' dtype) in double precision
    train_by_dim = np.ascontiguousarray(train_x.astype(np.float32).astype(np.float64).T)
    test_by_dim = np.ascontiguousarray(test_x.astype(np.float32).astype(np.float64).T)
    d, n = train_by_dim.shape
    # each dimension sorted once per fit
    order = np.ascontiguousarray(np.argsort(train_by_dim, axis=1, kind="stable").astype(np.int32))
    sorted_values = np.ascontiguousarray(np.take_along_axis(train_by_dim, order, axis=1))
    slots = TreeSlots.for_factors(train_labels, num_classes)
    binary, factor_blocks, num_slots = slots.binary, slots.blocks, slots.num_slots
    target, leaf_scale = np.ascontiguousarray(slots.target), slots.leaf_scale
    raw = np.repeat(slots.init[:, None], n, axis=1)
    raw_test = np.repeat(slots.init[:, None], len(test_x), axis=1)
    importance = np.zeros((num_slots, d))
    num_nodes = 2**max_depth - 1
    split_dim = np.zeros((num_slots, num_nodes), np.int64)
    split_decrease = np.zeros((num_slots, num_nodes))
    threads = _threads()
    block_start = np.array([block.start for block in factor_blocks], np.int64)
    block_stop = np.array([block.stop for block in factor_blocks], np.int64)
    proba = np.empty_like(raw)
    for _ in range(n_estimators):
        _probabilities(raw, block_start, block_stop, binary, proba)
        # one random dimension order per node, drawn level by level
        priority = np.concatenate([rng.random((num_slots, 2**level, d)) for level in range(max_depth)], axis=1)
        _boosting_stage(order, sorted_values, train_by_dim, test_by_dim, target, proba, priority, leaf_scale, learning_rate,
                        max_depth, split_dim, split_decrease, raw, raw_test, threads)
        np.add.at(importance, (np.repeat(np.arange(num_slots), num_nodes), split_dim.ravel()), split_decrease.ravel())

    importances = np.zeros((d, len(num_classes)))
    for f in range(len(num_classes)):
        column = importance[slots.slot_factor == f].sum(axis=0)
        importances[:, f] = column / column.sum() if column.sum() > 0 else 0.0
    train_pred = predict_labels(raw, factor_blocks, binary)
    test_pred = predict_labels(raw_test, factor_blocks, binary)
    return BoostedTreesResult(
        importances,
        np.array([np.mean(p == train_labels[:, f]) for f, p in enumerate(train_pred)]),
        np.array([np.mean(p == test_labels[:, f]) for f, p in enumerate(test_pred)]),
    )
