"""Augmentation R^2: how much of each augmentation group's parameters a space kept.

Datasets whose views come from augmentations with recorded parameters (image
folders) say, for every augmented image, which crop, flip, colour jitter, blur, ...
produced it (``sample_augmented``). This metric draws augmented images, encodes
them with the method, and regresses each recorded parameter on the space's codes,
as Eastwood et al. 2023 measure how much style each space keeps: a content space
invariant to the augmentations scores near 0 for every group, a style space for
group m near 1 for group m.

Codes and parameters are standardised with the train part's mean and standard
deviation; a linear ridge regression (``ridge_alpha``; the intercept is not
penalised) is fitted on ``num_train`` views and scored by R^2 on ``num_test`` other
views. With ``kernel=true`` an RBF kernel ridge regression (alpha and gamma chosen
per parameter by 3-fold grid search, on at most ``kernel_max_samples`` train views)
is scored too, with the helpers of the ``r2`` metric. A group's score is the mean
R^2 over its parameters. Parameters that are constant in either part (a flag that
never fired in a small sample) have no R^2; they are left out and listed in the
details.

Datasets whose views come from a factor grid (synthetic, dSprites, ...) record no
augmentation parameters; there the metric does not apply (``r2`` scores their style
factors directly).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from disbench.methods.representation import space_codes
from disbench.metrics.base import (
    AGGREGATE,
    MetricNotApplicable,
    MetricResult,
    Score,
    check_codes,
    register_encoder_metric,
)
from disbench.metrics.discretize import single_blas_thread, subsample
from disbench.metrics.r2 import FAST_KERNEL_SAMPLES, R2Options, kernel_r2, linear_r2, standardise


@dataclass
class AugmentationR2Options:
    """Attributes:
    num_train: views the regressions are fitted on (at most --n-eval unless set).
    num_test: other views they are scored on (at most --n-test unless set).
    ridge_alpha: L2 penalty of the linear ridge regression (on standardised codes; 0: least squares).
    kernel: also score RBF kernel ridge regression (``augmentation-r2.kernel.<group>``).
    kernel_max_samples: train views the kernel ridge is fitted on, at most.
    alphas: kernel ridge regularisation grid.
    gammas: RBF width grid.
    chunk_rows: views drawn and encoded at once (bounds memory).
    """

    num_train: int = field(default=5_000, metadata={"budget": "n_eval"})
    num_test: int = field(default=2_000, metadata={"budget": "n_test"})
    ridge_alpha: float = 1.0
    kernel: bool = False
    kernel_max_samples: int = FAST_KERNEL_SAMPLES
    alphas: tuple[float, ...] = R2Options.alphas
    gammas: tuple[float, ...] = R2Options.gammas
    chunk_rows: int = 256

    def __post_init__(self) -> None:
        if self.num_train < 6 or self.num_test < 2:
            raise ValueError("num_train must be at least 6 (3 folds of 2 views) and num_test at least 2")
        if self.ridge_alpha < 0:
            raise ValueError(f"ridge_alpha must be >= 0, got {self.ridge_alpha}")
        if self.chunk_rows < 1:
            raise ValueError(f"chunk_rows must be at least 1, got {self.chunk_rows}")
        R2Options(kernel_max_samples=self.kernel_max_samples, alphas=self.alphas, gammas=self.gammas)  # same checks


def require_augmented_views(dataset) -> None:
    """MetricNotApplicable unless the dataset draws views from recorded augmentations (``sample_augmented``)."""
    if not callable(getattr(dataset, "sample_augmented", None)):
        raise MetricNotApplicable(
            f"dataset {dataset.name!r} makes its views from factors, not recorded augmentations; "
            "augmentation-r2 needs an image folder (score style factors with r2 instead)."
        )


def encode_augmented(encode, space: str, dataset, num_views: int, chunk_rows: int, rng: np.random.Generator):
    """Codes ``(n, d)`` of augmented images and their parameters ``{group: (names, (n, P))}``.

    Args:
        encode: ``encode(observations, factors) -> Representation``.
        space: the scored space name.
        dataset: a dataset with ``sample_augmented(n, rng) -> (images, labels, {group: parameters})``.
        num_views: views to draw.
        chunk_rows: views drawn and encoded at once.
        rng: draws the views.
    """
    codes, parameters = [], {}
    for start in range(0, num_views, chunk_rows):
        images, labels, params = dataset.sample_augmented(min(chunk_rows, num_views - start), rng)
        codes.append(np.asarray(space_codes(encode(images, labels), space), dtype=np.float64))
        for group, values in params.items():
            names = list(values)
            columns = np.stack([values[name] for name in names], axis=1).astype(np.float64)
            parameters.setdefault(group, (names, []))[1].append(columns)
    return np.concatenate(codes), {group: (names, np.concatenate(parts)) for group, (names, parts) in parameters.items()}


@register_encoder_metric(
    "augmentation-r2",
    value_range=(float("-inf"), 1.0),
    reference="Eastwood et al. 2023, Self-Supervised Disentanglement by Leveraging Structure in Data Augmentations",
    summary="R^2 of ridge regression from the codes to each recorded augmentation parameter, per augmentation group",
    options=AugmentationR2Options,
)
def compute_augmentation_r2(
    encode, space: str, dataset, options: AugmentationR2Options, rng: np.random.Generator
) -> MetricResult:
    """R^2 of every augmentation group's parameters from one space.

    Args:
        encode: ``encode(observations, factors) -> Representation``.
        space: the scored space name.
        dataset: a dataset with augmented views (an image folder).
        options: :class:`AugmentationR2Options`.
        rng: draws the views and the kernel subset.

    Returns:
        ``augmentation-r2.<group>`` per group (factor ``"all"``: mean over its parameters; factor
        ``<parameter>``: that parameter), and ``augmentation-r2.kernel.<group>`` likewise with
        ``kernel=true``; details hold the per-parameter values by group and the skipped constant
        parameters.

    Raises:
        MetricNotApplicable: the dataset's views carry no augmentation parameters, or every
            parameter was constant in the drawn views.
        UsageError: the codes are not finite.
    """
    require_augmented_views(dataset)
    total = options.num_train + options.num_test
    codes, parameters = encode_augmented(encode, space, dataset, total, options.chunk_rows, rng)
    codes = check_codes(codes, f"codes of space {space!r}")
    train, test = slice(0, options.num_train), slice(options.num_train, total)
    columns, targets, constant = [], [], []
    for group, (names, values) in parameters.items():
        for name, column in zip(names, values.T):
            # an R^2 needs variance in both parts; a flag that never fired has none
            if column[train].std() > 0 and column[test].std() > 0:
                columns.append((group, name))
                targets.append(column)
            else:
                constant.append(f"{group}.{name}")
    if not columns:
        raise MetricNotApplicable(
            f"every augmentation parameter was constant in {total} views; draw more (augmentation-r2.num_train)."
        )
    x_train, x_test = standardise(codes[train], codes[test])
    y = np.stack(targets, axis=1)
    y_train, y_test = standardise(y[train], y[test])
    per_parameter = {"linear": linear_r2(x_train, y_train, x_test, y_test, alpha=options.ridge_alpha)}
    details: dict = {"num_train": options.num_train, "num_test": options.num_test,
                     "constant_parameters": constant}
    if options.kernel:
        rows = subsample(len(x_train), options.kernel_max_samples, rng)
        with single_blas_thread():
            per_parameter["kernel"], chosen = kernel_r2(
                x_train[rows], y_train[rows], x_test, y_test, options.alphas, options.gammas
            )
        details["kernel_alpha_gamma"] = {f"{g}.{n}": list(map(float, c)) for (g, n), c in zip(columns, chosen)}
    scores = []
    for kind, values in per_parameter.items():
        metric = "augmentation-r2" if kind == "linear" else "augmentation-r2.kernel"
        by_group: dict[str, dict[str, float]] = {}
        for (group, name), value in zip(columns, values):
            by_group.setdefault(group, {})[name] = float(value)
        for group, values_of_group in by_group.items():
            scores += [Score(f"{metric}.{group}", v, name) for name, v in values_of_group.items()]
            scores.append(Score(f"{metric}.{group}", float(np.mean(list(values_of_group.values()))), AGGREGATE))
        details[kind] = by_group
    return MetricResult(scores, details)
