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

Scanning every threshold of every node of every tree is what makes scikit-learn slow
(113 trees per stage on dSprites' factors). Here each node's search is pruned without
losing exactness:

- every code dimension is cut once into about ``blocks`` runs of consecutive sorted
  values (cuts only between values that may be split apart);
- per level, sparse products give each node's per-block sums of residuals, of positive
  residuals and of counts (right child = parent - left child);
- the gain at every block boundary follows from those sums; the best boundary is a lower
  bound on the node's best gain;
- inside a block the left child's count and residual sum are confined to a box (counts
  between the block's ends, sums between adding all its negative or all its positive
  residuals); the gain is convex in each of the two, so its largest value on the box is at
  a corner: only blocks whose corner bound reaches the lower bound are scanned
  sample by sample.

Ties between equally good dimensions are broken by a random order of the dimensions per
node drawn from the given generator (scikit-learn visits features in a random order and
keeps the first best); ties within a dimension go to the lowest threshold, as in
scikit-learn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# scikit-learn's tree code: values closer than this are never split apart, and a node
# whose impurity is at most machine epsilon is a leaf.
FEATURE_THRESHOLD = 1e-7
IMPURITY_EPSILON = float(np.finfo(np.float64).eps)
# float32 bounds are raised by this relative (and absolute) margin before pruning: float32
# rounding is about 1e-7 per operation
BOUND_MARGIN = 1e-4
# widening of the float32 positive residual sums (relative rounding about 1e-7 per term)
POSITIVE_SLACK = 1e-4
# relative difference below which two candidate gains are a tie
TIE_TOLERANCE = 1e-12


@dataclass
class _Blocks:
    """Each dimension's sorted samples cut into runs (blocks).

    Attributes:
        values: ``(n, d)`` float64 values of the float32 codes (what scikit-learn compares).
        block_of: ``(n, d)`` block index of each sample in each dimension.
        members: ``(d, B, L)`` sample indices of each block in sorted order, padded with ``n``.
        member_values: ``(d, B, L)`` their values, padded with ``+inf``.
        has_interior: ``(d, B)`` whether a block holds two values that may be split apart.
        tie_free: ``(d, B)`` whether every two consecutive values of a block may be split apart.
        membership: sparse ``(d B, n)``: entry ``(j B + b, i)`` is 1 where sample ``i`` is in block ``b`` of ``j``.
        membership32: the same in float32.
    """

    values: np.ndarray
    block_of: np.ndarray
    members: np.ndarray
    member_values: np.ndarray
    has_interior: np.ndarray
    tie_free: np.ndarray
    membership: object
    membership32: object

    @property
    def num_blocks(self) -> int:
        return self.members.shape[1]


def make_blocks(x: np.ndarray, blocks: int) -> _Blocks:
    """Cut each dimension of ``x`` ``(n, d)`` into about ``blocks`` runs of equal size."""
    import scipy.sparse

    values = x.astype(np.float32).astype(np.float64)
    n, d = values.shape
    order = np.argsort(values, axis=0, kind="stable")
    ordered = np.take_along_axis(values, order, axis=0)
    separable = ordered[1:] > ordered[:-1] + FEATURE_THRESHOLD  # (n - 1, d): split allowed after row p
    starts_per_dim = []
    for j in range(d):
        cuts = np.flatnonzero(separable[:, j]) + 1  # first sorted row of a new value
        wanted = np.arange(1, blocks) * n // blocks
        at = np.searchsorted(cuts, wanted)
        starts_per_dim.append(np.unique(np.concatenate([[0], cuts[at[at < len(cuts)]]])))
    num_blocks = max(len(s) for s in starts_per_dim)
    block_of = np.zeros((n, d), np.int64)
    bounds = np.full((d, num_blocks + 1), n)
    has_interior = np.zeros((d, num_blocks), bool)
    tie_free = np.zeros((d, num_blocks), bool)
    for j, starts in enumerate(starts_per_dim):
        bounds[j, : len(starts)] = starts
        sorted_block = np.searchsorted(starts, np.arange(n), side="right") - 1
        block_of[order[:, j], j] = sorted_block
        # a separable gap after row p lies inside block b when rows p and p + 1 are both in b
        same = sorted_block[1:] == sorted_block[:-1]
        inner = np.bincount(sorted_block[1:][separable[:, j] & same], minlength=num_blocks)
        has_interior[j] = inner > 0
        tie_free[j] = inner == np.bincount(sorted_block[1:][same], minlength=num_blocks)
    lengths = np.diff(bounds, axis=1)
    width = int(lengths.max())
    offsets = bounds[:, :-1, None] + np.arange(width)[None, None, :]
    inside = offsets < bounds[:, 1:, None]
    sorted_index = np.where(inside, offsets, 0)
    dims = np.arange(d)[:, None, None]
    members = np.where(inside, order.T[dims, sorted_index], n)
    member_values = np.where(inside, ordered.T[dims, sorted_index], np.inf)
    rows = (np.arange(d)[None, :] * num_blocks + block_of).T.ravel()  # (d n) in dimension-major order
    samples = np.tile(np.arange(n), d)
    sort = np.argsort(rows, kind="stable")
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=d * num_blocks))])
    membership = scipy.sparse.csr_matrix(
        (np.ones(d * n), samples[sort], indptr), shape=(d * num_blocks, n)
    )
    return _Blocks(values, block_of, members, member_values, has_interior, tie_free, membership, membership.astype(np.float32))


