"""Every codes metric on codes whose answer is known by construction.

Parametrised over the registry: a newly registered codes metric must appear in
EXPECTATIONS (the first test fails otherwise) and then gets every check below.
Data: 1,500 points, three independent uniform discrete factors of sizes 2, 4, 5.
"""

from __future__ import annotations

import numpy as np
import pytest

from disbench.datasets.base import Factor
from disbench.metrics import METRICS, MetricInput
from disbench.metrics.base import CodesMetric

SIZES = (2, 4, 5)
N = 1500
CODES_METRICS = [name for name, info in METRICS.items() if isinstance(info, CodesMetric)]

# metric -> (headline score, bound for perfect codes, bound for random codes, lower is better?)
# perfect codes = factor indices + small noise; random = independent N(0, 1) codes.
EXPECTATIONS = {
    # MIG: each factor is fully in its own dim, others carry only plug-in bias (~0.005 nats): gap ~ H
    "mig": ("mig", 0.95, 0.05, False),
    # SAP: the right dim's 1-D SVM separates the extreme classes only (~0.5 - 0.75 accuracy for 2-5
    # classes) while a wrong dim sits at chance under balanced weights: gap well above 0.3
    "sap": ("sap", 0.3, 0.05, False),
    # DCI: each tree uses only its factor's dim -> one-hot importances; random codes spread them
    "dci": ("dci.disentanglement", 0.9, 0.2, False),
    # modularity: each dim informs about one factor -> 1; random codes carry only plug-in bias MI,
    # spread unevenly over the factors, so they score 0.5 - 0.8 (seeds 0-4), never near 1
    "modularity": ("modularity", 0.95, 0.9, False),
    # explicitness: classes are linearly separable -> AUC ~ 1; random codes -> AUC ~ 0.5
    "explicitness": ("explicitness", 0.95, 0.6, False),
    # IRS: a fixed factor pins its dim -> deviation ~ noise; random codes keep ~2.5/3.5 of their range
    "irs": ("irs", 0.85, 0.4, False),
    # unsupervised: independent dims -> total correlation ~ 0 for both (lower is better); correlated
    # codes, which must score high, are in test_unsupervised_correlated_codes_have_their_closed_form_tc
    "unsupervised": ("unsupervised.gaussian_total_correlation", 0.01, 0.01, True),
    # R^2: factors are the codes -> ~1; random codes predict nothing -> ~0
    "r2": ("r2.linear", 0.95, 0.02, False),
    # linear probe: ordered classes on one dimension are intervals, which multinomial logits
    # separate -> accuracy ~ 1; random codes -> chance, mean of 1/2, 1/4, 1/5 ~ 0.32
    "linear-probe": ("linear-probe", 0.95, 0.4, False),
    # downstream (1,000 training points of the 2/3 split): logistic regression separates ordered
    # classes on one dimension -> ~1; random codes -> chance, ~0.32 as the linear probe
    "downstream": ("downstream.lr@1000", 0.95, 0.4, False),
    # DMIG / XMIG / DLIG: independent factors, each in its own dimension (dimension i carries
    # factor i, latte's assignment) -> MIG's gap ~ 1; random codes -> gaps ~ 0 (or negative)
    "dmig": ("dmig", 0.95, 0.05, False),
    "xmig": ("xmig", 0.95, 0.05, False),
    "dlig": ("dlig", 0.95, 0.05, False),
    # minimality: each dimension is about one factor, but 15 bins hold more entropy than the
    # factor's 2-5 values (0.69 at seeds 0-2); random codes hold plug-in bias only
    "minimality": ("minimality", 0.6, 0.05, False),
    "sufficiency": ("sufficiency", 0.95, 0.05, False),
    # InfoM: each dimension informs about one factor -> ~1; random codes: kNN MI ~ 0 everywhere
    "infomec": ("infomec.infom", 0.95, 0.9, False),
    # DCI-ES explicitness measures how easily, not how much: the smallest forest already reads
    # perfect codes (E ~ 1); random codes' flat loss curve also scores high (checked in
    # tests/metrics/test_dci_es.py instead), so no bound is given for them
    "dci-es": ("dci-es.explicitness", 0.9, 1.0, False),
}

#: metrics that compare a factor's dimension with dimensions carrying no factor
NEEDS_SPARE_DIMENSION = {"xmig"}


def make_factors(rng):
    factors = np.stack([rng.integers(0, k, N) for k in SIZES], axis=1)
    return factors, [Factor(name, "content", k) for name, k in zip("abc", SIZES)]


def perfect_codes(rng, factors):
    return factors + 0.05 * rng.normal(size=factors.shape)


#: lighter settings where the default costs seconds per call and the known answer does not depend on it
LIGHT_OPTIONS = {"dci-es": {"n_estimators": 10}}


def run(name, codes, factors, info, **options):
    metric = METRICS.get(name)
    options = {**LIGHT_OPTIONS.get(name, {}), **options}
    return metric.compute(MetricInput(codes, factors, info), metric.Options(**options), np.random.default_rng(0))


def headline(name, result):
    score_name = EXPECTATIONS[name][0]
    return next(s.value for s in result.scores if s.metric == score_name and s.factor == "all")


