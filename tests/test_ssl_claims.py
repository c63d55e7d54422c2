"""The paper's claims: on the synthetic data the direction fast and the block-diagonal R^2 matrix slow; ColorDSprites slow."""

from __future__ import annotations

import numpy as np
import pytest

from disbench.config import build_config
from disbench.datasets.synthetic import SyntheticConfig, SyntheticDataset
from disbench.methods import METHODS
from disbench.methods.ssl_probe import r2_matrix
from disbench.presets import method_defaults
from disbench.training import train


#: what holds at the CPU presets on the reference data (seed 0 measured 0.79 content and 0.63 style kept,
#: 0.08 style in the content space; README, docs/ssl.md): a space keeps a group at >= KEPT, drops it at <= DROPPED
CONTENT_KEPT, STYLE_KEPT, STYLE_DROPPED = 0.7, 0.5, 0.2


def train_and_probe(name: str, tmp_path, steps: int | None, kind: str, points: int, dataset=None, **overrides):
    hyper, budget = method_defaults(name, "synthetic")
    hyper.update(overrides)
    cls = METHODS.get(name)
    dataset = dataset or SyntheticDataset()
    method = cls(build_config(cls.Config, hyper, name), dataset, seed=0)
    train(method, steps or int(budget["steps"]), tmp_path)
    rng = np.random.default_rng(123)
    train_x, train_f = dataset.sample(points, rng)
    test_x, test_f = dataset.sample(points // 2, rng)
    return r2_matrix(method.encode(train_x).spaces, train_f, method.encode(test_x).spaces, test_f, dataset.factors, kind)


def test_multispace_separates_content_and_styles_after_a_short_run(tmp_path):
    """Direction of the effect in 300 steps of small networks, on the M = 2 synthetic data (``mode=groups``)
    with a linear mixing (the default three-layer mixing needs the preset's budget: see the slow test)."""
    r2 = train_and_probe(
        "multispace", tmp_path, steps=300, kind="kernel", points=600,
        dataset=SyntheticDataset(SyntheticConfig(mode="groups", mixing_layers=1)), initial_lambda=3.0,
        batch_size=128, encoder_hidden=(64, 64), projector_hidden=(64,), representation_dim=32,
    )
    content = r2["content"]
    assert content["content"] > content["group1"] + 0.5 and content["content"] > content["group2"] + 0.5
    for group in ("group1", "group2"):
        other = "group2" if group == "group1" else "group1"
        style = r2[f"style:{group}"]
        assert style[group] > content[group] + 0.2  # the style space keeps its own group, the content space not
        assert style[group] > style[other] + 0.2  # and it drops the other group


@pytest.mark.slow
def test_multispace_preset_separates_content_from_style(tmp_path):
    """On the reference data (5 content + 5 style dimensions, style perturbed between views)."""
    r2 = train_and_probe("multispace", tmp_path, steps=None, kind="kernel", points=3000)
    assert r2["content"]["content"] >= CONTENT_KEPT and r2["content"]["group1"] <= STYLE_DROPPED
    assert r2["style:group1"]["group1"] >= STYLE_KEPT
    assert r2["style:group1"]["group1"] > r2["content"]["group1"] + 0.4  # style lives in the style space


@pytest.mark.slow
def test_simclr_preset_keeps_content_and_drops_style(tmp_path):
    r2 = train_and_probe("simclr", tmp_path, steps=None, kind="kernel", points=3000)["latent"]
    assert r2["content"] >= CONTENT_KEPT and r2["group1"] <= STYLE_DROPPED


@pytest.mark.slow
def test_color_dsprites_cpu_suite_separates_shape_from_colour(tmp_path):
    """Direction of the ColorDSprites claim at the documented CPU budget with the factor views (the
    color-dsprites-cpu-factors suite's seed-0 entries): each style space reads its own group (colour,
    position) and the content space much less of it, and SimCLR's single space keeps less colour than
    multispace's colour space. Measured with this release's code (docs/ssl.md, seed 0): colour space
    colour 0.97 against 0.08 in the content space, spatial space position 0.64 against 0.37, SimCLR colour
    0.03. The content space no longer reads shape at this budget (0.20; 0.74 before 0.2.0's fidelity
    changes), so that direction is not asserted. One seed keeps this test near 13 minutes on an idle
    2-core machine."""
    from disbench.bench import load_suite
    from disbench.datasets import DATASETS

    cls = DATASETS.get("color-dsprites")
    dataset = cls(cls.Config(views="factors"))
    rng = np.random.default_rng(0)
    train_x, train_f = dataset.sample(1500, rng)
    test_x, test_f = dataset.sample(750, rng)
    matrices = {}
    for entry in load_suite("color-dsprites-cpu-factors").runs:
        if entry.method not in ("multispace", "simclr") or entry.seed != 0:
            continue
        hyper, _ = method_defaults(entry.method, entry.dataset)
        hyper.update({k: v for k, v in entry.overrides.items() if k != "views"})  # views: a dataset option
        cls = METHODS.get(entry.method)
        method = cls(build_config(cls.Config, hyper, entry.method), dataset, seed=entry.seed)
        (tmp_path / entry.method).mkdir()
        train(method, entry.steps, tmp_path / entry.method)
        matrices[entry.method] = r2_matrix(
            method.encode(train_x).spaces, train_f, method.encode(test_x).spaces, test_f, dataset.factors, kind="kernel"
        )
    print(matrices)  # shown with -s: the numbers behind the direction
    multispace = matrices["multispace"]
    content, colour, spatial = multispace["content"], multispace["style:colour"], multispace["style:spatial"]
    assert colour["colour"] > content["colour"] + 0.5 and colour["colour"] > spatial["colour"] + 0.5
    assert spatial["spatial"] > content["spatial"] + 0.15 and spatial["spatial"] > colour["spatial"] + 0.3
    assert matrices["simclr"]["latent"]["colour"] < colour["colour"] - 0.5