def _split_gain(left_sum, left_count, total_sum, total_count):
    """``G_L^2 / N_L + G_R^2 / N_R``: the squared-error reduction plus the constant ``G^2 / N``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return left_sum**2 / left_count + (total_sum - left_sum) ** 2 / (total_count - left_count)


def _midpoint(left_value: np.ndarray, right_value: np.ndarray) -> np.ndarray:
    """scikit-learn's threshold: the midpoint, or the left value where the midpoint rounds onto the right one."""
    threshold = left_value / 2.0 + right_value / 2.0
    return np.where((threshold == right_value) | np.isinf(threshold), left_value, threshold)


def _block_histograms(layout: _Blocks, residual_t, positive_t, node, parent, level):
    """Per (slot, node, dimension, block) sums of residuals, of positive residuals and counts.

    Residual sums are float64 (they enter the exact gains); positive parts (bounds only)
    and counts (exact below 2**24) are float32, whose sparse products are faster.

    Args:
        residual_t: ``(n, T)`` float64 residuals; positive_t: ``(n, T)`` float32 positive parts.
        node: ``(T, n)`` node of each sample at this level.
        parent: the previous level's ``(sums, positives, counts)``, each ``(T, nodes / 2, d, B)``.

    Returns:
        ``(sums, positives, counts)``, each ``(T, 2**level, d, B)``; a right child's are its
        parent's minus its left sibling's.
    """
    n, num_slots = residual_t.shape
    d, num_blocks = layout.has_interior.shape
    if level == 0:
        sums = (layout.membership @ residual_t).reshape(d, num_blocks, num_slots, 1).transpose(2, 3, 0, 1)
        positives = (layout.membership32 @ positive_t).reshape(d, num_blocks, num_slots, 1).transpose(2, 3, 0, 1)
        sizes = layout.membership.getnnz(axis=1).reshape(d, num_blocks).astype(np.float32)
        return np.ascontiguousarray(sums), np.ascontiguousarray(positives), np.broadcast_to(sizes, sums.shape)
    num_left = 2 ** (level - 1)
    node_t = np.ascontiguousarray(node.T)
    in_left = node_t[:, :, None] == (2 * np.arange(num_left, dtype=node.dtype))[None, None, :]  # (n, T, left)
    left_sums = layout.membership @ (residual_t[:, :, None] * in_left).reshape(n, -1)
    columns = np.empty((n, 2, num_slots, num_left), np.float32)
    np.multiply(positive_t[:, :, None], in_left, out=columns[:, 0])
    columns[:, 1] = in_left
    left_rest = layout.membership32 @ columns.reshape(n, -1)
    lefts = [
        left_sums.reshape(d, num_blocks, num_slots, num_left),
        *(left_rest.reshape(d, num_blocks, 2, num_slots, num_left)[:, :, q] for q in range(2)),
    ]
    out = []
    for left, above in zip(lefts, parent):
        left = left.transpose(2, 3, 0, 1)
        both = np.empty((num_slots, 2 * num_left, d, num_blocks), left.dtype)
        both[:, 0::2], both[:, 1::2] = left, above - left
        out.append(both)
    return tuple(out)


