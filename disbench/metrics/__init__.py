"""Metrics: importing this package registers every metric.

Codes metrics (``@register_codes_metric``, ``compute(data: MetricInput, options, rng)``; run on
trained runs and on codes files):

- ``mig``: Mutual Information Gap, 20-bin plug-in MI (dlib ``mig.py``).
- ``sap``: SAP score, per-dimension LinearSVC accuracy gaps / squared correlation (dlib ``sap_score.py``).
- ``dci``: disentanglement, completeness, informativeness from boosted-tree gain importances
  (dlib ``dci.py``), or a lasso (``--set dci.estimator=lasso``).
- ``modularity`` and ``explicitness``: Ridgeway & Mozer (dlib ``modularity_explicitness.py``).
- ``irs``: Interventional Robustness Score (dlib ``irs.py``).
- ``unsupervised``: Gaussian total / Wasserstein correlation, mean MI between dimensions
  (dlib ``unsupervised_metrics.py``; lower is more factorised).
- ``downstream``: accuracy of logistic-regression (CV) and boosted-tree classifiers per factor from
  10 to 10,000 training points, and sample efficiency (dlib ``downstream_task.py``).
- ``r2``: linear and RBF kernel ridge R^2 per factor (von Kugelgen et al. 2021).
- ``linear-probe``: held-out accuracy of a multinomial logistic regression per discrete factor
  (the label accuracy on image folders; Eastwood et al. 2023).
- ``dmig``, ``xmig``, ``dlig``: dependency-aware MIG, dependency-blind MIG and the latent gap,
  normalised by conditional entropies (Watcharasupat & Lerch 2021; latte ``mutual_info.py``).
- ``minimality`` and ``sufficiency``: per-dimension and per-factor shares of information
  (Almudevar & Ortega 2024; ``min_suf.py``).
- ``infomec``: InfoM, InfoE, InfoC (Hsu et al. 2023; latent_quantization ``infomec.py``).
- ``dci-es``: explicitness from random-forest probes of growing depth, and size (Eastwood et al.
  2023; DCI-ES ``explitcitness.py``).

Encoder metrics (``@register_encoder_metric``, ``compute(encode, space, dataset, options, rng)``;
they render their own batches):

- ``beta-vae``: BetaVAE score (dlib ``beta_vae.py``).
- ``factor-vae``: FactorVAE score (dlib ``factor_vae.py``).
- ``subspace-angle``: per-point principal angles between true and found factor subspaces
  (Pfau et al. 2020; reads a method's ``bases`` extras, e.g. geomancer's; docs/geomancer.md).
- ``augmentation-r2``: ridge R^2 of each recorded augmentation parameter from the codes, per
  augmentation group (image folders' views; Eastwood et al. 2023).

Run-group metrics (``@register_run_group_metric``, ``compute(members: list[RunMember], options, rng)``;
the seeds of one configuration):

- ``udr``: Unsupervised Disentanglement Ranking, each run against the other seeds (Duan et al.
  2020; dlib ``udr.py``); Lasso by default, ``--set udr.correlation=spearman``.

Shared pieces: :mod:`~disbench.metrics.discretize` (histogram bins, chunked plug-in MI),
:mod:`~disbench.metrics.linear_svc` (liblinear's TRON for one-feature SVMs, vectorised),
:mod:`~disbench.metrics.gbt_exact` (scikit-learn's boosted trees for all factors at once),
:mod:`~disbench.metrics.codes_input` (a user's arrays read and checked),
:mod:`~disbench.metrics.selection` (metric names and options, budget-bound options).
See docs/metrics.md.
"""

from disbench.metrics.base import (
    METRICS,
    MetricInput,
    MetricResult,
    Score,
    register_codes_metric,
    register_encoder_metric,
    register_run_group_metric,
)
from disbench.metrics import (  # noqa: F401  (each import registers its metric)
    augmentation_r2,
    beta_vae,
    dci,
    dci_es,
    dlig,
    dmig,
    downstream,
    explicitness,
    factor_vae,
    infomec,
    irs,
    linear_probe,
    mig,
    min_suf,
    modularity,
    r2,
    sap,
    subspace_angle,
    udr,
    unsupervised,
    xmig,
)

from disbench.metrics.functions import codes_metric_functions

# each codes metric as a function (``mig(codes, factors)``); the names replace the metric modules'
globals().update(codes_metric_functions(METRICS))

__all__ = [
    "METRICS",
    "MetricInput",
    "MetricResult",
    "Score",
    "register_codes_metric",
    "register_encoder_metric",
    "register_run_group_metric",
    *codes_metric_functions(METRICS),
]