def test_every_codes_metric_has_expectations():
    assert sorted(CODES_METRICS) == sorted(EXPECTATIONS)


@pytest.mark.parametrize("name", CODES_METRICS)
def test_perfect_and_random_codes(name):
    rng = np.random.default_rng(0)
    factors, info = make_factors(rng)
    _, perfect_bound, random_bound, lower_is_better = EXPECTATIONS[name]
    spare = rng.normal(size=(N, 1 if name in NEEDS_SPARE_DIMENSION else 0))
    perfect = headline(name, run(name, np.hstack([perfect_codes(rng, factors), spare]), factors, info))
    random = headline(name, run(name, np.hstack([rng.normal(size=(N, 3)), spare]), factors, info))
    low, high = METRICS.get(name).value_range  # e.g. an un-normalised MIG (~1.2 nats here) exceeds 1
    assert low <= perfect <= high and low <= random <= high
    if lower_is_better:
        assert perfect <= perfect_bound and random <= random_bound
    else:
        assert perfect >= perfect_bound
        assert random <= random_bound


@pytest.mark.parametrize("name", CODES_METRICS)
def test_result_shape_and_determinism(name):
    rng = np.random.default_rng(1)
    factors, info = make_factors(rng)
    codes = perfect_codes(rng, factors) @ rng.normal(size=(3, 4))
    first, second = run(name, codes, factors, info), run(name, codes, factors, info)
    assert [(s.metric, s.factor, s.value) for s in first.scores] == [(s.metric, s.factor, s.value) for s in second.scores]
    assert any(s.factor == "all" for s in first.scores)
    for score in first.scores:
        assert np.isfinite(score.value)
        assert score.factor in {"all", *"abc"}
        assert score.metric.split(".")[0] == name


@pytest.mark.parametrize("name", ["mig", "sap", "dci", "modularity", "irs"])
def test_constant_codes_score_zero(name):
    # a constant code holds no information: every gap, importance and MI is 0 (dlib's
    # all-zero test expects [0, 0.2]); IRS of no active dimension is 0 by definition
    rng = np.random.default_rng(2)
    factors, info = make_factors(rng)
    assert headline(name, run(name, np.zeros((N, 3)), factors, info)) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize(
    "name",
    # SAP's SVM and downstream's logistic regressions on raw codes (as dlib) are not scale
    # invariant: their penalty C regularises the weights. DMIG, XMIG and DLIG follow the order of
    # the dimensions by design (dimension i carries factor i), and random forests draw features
    # in column order
    [m for m in CODES_METRICS if m not in ("sap", "downstream", "dmig", "xmig", "dlig", "dci-es")],
)
def test_permuted_rescaled_codes_unchanged(name):
    # permuting dimensions and rescaling / shifting each by a positive affine map changes
    # neither bins (min-max histograms, quantile thresholds), standardised regressions,
    # nor which dimension holds what
    rng = np.random.default_rng(3)
    factors, info = make_factors(rng)
    codes = perfect_codes(rng, factors)
    changed = codes[:, [2, 0, 1]] * np.array([3.0, 0.5, 7.0]) + np.array([1.0, -2.0, 0.0])
    before, after = run(name, codes, factors, info), run(name, changed, factors, info)
    if name == "unsupervised":  # Wasserstein correlation has units; the rest are invariant
        before.scores = [s for s in before.scores if "wasserstein" not in s.metric]
        after.scores = [s for s in after.scores if "wasserstein" not in s.metric]
    for a, b in zip(before.scores, after.scores):
        assert b.value == pytest.approx(a.value, abs=0.02), (a.metric, a.factor)


def test_duplicated_dimensions():
    rng = np.random.default_rng(4)
    factors, info = make_factors(rng)
    codes = perfect_codes(rng, factors)
    twice = np.hstack([codes, codes])
    # MIG: the top two dims now carry the same information -> gap 0 (dlib: duplicated in [0, 0.1])
    assert headline("mig", run("mig", twice, factors, info)) < 0.05
    # SAP: same, for predictability gaps
    assert headline("sap", run("sap", twice, factors, info)) < 0.05
    # DCI: each code still serves one factor (D ~ 1); each factor spreads over 2 of 6 codes:
    # completeness = 1 - log 2 / log 6 (dlib's duplicated-latent test, base d)
    dci = run("dci", twice, factors, info)
    assert next(s.value for s in dci.scores if s.metric == "dci.disentanglement") > 0.9
    completeness = next(s.value for s in dci.scores if s.metric == "dci.completeness")
    assert completeness == pytest.approx(1 - np.log(2) / np.log(6), abs=0.1)
    # unsupervised: identical dims are maximally dependent
    before = run("unsupervised", codes, factors, info)
    after = run("unsupervised", twice, factors, info)
    mi = lambda r: next(s.value for s in r.scores if s.metric == "unsupervised.mutual_info")  # noqa: E731
    assert mi(after) > 5 * mi(before)


