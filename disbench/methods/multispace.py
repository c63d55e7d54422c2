"""Multi-space self-supervised disentanglement (Eastwood et al. 2023).

M + 1 embedding spaces cut from one projector output: a content space invariant to
every augmentation group, and one style space per group m, invariant to every group
except m. Per example the dataset gives a query ``q``, a content key ``k_0`` (every
group redrawn) and a key ``k_m`` per group (group m as in the query, the others
redrawn). Space 0 aligns ``q`` with ``k_0``; space m aligns ``q`` with ``k_m``::

    loss = 1/(M+1) sum_m lambda_m alignment_m  +  entropy(joint embedding)  +  entropy(content space)

with the InfoNCE or VICReg estimators of :mod:`disbench.methods.ssl_losses` (the
paper's objective has both entropy terms; ``content_entropy=false`` and
``joint_entropy=false`` are ablations). The multipliers ``lambda_m`` follow projected
dual ascent on the constraints ``c_m <= tolerance``, one step before every optimiser
step once ``lambda_warmup_steps`` have passed, with a step size on its own cosine
schedule from the end of that warm-up (the reference's ``main.py``); they are a module
buffer, so checkpoints carry them, and every step logs them with the violations c_m.

Codes: ``encode`` returns the projector slices ``content`` and ``style:<group>``,
the spaces the paper evaluates; with the InfoNCE estimator each slice is
L2-normalised, as the loss sees it (its norm is unconstrained by training).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from disbench.datasets.base import CONTENT
from disbench.errors import UsageError
from disbench.lazy import lazy_module
from disbench.methods.registry import METHODS
from disbench.methods.ssl import SSLConfig, SSLMethod, check_temperature

if TYPE_CHECKING:
    import torch
    from torch import nn

    from disbench.methods import distributed
    from disbench.methods import ssl_losses as L
else:  # imported on first use: registering the method and resolving its config needs no torch
    torch = lazy_module("torch")
    nn = lazy_module("torch.nn")
    distributed = lazy_module("disbench.methods.distributed")
    L = lazy_module("disbench.methods.ssl_losses")


@dataclass
class MultiSpaceConfig(SSLConfig):
    """Attributes:
    space_fractions: share of ``embedding_dim`` per space, content first then one per
        style group in the dataset's order; must sum to 1; the rounding remainder goes
        to content. Empty: half to content, the rest split evenly (the paper's 0.5,0.25,0.25).
    entropy: estimator: ``infonce`` (cosine alignment, log-sum-exp uniformity) or ``vicreg``
        (MSE alignment, variance + covariance).
    temperature: tau of the InfoNCE estimator.
    variance_weight, covariance_weight: VICReg estimator's mu and nu (25, 1).
    joint_entropy: entropy of the concatenated embedding (the method); false is the
        ablation that takes the mean of each space's own entropy instead.
    content_entropy: add the entropy of the content space alone (the paper's objective;
        false is the ablation without it).
    content_entropy_slice: what that term sees with the InfoNCE estimator: ``joint``, the
        content slice as it sits in the joint vector (norm 1/sqrt(M+1), so similarities
        M+1 times softer than the joint term's: the reference code's ``add_cont_neg``), or
        ``unit``, the slice renormalised to unit norm (a sharper term, at temperature tau).
    adaptive_lambdas: dual ascent on the multipliers; false keeps them at ``initial_lambda``.
    initial_lambda: starting multiplier of every space (paper: 1 InfoNCE, 25 VICReg;
        0 means that default for the chosen estimator).
    base_lr_lambda: dual step size per 256 examples (eta = base_lr_lambda x batch / 256),
        decayed on a cosine schedule from the end of ``lambda_warmup_steps`` to the last step.
    tolerance: allowed violation c_m = 1 - mean cos with the InfoNCE estimator (the reference: 1e-3).
    vicreg_tolerance: allowed violation c_m = MSE with the VICReg estimator (the reference's
        ColorDSprites config: 1e-5; its ImageNet config: 1e-3). Two keys because the two
        constraints are in different units.
    lambda_warmup_steps: steps before the multipliers start to move.
    """

    space_fractions: tuple[float, ...] = ()
    entropy: Literal["infonce", "vicreg"] = "infonce"
    temperature: float = 0.1
    variance_weight: float = 25.0
    covariance_weight: float = 1.0
    joint_entropy: bool = True
    content_entropy: bool = True
    content_entropy_slice: Literal["joint", "unit"] = "joint"
    adaptive_lambdas: bool = True
    initial_lambda: float = 0.0
    base_lr_lambda: float = 0.01
    tolerance: float = 1e-3
    vicreg_tolerance: float = 1e-5
    lambda_warmup_steps: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_temperature(self.temperature)
        if not 0.0 <= self.tolerance < 2.0:
            raise ValueError(
                f"tolerance must be in [0, 2) (a violation 1 - cos lies in [0, 2]), got {self.tolerance}"
            )
        if self.vicreg_tolerance < 0:
            raise ValueError(f"vicreg_tolerance must be >= 0, got {self.vicreg_tolerance}")
        if self.lambda_warmup_steps < 0:
            raise ValueError(f"lambda_warmup_steps must be >= 0, got {self.lambda_warmup_steps}")
        if self.initial_lambda < 0 or self.base_lr_lambda < 0:
            raise ValueError("initial_lambda and base_lr_lambda must be >= 0")
        if self.space_fractions:
            if any(f <= 0 for f in self.space_fractions):
                raise ValueError(f"space_fractions must all be positive, got {list(self.space_fractions)}")
            if abs(sum(self.space_fractions) - 1.0) > 1e-6:
                raise ValueError(
                    f"space_fractions must sum to 1, got {list(self.space_fractions)} "
                    f"(sum {sum(self.space_fractions):.6g}); e.g. 0.5,0.25,0.25"
                )

    @property
    def start_lambda(self) -> float:
        return self.initial_lambda or (1.0 if self.entropy == "infonce" else 25.0)

    @property
    def constraint_tolerance(self) -> float:
        """The tolerance of the chosen estimator's constraint."""
        return self.tolerance if self.entropy == "infonce" else self.vicreg_tolerance


@METHODS.register("multispace")
class MultiSpace(SSLMethod):
    """Content space plus one style space per augmentation group, with adaptive invariance multipliers."""

    Config = MultiSpaceConfig
    collapse_key = "entropy"
    summary = "multi-space SSL: content + one style space per augmentation group (dual-ascent multipliers)"
    reference = (
        "Eastwood et al. 2023, Self-Supervised Disentanglement by Leveraging Structure in Data Augmentations"
    )

    def build(self) -> nn.Module:
        model = super().build()
        self.space_names = [CONTENT, *(f"style:{g}" for g in self.dataset.style_groups)]
        self.sizes = self._space_sizes()
        model.register_buffer("lambdas", torch.full((len(self.sizes),), self.config.start_lambda))
        self._violations: torch.Tensor | None = None
        self._total_steps = 0
        return model

    def _space_sizes(self) -> list[int]:
        cfg, count = self.config, len(self.space_names)
        fractions = cfg.space_fractions or (0.5, *([0.5 / (count - 1)] * (count - 1)))
        if len(fractions) != count:
            raise UsageError(
                f"space_fractions has {len(fractions)} entries but dataset {self.dataset.name!r} needs {count} "
                f"(content, then {', '.join(self.dataset.style_groups)})."
            )
        sizes = L.space_sizes(cfg.embedding_dim, fractions)
        if min(sizes) < 1:
            raise UsageError(
                f"space_fractions {list(fractions)} of embedding_dim {cfg.embedding_dim} give an empty space "
                f"(sizes {sizes}); raise embedding_dim or the small fractions."
            )
        return sizes

    @property
    def view_count(self) -> int:
        return len(self.dataset.style_groups) + 2

    def views(self, rng: np.random.Generator) -> list[np.ndarray]:
        views = self.dataset.sample_views(self.config.batch_size, rng)
        return [views.query, views.content_key, *(views.group_keys[g] for g in self.dataset.style_groups)]

    def loss(self, embeddings: torch.Tensor) -> dict[str, torch.Tensor]:
        if self.config.entropy == "infonce":
            unit = L.normalize_spaces(embeddings, self.sizes)
            alignments, violations = self._alignments(unit)
            entropy = self._entropy(unit / math.sqrt(len(self.sizes)), unit)
        else:
            alignments, violations = self._alignments(embeddings)
            entropy = self._entropy(embeddings, embeddings)
        lambdas = self.model.lambdas
        alignment = (lambdas * alignments).sum() / len(self.sizes)
        self._violations = violations
        logs = {"loss": alignment + entropy, "alignment": alignment, "entropy": entropy}
        for name, align, violation, lam in zip(self.space_names, alignments, violations, lambdas):
            logs[f"alignment/{name}"] = align.detach()
            logs[f"violation/{name}"] = violation
            logs[f"lambda/{name}"] = lam.detach().clone()
        return logs

    def _alignments(self, views: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Alignment and violation c_m of each space m between the query and key m, each ``(M + 1,)``.

        Args:
            views: ``(M + 2, B, D)``: query, content key, one key per style group (unit slices for InfoNCE).
        """
        query_parts = L.split_spaces(views[0], self.sizes)
        alignments, violations = [], []
        for space, query_part in enumerate(query_parts):
            key_part = L.split_spaces(views[space + 1], self.sizes)[space]
            if self.config.entropy == "infonce":
                alignments.append(L.infonce_alignment(query_part, key_part, self.config.temperature))
                violations.append(L.cosine_violation(query_part, key_part))
            else:
                alignments.append(L.mse_alignment(query_part, key_part))
                violations.append(alignments[-1].detach())
        return torch.stack(alignments), torch.stack(violations)

    def _entropy(self, joint: torch.Tensor, per_space: torch.Tensor) -> torch.Tensor:
        """Joint entropy term (or the ablation's mean of per-space terms), plus the optional content term.

        Args:
            joint: ``(V, B, D)`` the joint embeddings as the joint term sees them (unit norm for InfoNCE).
            per_space: ``(V, B, D)`` embeddings whose slices the per-space terms see.
        """
        if self.config.joint_entropy:
            entropy = self._entropy_term(joint)
        else:
            entropy = torch.stack([self._entropy_term(part) for part in L.split_spaces(per_space, self.sizes)]).mean()
        if self.config.content_entropy:
            source = joint if self.config.content_entropy_slice == "joint" else per_space
            entropy = entropy + self._entropy_term(L.split_spaces(source, self.sizes)[0])
        return entropy

    def _entropy_term(self, views: torch.Tensor) -> torch.Tensor:
        candidates, offset = self.gather(views)
        if self.config.entropy == "infonce":
            return L.infonce_entropy(views, self.config.temperature, candidates, offset)
        total, _, _ = L.vicreg_regulariser(candidates, self.config.variance_weight, self.config.covariance_weight)
        return total

    def lr_scale(self, step: int, total_steps: int) -> float:
        # the shared loop tells the budget only here; the multipliers' schedule needs it too
        self._total_steps = total_steps
        return super().lr_scale(step, total_steps)

    def before_optimizer_step(self, step: int, logs: dict[str, float], lr_scale: float) -> None:
        cfg = self.config
        if not cfg.adaptive_lambdas or self._violations is None or step < cfg.lambda_warmup_steps:
            return
        violations = distributed.mean_over_processes(self._violations)
        step_size = L.lambda_step_size(
            cfg.base_lr_lambda,
            self.global_batch,
            step,
            max(self._total_steps, step + 1),
            cfg.lambda_warmup_steps,
            cfg.end_lr_ratio,
        )
        logs["lambda_step_size"] = step_size
        self.model.lambdas.copy_(L.dual_ascent(self.model.lambdas, violations, cfg.constraint_tolerance, step_size))

    def spaces(self, embeddings: torch.Tensor) -> dict[str, torch.Tensor]:
        if self.config.entropy == "infonce":
            embeddings = L.normalize_spaces(embeddings, self.sizes)
        return dict(zip(self.space_names, L.split_spaces(embeddings, self.sizes)))
