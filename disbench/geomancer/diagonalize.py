"""Per-point joint diagonalisation of the eigenvector fields, and factor clustering.

At each point the near-null fields are ``m`` symmetric ``k x k`` matrices. On a product
manifold each is a combination of the projections onto the factors' tangent spaces, so
they commute and share eigenvectors. We find the common eigenvectors with Jacobi
rotations (Cardoso and Souloumiac 1996: each plane rotation minimises the off-diagonal
energy of all matrices at once, in closed form), vectorised over all points: the Python
loops run over sweeps and over the ``k(k-1)/2`` coordinate pairs, never over points.
Directions whose diagonal profiles (their eigenvalue in each field) have cosine
similarity above 0.5 belong to the same factor.
"""

from __future__ import annotations

import numpy as np


def joint_diagonalize(
    matrices: np.ndarray, sweeps: int = 30, tol: float = 1e-12, energy_tol: float = 1e-9
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Orthogonal ``W`` per point making every matrix as diagonal as possible.

    Args:
        matrices: ``(N, m, k, k)`` symmetric.
        sweeps: largest number of Jacobi sweeps.
        tol: stop when no rotation angle exceeds this (commuting matrices)...
        energy_tol: ...or when a sweep lowers the total off-diagonal energy by less than this
            share (noisy fields: some points keep rotating by tiny angles forever).

    Returns:
        ``(W, profiles, off_diagonal_fraction)``: ``W`` ``(N, k, k)`` with the common
        eigenvectors as columns (``W^T C W`` nearly diagonal), ``profiles`` ``(N, m, k)`` the
        diagonals of ``W^T C W``, and ``off_diagonal_fraction`` ``(N,)`` the share of squared
        Frobenius norm left off the diagonals (0 when the matrices commute).
    """
    c = np.array(matrices, dtype=np.float64, copy=True)
    n, _, k, _ = c.shape
    w = np.broadcast_to(np.eye(k), (n, k, k)).copy()
    pairs = [(p, q) for p in range(k - 1) for q in range(p + 1, k)]
    total_energy = max(float(np.einsum("nmij,nmij->", c, c)), 1e-300)
    off_energy = np.inf
    for _ in range(sweeps):
        largest_angle = 0.0
        for p, q in pairs:
            diff = c[:, :, p, p] - c[:, :, q, q]  # (N, m)
            cross = c[:, :, p, q] + c[:, :, q, p]
            g00 = np.einsum("nm,nm->n", diff, diff)
            g11 = np.einsum("nm,nm->n", cross, cross)
            g01 = np.einsum("nm,nm->n", diff, cross)
            on, off = g00 - g11, 2.0 * g01
            theta = 0.5 * np.arctan2(off, on + np.sqrt(on * on + off * off))
            largest_angle = max(largest_angle, float(np.abs(theta).max()))
            cos, sin = np.cos(theta)[:, None], np.sin(theta)[:, None]
            # columns p, q of W and of each C, then rows p, q of each C
            wp, wq = w[:, :, p].copy(), w[:, :, q]
            w[:, :, p], w[:, :, q] = cos * wp + sin * wq, cos * wq - sin * wp
            cos, sin = cos[:, :, None], sin[:, :, None]
            cp, cq = c[:, :, :, p].copy(), c[:, :, :, q]
            c[:, :, :, p], c[:, :, :, q] = cos * cp + sin * cq, cos * cq - sin * cp
            rp, rq = c[:, :, p, :].copy(), c[:, :, q, :]
            c[:, :, p, :], c[:, :, q, :] = cos * rp + sin * rq, cos * rq - sin * rp
        diagonal = np.diagonal(c, axis1=2, axis2=3)
        new_off_energy = total_energy - float(np.einsum("nmk,nmk->", diagonal, diagonal))
        if largest_angle < tol or off_energy - new_off_energy < energy_tol * total_energy:
            break
        off_energy = new_off_energy
    profiles = np.diagonal(c, axis1=2, axis2=3).copy()
    total = np.einsum("nmij,nmij->n", c, c)
    diagonal_energy = np.einsum("nmk,nmk->n", profiles, profiles)
    off_fraction = np.maximum(total - diagonal_energy, 0.0) / np.maximum(total, 1e-300)
    return w, profiles, off_fraction


def cluster_directions(profiles: np.ndarray, threshold: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Group each point's directions into factors by the cosine of their diagonal profiles.

    Directions are joined when the cosine exceeds ``threshold``; factors are the connected
    components of that graph (found for all points at once by boolean path doubling).

    Args:
        profiles: ``(N, m, k)``: column ``j`` is direction ``j``'s eigenvalue in each field.
        threshold: cosine above which two directions belong to one factor.

    Returns:
        ``(labels, counts)``: labels ``(N, k)`` in ``0..count-1`` numbered by first
        appearance, counts ``(N,)`` the number of factors per point.
    """
    n, _, k = profiles.shape
    norms = np.linalg.norm(profiles, axis=1)  # (N, k)
    unit = profiles / np.maximum(norms, 1e-300)[:, None, :]
    cosine = np.einsum("nmi,nmj->nij", unit, unit)
    linked = (cosine > threshold) | np.eye(k, dtype=bool)
    for _ in range(int(np.ceil(np.log2(max(k, 2))))):
        linked = np.einsum("nij,njl->nil", linked.astype(np.int32), linked.astype(np.int32)) > 0
    root = np.argmax(linked, axis=2)  # smallest index in each direction's component
    is_root = root == np.arange(k)
    rank = np.cumsum(is_root, axis=1) - 1
    labels = np.take_along_axis(rank, root, axis=1)
    return labels, is_root.sum(axis=1)