def test_factor_split_over_two_dimensions():
    # factor c (5 values) written as two dims (c // 2 and c % 2): each holds part of it, so its
    # MIG gap shrinks, DCI completeness drops, while factor a keeps its own dimension
    rng = np.random.default_rng(5)
    factors, info = make_factors(rng)
    noise = 0.05 * rng.normal(size=(N, 4))
    split = np.stack([factors[:, 0], factors[:, 1], factors[:, 2] // 2, factors[:, 2] % 2], axis=1) + noise
    whole = run("mig", perfect_codes(rng, factors), factors, info)
    parted = run("mig", split, factors, info)
    gap = lambda r, f: next(s.value for s in r.scores if s.factor == f)  # noqa: E731
    assert gap(parted, "c") < gap(whole, "c") - 0.3
    assert gap(parted, "a") == pytest.approx(gap(whole, "a"), abs=0.02)
    dci = run("dci", split, factors, info)
    assert next(s.value for s in dci.scores if s.metric == "dci.completeness") < 0.9


def test_entangled_codes_score_low_on_mig_sap_dci():
    # every dim is the same sum of all factors: no dim is specific to a factor
    rng = np.random.default_rng(6)
    factors, info = make_factors(rng)
    codes = factors @ np.ones((3, 3)) + 0.05 * rng.normal(size=(N, 3))
    assert headline("mig", run("mig", codes, factors, info)) < 0.05
    assert headline("sap", run("sap", codes, factors, info)) < 0.05
    assert headline("dci", run("dci", codes, factors, info)) < 0.2


def test_mig_of_perfect_codes_is_the_gap_over_the_factor_entropy():
    # each factor sits alone in its own dimension, so the top MI is the factor's entropy H and
    # the second is the plug-in MI of an unrelated dimension: MIG = mean(1 - second / H), at most 1
    from sklearn.metrics import mutual_info_score

    rng = np.random.default_rng(7)
    factors, info = make_factors(rng)
    codes = perfect_codes(rng, factors)
    binned = [np.digitize(c, np.histogram(c, 20)[1][:-1]) for c in codes.T]
    expected = []
    for k in range(len(SIZES)):
        _, counts = np.unique(factors[:, k], return_counts=True)
        entropy = -np.sum(counts / N * np.log(counts / N))
        others = [mutual_info_score(factors[:, k], binned[j]) for j in range(len(SIZES)) if j != k]
        assert mutual_info_score(factors[:, k], binned[k]) == pytest.approx(entropy)
        expected.append(1.0 - max(others) / entropy)
    assert headline("mig", run("mig", codes, factors, info)) == pytest.approx(np.mean(expected), abs=1e-9)


def test_modularity_of_a_dimension_holding_two_factors():
    # dimension 0 encodes a and b together (4a + b takes 8 distinct values), so its MI with a is
    # H(a) and with b is H(b); dimensions 1 and 2 hold b and c alone. Per dimension
    # 1 - (sum m^2 - max m^2) / (max m^2 (F - 1)): dimension 0 scores 1 - H(a)^2 / (2 H(b)^2),
    # the others 1 (up to the plug-in MI of unrelated pairs, ~1e-5 once squared)
    rng = np.random.default_rng(8)
    factors, info = make_factors(rng)
    a, b, c = factors.T
    codes = np.stack([4 * a + b, b, c], axis=1) + 0.05 * rng.normal(size=(N, 3))
    entropy = lambda x: -np.sum((p := np.unique(x, return_counts=True)[1] / N) * np.log(p))  # noqa: E731
    expected = np.mean([1.0 - entropy(a) ** 2 / (2 * entropy(b) ** 2), 1.0, 1.0])
    assert headline("modularity", run("modularity", codes, factors, info)) == pytest.approx(expected, abs=0.003)


def test_unsupervised_correlated_codes_have_their_closed_form_total_correlation():
    # two Gaussian dimensions with correlation rho: Gaussian total correlation -log(1 - rho^2) / 2
    # (0.83 nats for rho = 0.9); independent codes score ~0, so one bound cannot hold for both
    rng = np.random.default_rng(9)
    factors, info = make_factors(rng)
    rho = 0.9
    shared, own = rng.normal(size=(N, 1)), rng.normal(size=(N, 2))
    correlated = np.hstack([shared, rho * shared + np.sqrt(1 - rho**2) * own[:, :1], own[:, 1:]])
    result = run("unsupervised", correlated, factors, info)
    tc = next(s.value for s in result.scores if s.metric == "unsupervised.gaussian_total_correlation")
    assert tc == pytest.approx(-0.5 * np.log(1 - rho**2), abs=0.1)  # population value
    assert tc == pytest.approx(-0.5 * np.linalg.slogdet(np.corrcoef(correlated.T))[1], abs=1e-9)  # this sample's
    independent = run("unsupervised", rng.normal(size=(N, 3)), factors, info)
    mutual_info = lambda r: next(s.value for s in r.scores if s.metric == "unsupervised.mutual_info")  # noqa: E731
    # one dependent pair among three: its MI (~0.9 nats) lifts the mean over pairs well above the
    # plug-in bias (~0.09 nats) that independent codes show
    assert mutual_info(result) > 3 * mutual_info(independent)