def _first_in_node(layout, node, slots, node_ids, dims, block_ids, last: bool):
    """Value of the first (or last) sample of ``node_ids`` in each given block, ``(M,)``."""
    n = layout.values.shape[0]
    members = layout.members[dims, block_ids]
    values = layout.member_values[dims, block_ids]
    in_node = (node[slots[:, None], np.minimum(members, n - 1)] == node_ids[:, None]) & (members < n)
    if last:
        return np.where(in_node, values, -np.inf).max(axis=1)
    return np.where(in_node, values, np.inf).min(axis=1)


def _block_bounds(before_sum, before_count, sums, positives, counts, total_sum, total_count):
    """Upper bound ``(T, nodes, d, B)`` on the gain of any split inside each block.

    The left child's count lies in ``[before + 1, before + c - 1]`` and its residual sum
    between adding only the block's negative or only its positive residuals; the gain is
    convex in each, so its largest value on that box is at a corner. Computed in float32
    (half the memory traffic) with the box widened and the bound raised by far more than
    float32 rounding, so that no block holding the best split is dropped.
    """
    slack = POSITIVE_SLACK * (np.abs(positives) + 1.0)
    before = before_sum.astype(np.float32)
    low_sum = before + (sums.astype(np.float32) - positives) - slack
    high_sum = before + positives + slack
    node_sum = total_sum.astype(np.float32)[..., None, None]
    node_count = total_count.astype(np.float32)[..., None, None]
    bound = None
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # blocks of fewer than 2 are not scanned
        for left_count in (before_count + 1, before_count + counts - 1):
            inverse_left, inverse_right = 1.0 / left_count, 1.0 / (node_count - left_count)
            for left_sum in (low_sum, high_sum):
                right_sum = node_sum - left_sum
                gain = left_sum * left_sum * inverse_left + right_sum * right_sum * inverse_right
                bound = gain if bound is None else np.maximum(bound, gain, out=bound)
    return bound * (1 + BOUND_MARGIN) + BOUND_MARGIN


def _scan_blocks(layout, residual, node, selected, before_sum, before_count, counts, total_sum, total_count):
    """Exact best split inside each selected (slot, node, dimension, block): ``(gain, position)``.

    Candidate positions follow each in-node sample whose next in-node sample in the block
    may be split from it (values more than ``FEATURE_THRESHOLD`` apart); in a block without
    ties that is every in-node sample but the last.
    """
    slots, nodes, dims, blocks = selected
    if len(slots) == 0:
        return np.zeros(0), np.zeros(0, np.int64)
    n = residual.shape[1]
    members = layout.members[dims, blocks]
    # flat indices: np.take on a raveled array is several times faster than 2-D fancy indexing
    flat = slots[:, None] * n + np.minimum(members, n - 1)
    in_node = (np.take(node.ravel(), flat) == nodes[:, None].astype(node.dtype)) & (members < n)
    taken = np.cumsum(in_node, axis=1)
    left_sum = np.cumsum(np.where(in_node, np.take(residual.ravel(), flat), 0.0), axis=1)
    left_sum += before_sum[slots, nodes, dims, blocks][:, None]
    allowed = in_node & (taken < counts[slots, nodes, dims, blocks][:, None] - 0.5)
    tied = np.flatnonzero(~layout.tie_free[dims, blocks])
    if len(tied):
        values = layout.member_values[dims[tied], blocks[tied]]
        upcoming = np.minimum.accumulate(np.where(in_node[tied], values, np.inf)[:, ::-1], axis=1)[:, ::-1]
        next_value = np.concatenate([upcoming[:, 1:], np.full((len(tied), 1), np.inf)], axis=1)
        allowed[tied] &= next_value > values + FEATURE_THRESHOLD
    left_count = taken + before_count[slots, nodes, dims, blocks][:, None]
    node_sum, node_count = total_sum[slots, nodes][:, None], total_count[slots, nodes][:, None]
    gain = np.where(allowed, _split_gain(left_sum, left_count, node_sum, node_count), -np.inf)
    position = np.argmax(gain, axis=1)
    return gain[np.arange(len(gain)), position], position


