"""Array files for ``disbench eval --codes``, the R^2 metric's protocol details, and the heatmap."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from disbench.evaluation.codes_files import load_array
from disbench.datasets.base import Factor
from disbench.errors import UsageError
from disbench.metrics import METRICS, MetricInput
from disbench.figures.heatmap import write_r2_heatmap

ARRAY = np.arange(12, dtype=np.float32).reshape(4, 3)


def test_npy_npz_h5_pt_round_trip(tmp_path):
    import h5py
    import torch

    np.save(tmp_path / "a.npy", ARRAY)
    np.savez(tmp_path / "one.npz", codes=ARRAY)
    np.savez(tmp_path / "two.npz", codes=ARRAY, factors=ARRAY * 2)
    with h5py.File(tmp_path / "a.h5", "w") as handle:
        handle["group/codes"] = ARRAY
    torch.save(torch.from_numpy(ARRAY), tmp_path / "t.pt")
    torch.save({"codes": torch.from_numpy(ARRAY), "step": 3}, tmp_path / "d.pt")
    assert np.array_equal(load_array(tmp_path / "a.npy"), ARRAY)
    assert np.array_equal(load_array(tmp_path / "one.npz"), ARRAY)
    assert np.array_equal(load_array(tmp_path / "two.npz", key="factors"), ARRAY * 2)
    assert np.array_equal(load_array(tmp_path / "a.h5"), ARRAY)
    assert np.array_equal(load_array(tmp_path / "t.pt"), ARRAY)
    assert np.array_equal(load_array(tmp_path / "d.pt"), ARRAY)  # the only tensor in the dict


def test_file_errors_are_usage_errors(tmp_path):
    np.savez(tmp_path / "two.npz", codes=ARRAY, factors=ARRAY)
    (tmp_path / "bad.npy").write_bytes(b"not numpy at all")
    (tmp_path / "x.csv").write_text("1,2\n")
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    cases = [
        (tmp_path / "missing.npy", None, "does not exist"),
        (tmp_path / "x.csv", None, "unknown extension"),
        (tmp_path / "bad.npy", None, "corrupt"),
        (tmp_path / "two.npz", None, "codes, factors"),
        (tmp_path / "two.npz", "nope", "no array 'nope'"),
        (tmp_path / "objects.npy", None, "pickle"),
    ]
    for path, key, phrase in cases:
        with pytest.raises(UsageError, match=phrase):
            load_array(path, key)


def test_an_h5_file_with_several_datasets_needs_a_key_and_each_is_reachable(tmp_path):
    import h5py

    with h5py.File(tmp_path / "codes.h5", "w") as handle:
        handle["f"] = ARRAY * 2  # the factors, first in the file
        handle["z"] = ARRAY
        handle["nested/z"] = ARRAY * 3
    with pytest.raises(UsageError, match=r"holds 3 arrays \(f, nested/z, z\); say which"):
        load_array(tmp_path / "codes.h5")
    assert np.array_equal(load_array(f"{tmp_path / 'codes.h5'}:z"), ARRAY)
    assert np.array_equal(load_array(tmp_path / "codes.h5", key="f"), ARRAY * 2)
    assert np.array_equal(load_array(f"{tmp_path / 'codes.h5'}:nested/z"), ARRAY * 3)


def test_a_truncated_npz_is_a_usage_error(tmp_path):
    np.savez(tmp_path / "codes.npz", codes=np.zeros((500, 10)))
    whole = (tmp_path / "codes.npz").read_bytes()
    (tmp_path / "codes.npz").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(UsageError, match="corrupt or unreadable"):
        load_array(tmp_path / "codes.npz")


def test_pickled_pt_file_is_refused(tmp_path):
    import pickle

    (tmp_path / "evil.pt").write_bytes(pickle.dumps({"codes": object()}))
    with pytest.raises(UsageError, match="weights_only"):
        load_array(tmp_path / "evil.pt")


def test_r2_separates_content_from_style_and_records_options():
    # codes = a nonlinear function of the two content latents only: content R^2 high
    # (kernel above linear), style R^2 ~ 0
    rng = np.random.default_rng(0)
    latents = rng.normal(size=(1200, 4))
    codes = np.tanh(latents[:, :2] @ rng.normal(size=(2, 3))) + 0.01 * rng.normal(size=(1200, 3))
    info = [Factor("c0", "content"), Factor("c1", "content"), Factor("s0", "style"), Factor("s1", "style")]
    metric = METRICS.get("r2")
    options = metric.Options(kernel_max_samples=400)
    result = metric.compute(MetricInput(codes, latents, info), options, np.random.default_rng(0))
    get = lambda name, f: next(s.value for s in result.scores if s.metric == name and s.factor == f)  # noqa: E731
    for factor in ("c0", "c1"):
        assert get("r2.kernel", factor) > 0.9
        assert get("r2.kernel", factor) >= get("r2.linear", factor) - 0.01
    for factor in ("s0", "s1"):
        assert abs(get("r2.kernel", factor)) < 0.05 and abs(get("r2.linear", factor)) < 0.05
    assert result.details["kernel_samples"] == 400
    assert result.details["group_mean"]["r2.kernel"]["content"] > 0.9


def test_heatmap_is_written_atomically(tmp_path):
    matrix = pd.DataFrame([[0.98, 0.1], [0.05, 0.9]], index=["content", "style:group1"], columns=["c0", "s0"])
    path = write_r2_heatmap(matrix, tmp_path / "r2.png", "R2")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["r2.png"]  # no temporary left behind
    with pytest.raises(UsageError, match="does not exist"):
        write_r2_heatmap(matrix, tmp_path / "missing" / "r2.png")
    with pytest.raises(UsageError, match="empty"):
        write_r2_heatmap(pd.DataFrame(), tmp_path / "e.png")
