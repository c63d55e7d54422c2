"""Dataset cards (datasets/NAME.yaml) exist for the image datasets and match the code."""

from __future__ import annotations

import numpy as np
import pytest

from disbench.config import load_yaml_file
from disbench.datasets import DATASETS
from disbench.presets import preset_path

IMAGE_DATASETS = [
    "dsprites", "color-dsprites", "color-dsprites-tint", "noisy-dsprites", "scream-dsprites", "shapes3d", "smallnorb",
    "cars3d", "mpi3d-toy", "mpi3d-realistic", "mpi3d-real", "imagefolder", "imagenet",
]


@pytest.mark.parametrize("name", IMAGE_DATASETS)
def test_card_exists_and_names_its_source_and_license(name):
    card = load_yaml_file(preset_path("datasets", name), what="dataset card")
    assert card["name"] == name and name in DATASETS
    assert card["summary"] and card["license"] and card["source"] and card["factors"]


@pytest.mark.parametrize("name", ["dsprites", "color-dsprites", "color-dsprites-tint", "noisy-dsprites"])
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


def test_scream_card_factors_are_dsprites():
    dsprites = load_yaml_file(preset_path("datasets", "dsprites"), what="dataset card")
    scream = load_yaml_file(preset_path("datasets", "scream-dsprites"), what="dataset card")
    assert [(f["name"], f["group"], f["values"]) for f in scream["factors"]] == [
        (f["name"], f["group"], f["values"]) for f in dsprites["factors"]
    ]
    assert scream["source"]["file"] == "scream.jpg"


@pytest.mark.parametrize("name,factors,sizes", [
    ("smallnorb", "disbench.datasets.smallnorb", [5, 9, 18, 6]),
    ("cars3d", "disbench.datasets.cars3d", [4, 24, 183]),
    ("mpi3d-toy", "disbench.datasets.mpi3d", [6, 6, 2, 3, 3, 40, 40]),
    ("mpi3d-realistic", "disbench.datasets.mpi3d", [6, 6, 2, 3, 3, 40, 40]),
    ("mpi3d-real", "disbench.datasets.mpi3d", [6, 6, 2, 3, 3, 40, 40]),
])
def test_file_dataset_cards_match_the_code(name, factors, sizes):
    import importlib

    module = importlib.import_module(factors)
    card = load_yaml_file(preset_path("datasets", name), what="dataset card")
    assert [(f["name"], f["group"]) for f in card["factors"]] == list(module.FACTORS)
    assert [f["values"] for f in card["factors"]] == sizes
    assert card["size"] == int(np.prod(sizes)) * (10 if name == "smallnorb" else 1)  # smallnorb: 10 instances