def _interior_thresholds(layout, node, slots, node_ids, dims, blocks, positions):
    """Thresholds of splits after ``positions`` inside blocks: midpoint to the next in-node value."""
    n = node.shape[1]
    members = layout.members[dims, blocks]
    values = layout.member_values[dims, blocks]
    after = (node[slots[:, None], np.minimum(members, n - 1)] == node_ids[:, None]) & (members < n)
    after &= np.arange(members.shape[1])[None, :] > positions[:, None]
    right_value = np.where(after, values, np.inf).min(axis=1)
    return _midpoint(values[np.arange(len(values)), positions], right_value)


def _best_splits(layout, residual, node, hist, rng):
    """Best split of every (slot, node): ``(dims, thresholds, gains)``, each ``(T, nodes)``.

    ``gains`` is the impurity decrease (0 where the node stays a leaf); an unsplit node
    gets threshold ``+inf`` (every sample goes left).
    """
    sums, positives, counts = hist
    num_slots, num_nodes, d, num_blocks = sums.shape
    # node totals summed directly (not from the parent-minus-child histograms), so that a
    # pure node's impurity comes out at rounding level, below machine epsilon, as in scikit-learn
    flat_node = (np.arange(num_slots)[:, None] * num_nodes + node).ravel()
    size = num_slots * num_nodes
    total_count = np.bincount(flat_node, minlength=size).reshape(num_slots, num_nodes).astype(np.float64)
    total_sum = np.bincount(flat_node, residual.ravel(), size).reshape(num_slots, num_nodes)
    square_sum = np.bincount(flat_node, (residual * residual).ravel(), size).reshape(num_slots, num_nodes)
    with np.errstate(divide="ignore", invalid="ignore"):
        impurity = square_sum / total_count - (total_sum / total_count) ** 2
    splittable = (total_count >= 2) & (impurity > IMPURITY_EPSILON)
    tot_s, tot_c = total_sum[..., None, None], total_count[..., None, None]

    # gains at block boundaries (after block b): a lower bound on each node's best gain
    cum_sum, cum_count = np.cumsum(sums, axis=-1), np.cumsum(counts, axis=-1)
    boundary = _split_gain(cum_sum[..., :-1], cum_count[..., :-1], tot_s, tot_c)
    boundary = np.where((cum_count[..., :-1] >= 0.5) & (cum_count[..., :-1] <= tot_c - 0.5), boundary, -np.inf)
    best_block = np.argmax(boundary, axis=-1) if num_blocks > 1 else np.zeros((num_slots, num_nodes, d), np.int64)
    best_boundary = (
        np.take_along_axis(boundary, best_block[..., None], axis=-1)[..., 0] if num_blocks > 1 else np.full(best_block.shape, -np.inf)
    )
    lower = best_boundary.max(axis=-1)  # (T, nodes)

    # bound inside each block: left count in [before + 1, before + c - 1], left sum between
    # adding only the block's negative or only its positive residuals
    before_sum, before_count = cum_sum - sums, cum_count - counts
    bound = _block_bounds(before_sum, before_count, sums, positives, counts, total_sum, total_count)
    low = lower[..., None, None]
    scan = (
        splittable[..., None, None]
        & (counts >= 1.5)
        & layout.has_interior[None, None]
        & ~(bound < low)
    )
    # scan first each node's block of highest bound: its best split usually beats every
    # other block's bound, so the second round scans few blocks
    flat_bound = np.where(scan, bound, -np.inf).reshape(num_slots, num_nodes, -1)
    top = np.argmax(flat_bound, axis=-1)
    has_top = np.isfinite(np.take_along_axis(flat_bound, top[..., None], axis=-1)[..., 0])
    first_slots, first_nodes = np.nonzero(has_top)
    first_dims, first_blocks = np.divmod(top[first_slots, first_nodes], num_blocks)
    scanned = (first_slots, first_nodes, first_dims, first_blocks)
    first = _scan_blocks(layout, residual, node, scanned, before_sum, before_count, counts, total_sum, total_count)
    improved = lower.copy()
    np.maximum.at(improved, (first_slots, first_nodes), first[0])
    scan[scanned] = False
    scan &= ~(bound < improved[..., None, None])
    rest = np.nonzero(scan)
    second = _scan_blocks(layout, residual, node, rest, before_sum, before_count, counts, total_sum, total_count)
    slots, nodes, dims, blocks = (np.concatenate([u, v]) for u, v in zip(scanned, rest))
    interior_gain, position = (np.concatenate([u, v]) for u, v in zip(first, second))

    # choose per node among boundaries (one per dimension) and scanned blocks: highest gain,
    # then the node's random dimension order, then the lowest threshold
    priority = rng.random((num_slots, num_nodes, d))
    b_slot, b_node, b_dim = np.indices((num_slots, num_nodes, d)).reshape(3, -1)
    width = layout.members.shape[2]
    entry_group = np.concatenate([b_slot * num_nodes + b_node, slots * num_nodes + nodes])
    entry_dim = np.concatenate([b_dim, dims])
    entry_block = np.concatenate([best_block.ravel(), blocks])
    entry_position = np.concatenate([np.full(len(b_slot), width), position])
    entry_gain = np.concatenate([best_boundary.ravel(), interior_gain])
    entry_priority = priority.reshape(-1)[entry_group * d + entry_dim]
    # gains equal up to rounding (the same split of the samples reached through different
    # dimensions, summed in different orders) count as ties
    group_best = np.full(num_slots * num_nodes, -np.inf)
    np.maximum.at(group_best, entry_group, entry_gain)
    best_of_entry = group_best[entry_group]
    tied = np.isfinite(best_of_entry) & (entry_gain >= best_of_entry - TIE_TOLERANCE * np.abs(best_of_entry))
    ranked_gain = np.where(tied, best_of_entry, entry_gain)
    order = np.lexsort((entry_position, entry_block, entry_priority, -ranked_gain, entry_group))
    first = order[np.r_[True, entry_group[order][1:] != entry_group[order][:-1]]]  # one per group, in group order
    chosen_gain = entry_gain[first].reshape(num_slots, num_nodes)
    chosen_dim = entry_dim[first].reshape(num_slots, num_nodes)
    chosen_block = entry_block[first].reshape(num_slots, num_nodes)
    is_boundary = (first < len(b_slot)).reshape(num_slots, num_nodes)
    threshold = np.full((num_slots, num_nodes), np.inf)
    split = splittable & np.isfinite(chosen_gain)

    pick_slot, pick_node = np.nonzero(split & ~is_boundary)
    if len(pick_slot):
        entry = first.reshape(num_slots, num_nodes)[pick_slot, pick_node] - len(b_slot)
        threshold[pick_slot, pick_node] = _interior_thresholds(
            layout, node, pick_slot, pick_node, dims[entry], blocks[entry], position[entry]
        )
    # a boundary split's threshold: midpoint of the node's last value at or before the
    # boundary and its first value after it
    pick_slot, pick_node = np.nonzero(split & is_boundary)
    if len(pick_slot):
        dim, block = chosen_dim[pick_slot, pick_node], chosen_block[pick_slot, pick_node]
        occupied = counts[pick_slot, pick_node, dim] > 0.5  # (M, B)
        index = np.arange(num_blocks)
        last_block = np.where(occupied & (index <= block[:, None]), index, -1).max(axis=1)
        next_block = np.where(occupied & (index > block[:, None]), index, num_blocks).min(axis=1)
        left_value = _first_in_node(layout, node, pick_slot, pick_node, dim, last_block, last=True)
        right_value = _first_in_node(layout, node, pick_slot, pick_node, dim, next_block, last=False)
        threshold[pick_slot, pick_node] = _midpoint(left_value, right_value)
    with np.errstate(divide="ignore", invalid="ignore"):
        decrease = chosen_gain - total_sum**2 / total_count
    return (
        np.where(split, chosen_dim, 0),
        np.where(split, threshold, np.inf),
        np.where(split, decrease, 0.0),
    )


