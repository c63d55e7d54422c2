"""End to end: a tiny multispace run on an image folder, scored with linear-probe and augmentation-r2."""

from __future__ import annotations

import numpy as np
import pandas as pd

from image_folders import make_image_folder


def test_train_on_an_image_folder_then_probe_every_space(cli, tmp_path):
    root = make_image_folder(tmp_path / "images")
    sets = [f"root={root}", "size=16", "workers=1", "encoder=conv", "batch_size=8", "representation_dim=16",
            "projector_hidden=32", "embedding_dim=8"]
    trained = cli("train", "-m", "multispace", "-d", "imagefolder", "--steps", "3", "-q",
                  *[arg for s in sets for arg in ("--set", s)])
    assert trained.exit_code == 0, trained.output
    scored = cli("eval", "--metric", "linear-probe", "--metric", "augmentation-r2", "--n-eval", "90", "--n-test", "45",
                 "--set", "augmentation-r2.num_train=60", "--set", "augmentation-r2.num_test=30", "-q")
    assert scored.exit_code == 0, scored.output
    frame = pd.read_csv("results/leaderboard.csv")
    assert set(frame.space) == {"content", "style:spatial", "style:appearance", "joint"}
    headline = frame[frame.factor == "all"]
    for space in set(frame.space):
        rows = headline[headline.space == space].set_index("metric")["value"]
        assert set(rows.index) == {"linear-probe", "augmentation-r2.spatial", "augmentation-r2.appearance"}
        assert 0.0 <= rows["linear-probe"] <= 1.0
        assert np.isfinite(rows.values).all() and (rows.values <= 1.0).all()
    labels = frame[(frame.metric == "linear-probe") & (frame.factor == "label")]
    assert len(labels) == 4  # the one factor of an image folder, once per space
    assert "flip" in set(frame[frame.metric == "augmentation-r2.spatial"].factor)


def test_both_metrics_are_listed_with_needs_range_direction_and_reference(cli):
    listing = cli("list", "metrics").stdout
    lines = {line.split()[0]: line for line in listing.splitlines() if line.strip()}
    assert "codes" in lines["linear-probe"] and "[0, 1]" in lines["linear-probe"]
    assert "encoder" in lines["augmentation-r2"] and "[-inf, 1]" in lines["augmentation-r2"]
    for name in ("linear-probe", "augmentation-r2"):
        assert "higher is better" in lines[name] and "Eastwood et al. 2023" in lines[name]


def test_both_are_skipped_with_a_reason_on_a_factor_grid_dataset(cli):
    assert cli("train", "-m", "pca", "--set", "num_fit=300", "-q").exit_code == 0
    result = cli("eval", "--metric", "linear-probe", "--metric", "augmentation-r2", "--n-eval", "300", "--n-test", "100")
    assert result.exit_code == 0
    assert "linear-probe skipped" in result.stderr and "every factor here is continuous" in result.stderr
    assert "augmentation-r2 skipped" in result.stderr and "needs an image folder" in result.stderr
