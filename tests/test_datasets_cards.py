"""Dataset cards (datasets/NAME.yaml) exist for the image datasets and match the code."""

from __future__ import annotations

import pytest

from disbench.config import load_yaml_file
from disbench.datasets import DATASETS
from disbench.presets import preset_path

IMAGE_DATASETS = ["dsprites", "color-dsprites", "color-dsprites-tint", "shapes3d", "imagefolder", "imagenet"]


@pytest.mark.parametrize("name", IMAGE_DATASETS)
def test_card_exists_and_names_its_source_and_license(name):
    card = load_yaml_file(preset_path("datasets", name), what="dataset card")
    assert card["name"] == name and name in DATASETS
    assert card["summary"] and card["license"] and card["source"] and card["factors"]


@pytest.mark.parametrize("name", ["dsprites", "color-dsprites", "color-dsprites-tint"])
def test_card_factors_match_the_rendered_dataset(name, monkeypatch):
    monkeypatch.delenv("DISBENCH_DATA", raising=False)
    cls = DATASETS.get(name)
    dataset = cls(cls.Config(source="render"))
    card = load_yaml_file(preset_path("datasets", name), what="dataset card")
    assert [(f["name"], f["group"], f["values"]) for f in card["factors"]] == [
        (f.name, f.group, f.num_values) for f in dataset.factors
    ]
    assert list(card["observations"]["shape"]) == list(dataset.observation_shape)


def test_shapes3d_card_factors_match_the_code():
    from disbench.datasets.shapes3d import FACTORS

    card = load_yaml_file(preset_path("datasets", "shapes3d"), what="dataset card")
    assert [(f["name"], f["group"]) for f in card["factors"]] == list(FACTORS)
    assert [f["values"] for f in card["factors"]] == [10, 10, 10, 8, 4, 15]