def _route(values_by_dim: np.ndarray, node: np.ndarray, dims: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Children ``2 node + (x > threshold)`` of ``node`` ``(T, n)`` for the splits ``(T, nodes)``.

    Args:
        values_by_dim: ``(d, n)`` C-contiguous values.
    """
    num_slots, n = node.shape
    # flat indices: np.take is several times faster than take_along_axis here
    split = np.arange(num_slots)[:, None] * dims.shape[1] + node
    feature = np.take(dims.ravel(), split)
    goes_right = np.take(values_by_dim.ravel(), feature * n + np.arange(n)) > np.take(thresholds.ravel(), split)
    return 2 * node + goes_right.astype(node.dtype)


def fit_exact_boosted_trees(
    train_x: np.ndarray,
    train_labels: np.ndarray,
    num_classes: list[int],
    test_x: np.ndarray,
    test_labels: np.ndarray,
    n_estimators: int = 100,
    learning_rate: float = 0.1,
    max_depth: int = 3,
    blocks: int | None = None,
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
        blocks: runs per dimension for pruning the search (speed only; the splits are exact);
            default about one per 40 points, between 16 and 256: the per-run arrays cost
            in proportion to the runs, the sample-by-sample scans to the points per run.
        rng: orders the dimensions of each node to break ties (seeded default).

    Returns:
        :class:`~disbench.metrics.gbt.BoostedTreesResult`.
    """
    from disbench.metrics.gbt import BoostedTreesResult, TreeSlots, _predict_labels, _softmax_blocks

    rng = rng if rng is not None else np.random.default_rng(0)
    layout = make_blocks(train_x, blocks or int(np.clip(len(train_x) // 40, 16, 256)))
    train_by_dim = np.ascontiguousarray(layout.values.T)
    test_by_dim = np.ascontiguousarray(test_x.astype(np.float32).astype(np.float64).T)
    n, d = train_x.shape
    slots = TreeSlots.for_factors(train_labels, num_classes)
    binary, factor_blocks, num_slots = slots.binary, slots.blocks, slots.num_slots
    slot_factor, target, leaf_scale, init = slots.slot_factor, slots.target, slots.leaf_scale, slots.init
    raw = np.repeat(init[:, None], n, axis=1)
    raw_test = np.repeat(init[:, None], len(test_x), axis=1)
    importance = np.zeros((num_slots, d))
    slot_index = np.arange(num_slots)[:, None]
    num_leaves = 2**max_depth
    node_dtype = np.uint8 if max_depth <= 7 else np.uint16

    for _ in range(n_estimators):
        proba = _softmax_blocks(raw, factor_blocks, binary)
        residual = target - proba
        residual_t = np.ascontiguousarray(residual.T)
        positive_t = np.ascontiguousarray((target * residual).T, dtype=np.float32)
        node = np.zeros((num_slots, n), node_dtype)
        node_test = np.zeros((num_slots, len(test_x)), node_dtype)
        hist = None
        for level in range(max_depth):
            hist = _block_histograms(layout, residual_t, positive_t, node, hist, level)
            dims, thresholds, decrease = _best_splits(layout, residual, node, hist, rng)
            np.add.at(importance, (np.broadcast_to(slot_index, dims.shape), dims), decrease)
            node = _route(train_by_dim, node, dims, thresholds)
            node_test = _route(test_by_dim, node_test, dims, thresholds)
        # Newton step per leaf, as scikit-learn: averages, zero where the hessian vanishes
        leaf_index = (slot_index * num_leaves + node).ravel()
        size = num_slots * num_leaves
        count = np.bincount(leaf_index, minlength=size)
        sum_g = np.bincount(leaf_index, residual.ravel(), size)
        sum_h = np.bincount(leaf_index, (proba * (1 - proba)).ravel(), size)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean_h = sum_h / count
            value = (sum_g / count) * np.repeat(leaf_scale, num_leaves) / mean_h
        value = np.where((count > 0) & (np.abs(mean_h) >= 1e-150), value, 0.0).reshape(num_slots, num_leaves)
        raw += learning_rate * np.take(value.ravel(), slot_index * num_leaves + node)
        raw_test += learning_rate * np.take(value.ravel(), slot_index * num_leaves + node_test)

    importances = np.zeros((d, len(num_classes)))
    for f in range(len(num_classes)):
        column = importance[slot_factor == f].sum(axis=0)
        importances[:, f] = column / column.sum() if column.sum() > 0 else 0.0
    train_pred = _predict_labels(raw, factor_blocks, binary)
    test_pred = _predict_labels(raw_test, factor_blocks, binary)
    return BoostedTreesResult(
        importances,
        np.array([np.mean(p == train_labels[:, f]) for f, p in enumerate(train_pred)]),
        np.array([np.mean(p == test_labels[:, f]) for f, p in enumerate(test_pred)]),
    )
