"""Loss terms of self-supervised learning, as pure functions of embeddings.

Notation (Eastwood et al. 2023, "Self-Supervised Disentanglement by Leveraging
Structure in Data Augmentations"): an example has a query view ``q`` and key views
``k_0`` (content key: every augmentation group redrawn) and ``k_m`` (group m kept as
in the query, every other group redrawn). One projector output ``z`` is cut into
contiguous slices ``z^(0)`` (content space) and ``z^(m)`` (style space of group m).
Space m is trained to be invariant between ``q`` and ``k_m``:

- alignment_m   InfoNCE flavour: ``-E[cos(z_q^(m), z_{k_m}^(m))] / tau``;
                VICReg flavour:  ``E[(z_q^(m) - z_{k_m}^(m))^2]``.
- c_m           the constraint value the multiplier ``lambda_m`` watches:
                ``1 - E[cos]`` (InfoNCE) or the MSE (VICReg), detached.
- entropy term  a term whose minimisation maximises the entropy of the joint
                embedding: log-sum-exp "uniformity" over other examples (InfoNCE)
                or variance + covariance regularisers (VICReg).

Shapes: ``B`` examples on this process, ``N`` examples on all processes (``N = B``
without torchrun), ``V`` views per example, ``D`` embedding dimensions. Stacked
views are ``(V, B, D)`` with view 0 the query. Nothing here knows about processes:
callers pass all-gathered candidates and this process's ``offset`` into them.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F

#: VICReg's numerical floor inside the standard deviation (Bardes et al. 2022)
VARIANCE_EPSILON = 1e-4


# --- spaces --------------------------------------------------------------------------
def space_sizes(embedding_dim: int, fractions: Sequence[float]) -> list[int]:
    """Dimensions of each space: ``floor(D * f)``, the rounding remainder added to the content space (first).

    Args:
        embedding_dim: D, the projector's output size.
        fractions: one fraction per space, content first; they should sum to 1.

    Returns:
        Sizes summing to ``embedding_dim`` (a size may be 0: callers reject that).
    """
    sizes = [int(embedding_dim * f + 1e-9) for f in fractions]
    sizes[0] += embedding_dim - sum(sizes)
    return sizes


def split_spaces(z: torch.Tensor, sizes: Sequence[int]) -> list[torch.Tensor]:
    """Contiguous slices of the last dimension: ``(..., D) -> [(..., d_0), (..., d_1), ...]``."""
    return list(torch.split(z, list(sizes), dim=-1))


def normalize_spaces(z: torch.Tensor, sizes: Sequence[int]) -> torch.Tensor:
    """L2-normalise each space's slice on its own; the joint vector then has norm ``sqrt(len(sizes))``.

    Args:
        z: embeddings ``(..., D)``.
        sizes: slice sizes summing to D.

    Returns:
        Same shape as ``z``.
    """
    return torch.cat([F.normalize(part, dim=-1) for part in split_spaces(z, sizes)], dim=-1)


# --- alignment (invariance) -------------------------------------------------------------
def infonce_alignment(query: torch.Tensor, key: torch.Tensor, temperature: float) -> torch.Tensor:
    """``-mean_i <q_i, k_i> / tau`` for L2-normalised slices (the positive term of InfoNCE).

    Args:
        query: ``(B, d)`` unit vectors, ``z_q^(m)``.
        key: ``(B, d)`` unit vectors, ``z_{k_m}^(m)``.
        temperature: tau.

    Returns:
        Scalar; ``-1/tau`` when every pair coincides.
    """
    return -(query * key).sum(dim=-1).mean() / temperature


def cosine_violation(query: torch.Tensor, key: torch.Tensor) -> torch.Tensor:
    """Constraint value ``c_m = 1 - mean cos(q, k)`` (detached), in [0, 2]; 0 when perfectly invariant."""
    with torch.no_grad():
        return 1.0 - F.cosine_similarity(query.float(), key.float(), dim=-1).mean()


def mse_alignment(query: torch.Tensor, key: torch.Tensor) -> torch.Tensor:
    """VICReg's invariance term: mean squared difference over examples and dimensions, ``(B, d) -> ()``."""
    return F.mse_loss(query, key)


# --- entropy (uniformity) -----------------------------------------------------------------
def _other_example_mask(views: int, local: int, total: int, offset: int, device: torch.device) -> torch.Tensor:
    """``(V*B, V*N)`` boolean: True where anchor and candidate are views of the same example."""
    anchor_example = torch.arange(local, device=device).repeat(views) + offset
    candidate_example = torch.arange(total, device=device).repeat(views)
    return anchor_example[:, None] == candidate_example[None, :]


