"""Bad input to the metrics: one clear UsageError each, naming what is wrong."""

from __future__ import annotations

import numpy as np
import pytest

from disbench.datasets.base import Factor
from disbench.errors import UsageError
from disbench.metrics import METRICS, MetricInput
from disbench.metrics.base import CodesMetric

CODES_METRICS = [name for name, info in METRICS.items() if isinstance(info, CodesMetric)]
INFO = [Factor("a", "content", 3), Factor("b", "content", 4)]


def good(n: int = 300):
    rng = np.random.default_rng(0)
    factors = np.stack([rng.integers(0, 3, n), rng.integers(0, 4, n)], axis=1)
    return factors + 0.1 * rng.normal(size=(n, 2)), factors


def run(name, data):
    metric = METRICS.get(name)
    return metric.compute(data, metric.Options(), np.random.default_rng(0))


def bad_inputs():
    codes, factors = good()
    nan_codes = codes.copy()
    nan_codes[5, 1] = np.nan
    constant = factors.copy()
    constant[:, 1] = 2
    unique = factors.copy()
    unique[:, 0] = np.arange(len(factors))
    return {
        "NaN": (MetricInput(nan_codes, factors, INFO), "NaN or infinite"),
        "inf": (MetricInput(np.where(codes > 2, np.inf, codes), factors, INFO), "NaN or infinite"),
        "1-D codes": (MetricInput(codes[:, 0], factors, INFO), "1-D"),
        "constant factor": (MetricInput(codes, constant, INFO), "constant"),
        "one sample per value": (MetricInput(codes, unique, INFO), "one sample per value"),
        "more dims than samples": (MetricInput(np.random.default_rng(0).normal(size=(10, 12)), factors[:10], INFO), "more dimensions"),
        "overflow": (MetricInput(codes, np.column_stack([factors[:, 0] * 1e19, factors[:, 1]]), INFO), "int64"),
        "mismatched lengths": (MetricInput(codes[:-1], factors, INFO), "rows"),
        "factor columns": (MetricInput(codes, factors[:, :1], INFO), "columns"),
        "non-integer discrete": (MetricInput(codes, factors + 0.5, INFO), "non-integer"),
        "test split width": (MetricInput(codes, factors, INFO, codes[:, :1], factors), "dimensions"),
    }


@pytest.mark.parametrize("case", list(bad_inputs()))
@pytest.mark.parametrize("name", CODES_METRICS)
def test_bad_input_is_one_usage_error(name, case):
    data, phrase = bad_inputs()[case]
    with pytest.raises(UsageError, match=phrase) as error:
        run(name, data)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("name", ["mig", "sap", "dci", "unsupervised"])
def test_one_dimension_is_refused_by_gap_and_entropy_metrics(name):
    codes, factors = good()
    with pytest.raises(UsageError, match="at least 2"):
        run(name, MetricInput(codes[:, :1], factors, INFO))


def test_uint64_beyond_int64_is_refused():
    codes, factors = good()
    huge = factors.astype(np.uint64)
    huge[:, 0] += np.uint64(2**63)
    with pytest.raises(UsageError, match="int64"):
        run("mig", MetricInput(codes, huge, INFO))


def test_large_factor_values_do_not_overflow_the_contingency():
    # values near 2**62 are legal labels: they are mapped to 0..K-1 before any arithmetic
    codes, factors = good()
    big = factors.astype(np.int64) * (2**60)
    a = run("mig", MetricInput(codes, big, INFO)).scores[-1].value
    b = run("mig", MetricInput(codes, factors, INFO)).scores[-1].value
    assert a == pytest.approx(b, abs=1e-12)


def test_bad_options_are_refused_by_the_dataclass():
    with pytest.raises(ValueError):
        METRICS.get("mig").Options(num_bins=1)
    with pytest.raises(ValueError):
        METRICS.get("dci").Options(learning_rate=0)
    with pytest.raises(ValueError, match="max_depth must be at most 8"):
        METRICS.get("dci").Options(max_depth=9)