def infonce_entropy(
    anchors: torch.Tensor,
    temperature: float,
    candidates: torch.Tensor | None = None,
    offset: int = 0,
) -> torch.Tensor:
    """Joint-entropy term of multi-space InfoNCE: positives excluded from the denominator.

    ``mean over anchors a of log sum_{c: other example} exp(<a, c> / tau)``, where the
    candidates c are every view of every *other* example (on every process).
    Minimising it spreads embeddings apart, i.e. raises their entropy (Wang & Isola 2020).

    Args:
        anchors: ``(V, B, D)`` embeddings of this process, each of norm 1 (the joint
            vector of per-space unit slices divided by ``sqrt(M + 1)``).
        temperature: tau.
        candidates: ``(V, N, D)`` embeddings of all processes (default: ``anchors``).
        offset: index of this process's first example among the N.

    Returns:
        Scalar.
    """
    logits, same_example = _similarity_logits(anchors, candidates, temperature, offset)
    return torch.logsumexp(logits.masked_fill(same_example, float("-inf")), dim=1).mean()


def _similarity_logits(
    anchors: torch.Tensor, candidates: torch.Tensor | None, temperature: float, offset: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Scaled similarities ``(V*B, V*N)`` of every anchor to every candidate, and the mask of
    candidates that are views of the anchor's own example."""
    if candidates is None:
        candidates = anchors
    views, local, dim = anchors.shape
    total = candidates.shape[1]
    logits = anchors.reshape(views * local, dim) @ candidates.reshape(views * total, dim).T / temperature
    return logits, _other_example_mask(views, local, total, offset, anchors.device)


#: what the softmax of :func:`nt_xent` runs over, besides the positive in its numerator
NT_XENT_DENOMINATORS = ("negatives", "textbook")


def nt_xent(
    views: torch.Tensor,
    temperature: float,
    candidates: torch.Tensor | None = None,
    offset: int = 0,
    denominator: str = "negatives",
) -> torch.Tensor:
    """SimCLR's NT-Xent loss over V >= 2 views per example, in two flavours.

    For an anchor ``a`` (a view of example i) with positives ``p`` (the other views of i)
    and similarities ``s(a, c) = <a, c> / tau``:

    - ``denominator="negatives"`` (the SimCLR baseline of Eastwood et al. 2023,
      ``algorithms.py`` of cianeastwood/ssl_disentangled): every view of the anchor's
      own example is left out of the denominator::

          -log sum_p exp s(a, p)  +  log sum_{c: view of another example} exp s(a, c)

    - ``denominator="textbook"`` (Chen et al. 2020): the softmax runs over every
      candidate except the anchor itself, positives included; with several positives
      the loss is the mean of their log-softmax terms::

          -mean_p [ s(a, p) - log sum_{c != a} exp s(a, c) ]

    With V = 2 the textbook form is the usual 2N-way cross-entropy; the two differ by
    ``log(1 + exp s(a, p) / sum_negatives)`` per anchor, so the reference's value is
    lower and may be negative.

    Args:
        views: ``(V, B, D)`` L2-normalised embeddings of this process.
        temperature: tau.
        candidates: ``(V, N, D)`` embeddings of all processes (default: ``views``).
        offset: index of this process's first example among the N.
        denominator: ``negatives`` or ``textbook``.

    Returns:
        Scalar, the mean over anchors.
    """
    if denominator not in NT_XENT_DENOMINATORS:
        raise ValueError(f"denominator must be one of {', '.join(NT_XENT_DENOMINATORS)}, got {denominator!r}")
    logits, same_example = _similarity_logits(views, candidates, temperature, offset)
    num_views, local, _ = views.shape
    total = logits.shape[1] // num_views
    anchor_index = torch.arange(num_views * local, device=views.device)
    anchor_view, anchor_example = anchor_index // local, anchor_index % local + offset
    itself = (anchor_view * total + anchor_example)[:, None] == torch.arange(num_views * total, device=views.device)
    positives = same_example & ~itself
    if denominator == "negatives":
        positive_term = torch.logsumexp(logits.masked_fill(~positives, float("-inf")), dim=1)
        return (torch.logsumexp(logits.masked_fill(same_example, float("-inf")), dim=1) - positive_term).mean()
    logits = logits.masked_fill(itself, float("-inf"))
    log_normaliser = torch.logsumexp(logits, dim=1)
    positive_logit = (logits.masked_fill(~positives, 0.0)).sum(dim=1) / positives.sum(dim=1)
    return (log_normaliser - positive_logit).mean()


def variance_term(z: torch.Tensor) -> torch.Tensor:
    """VICReg variance hinge ``mean_j ReLU(1 - sqrt(Var[z_j] + eps))`` for ``(N, D)`` -> ``()``."""
    std = torch.sqrt(z.float().var(dim=0) + VARIANCE_EPSILON)
    return F.relu(1.0 - std).mean()


def covariance_term(z: torch.Tensor) -> torch.Tensor:
    """VICReg covariance term: sum of squared off-diagonal covariances divided by D, ``(N, D) -> ()``."""
    n, dim = z.shape
    centred = z.float() - z.float().mean(dim=0)
    covariance = centred.T @ centred / (n - 1)
    off_diagonal = covariance - torch.diag(torch.diagonal(covariance))
    return off_diagonal.pow(2).sum() / dim


def vicreg_regulariser(
    views: torch.Tensor, variance_weight: float = 25.0, covariance_weight: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Entropy surrogate of VICReg, per view then averaged: ``mu * variance + nu * covariance``.

    Args:
        views: ``(V, N, D)`` embeddings of all processes (not normalised).
        variance_weight: mu (VICReg: 25).
        covariance_weight: nu (VICReg: 1).

    Returns:
        (weighted total, mean variance term, mean covariance term), scalars.
    """
    variance = torch.stack([variance_term(v) for v in views]).mean()
    covariance = torch.stack([covariance_term(v) for v in views]).mean()
    return variance_weight * variance + covariance_weight * covariance, variance, covariance


def vicreg_loss(
    first: torch.Tensor,
    second: torch.Tensor,
    invariance_weight: float = 25.0,
    variance_weight: float = 25.0,
    covariance_weight: float = 1.0,
    gathered: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """VICReg (Bardes et al. 2022): ``lambda * MSE + mu * variance + nu * covariance``.

    Args:
        first, second: ``(B, D)`` embeddings of the two views on this process.
        invariance_weight, variance_weight, covariance_weight: lambda, mu, nu (25, 25, 1).
        gathered: ``(2, N, D)`` both views from every process, for the variance and
            covariance terms (default: this process's views).

    Returns:
        ``loss``, ``invariance``, ``variance`` and ``covariance``, scalars.
    """
    invariance = mse_alignment(first, second)
    if gathered is None:
        gathered = torch.stack([first, second])
    regulariser, variance, covariance = vicreg_regulariser(gathered, variance_weight, covariance_weight)
    return {
        "loss": invariance_weight * invariance + regulariser,
        "invariance": invariance,
        "variance": variance,
        "covariance": covariance,
    }


# --- dual ascent on the invariance multipliers -----------------------------------------------
def lambda_step_size(
    base_lr_lambda: float,
    global_batch: int,
    step: int,
    total_steps: int,
    warmup_steps: int,
    end_ratio: float,
) -> float:
    """The multipliers' step size eta at ``step``: 0 during their warm-up, then a cosine decay.

    As the reference's ``main.py`` (``adjust_learning_rate`` called with the multipliers'
    own warm-up): ``eta_0 = base_lr_lambda * batch / 256`` decays from ``eta_0`` at the
    end of the warm-up to ``eta_0 * end_ratio`` at ``total_steps`` (the reference passes its
    ``--end-lr-ratio`` to both schedules), on a schedule of its own, independent of the
    learning rate's warm-up.

    Args:
        base_lr_lambda: step size per 256 examples.
        global_batch: examples per step on all processes.
        step: the current step (0-based).
        total_steps: the training budget.
        warmup_steps: steps before the multipliers move.
        end_ratio: where the decay ends, as a fraction of eta_0.

    Returns:
        eta at ``step`` (0 before ``warmup_steps``).
    """
    if step < warmup_steps:
        return 0.0
    start = base_lr_lambda * global_batch / 256.0
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    end = start * end_ratio
    return end + (start - end) * 0.5 * (1.0 + math.cos(math.pi * progress))


def dual_ascent(
    lambdas: torch.Tensor, violations: torch.Tensor, tolerance: float, step_size: float
) -> torch.Tensor:
    """One projected dual-ascent step: ``lambda_m <- max(0, lambda_m + eta (c_m - tolerance))``.

    Args:
        lambdas: ``(M + 1,)`` current multipliers.
        violations: ``(M + 1,)`` constraint values c_m (detached).
        tolerance: the allowed violation; a multiplier grows while c_m exceeds it.
        step_size: eta.

    Returns:
        ``(M + 1,)`` new multipliers, all >= 0.
    """
    return torch.clamp(lambdas + step_size * (violations.to(lambdas) - tolerance), min=0.0)

