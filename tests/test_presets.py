"""Presets (methods/*.yaml) and dataset cards (datasets/*.yaml) are input: checked like the command line."""

from __future__ import annotations

import shutil

import pytest
import yaml

from disbench import presets
from disbench.datasets import DATASETS
from disbench.errors import UsageError
from disbench.methods import METHODS


@pytest.mark.parametrize("method", list(METHODS))
def test_every_method_has_a_valid_preset_with_a_citation(method):
    path = presets.preset_path("methods", method)
    assert path.is_file(), f"method {method!r} has no preset"
    preset = presets.validate_preset(method)
    assert preset["method"] == method and str(preset["citation"]).strip()


def test_method_names_read_from_presets_equal_the_registry():
    # `eval --codes` refuses method names as codes names from the presets, without the
    # registry's torch import: the two lists must be the same
    assert presets.method_names() == set(METHODS)


@pytest.mark.parametrize("method", list(METHODS))
def test_every_method_preset_has_its_quick_entry_and_a_tiny_run(method):
    # the quick suite's entries come from the presets' quick: sections, the tests' tiny runs from their tiny: sections
    assert presets.preset_entry(method, "quick") is not None, f"methods/{method}.yaml has no quick: section"
    tiny = presets.preset_entry(method, "tiny")
    assert tiny is not None, f"methods/{method}.yaml has no tiny: section"
    assert (tiny.get("steps", 0) <= 10) and (tiny.get("steps") is not None) == METHODS.get(method).trainable
    assert presets.tiny_overrides(method) == tiny.get("hyperparameters", {})


def test_the_quick_suite_takes_an_entry_from_each_preset_with_a_quick_section(shipped_copy):
    from disbench.suites import load_suite

    blocks = {block.method: block for block in load_suite("quick").blocks}
    assert list(blocks) == list(METHODS)
    assert blocks["beta-vae"].steps == 300 and blocks["simclr"].steps == 200 and blocks["pca"].steps is None
    geomancer = blocks["geomancer"]
    assert geomancer.datasets == ("product-manifold",) and geomancer.metrics == ("subspace-angle",)
    assert geomancer.points == ({"num_points": 1000},)
    _edit(shipped_copy / "methods" / "pca.yaml", lambda p: p.pop("quick"))
    assert "pca" not in {block.method for block in load_suite("quick").blocks}


@pytest.mark.parametrize("dataset", list(DATASETS))
def test_every_dataset_has_a_valid_card(dataset):
    card = presets.validate_card(dataset)
    assert card["name"] == dataset and card["summary"] and card["license"] and card["source"]


@pytest.fixture
def shipped_copy(tmp_path, monkeypatch):
    """A copy of the shipped presets and cards that a test may spoil."""
    root = tmp_path / "shipped"
    for kind in ("methods", "datasets", "suites"):
        shutil.copytree(presets.preset_dir(kind), root / kind)
    monkeypatch.setattr(presets, "preset_dir", lambda kind: root / kind)
    return root


def _edit(path, change):
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.mark.parametrize(
    "change, fragment",
    [
        (lambda p: p.update(hyperparameter={"beta": 8}), "unknown key 'hyperparameter' in the preset; valid keys: method, citation"),
        (lambda p: p["hyperparameters"].update(betta=8), "unknown key 'betta' in top-level hyperparameters (of method 'beta-vae'); valid keys: "),
        (lambda p: p["datasets"].update(synthtic={"budget": {"steps": 5}}), "unknown key 'synthtic' in datasets (registered datasets); valid keys: synthetic"),
        (lambda p: p["datasets"]["synthetic"].update(hyperparams={"lr": 0.1}), "unknown key 'hyperparams' in datasets.synthetic; valid keys: hyperparameters, budget"),
        (lambda p: p["datasets"]["synthetic"]["hyperparameters"].update(lr="fast"), "datasets.synthetic: method 'beta-vae' key 'lr' must be a number"),
        (lambda p: p["budget"].update(stepz=5), "unknown key 'stepz' in top-level budget; valid keys: steps"),
        (lambda p: p["datasets"]["synthetic"]["budget"].update(steps=1e20), "budget steps must be at most"),
        (lambda p: p.pop("citation"), "no citation"),
        (lambda p: p["quick"].update(step=300), "unknown key 'step' in quick; valid keys: steps, hyperparameters, datasets, metrics"),
        (lambda p: p["tiny"]["hyperparameters"].update(betta=1), "unknown key 'betta' in tiny hyperparameters (of method 'beta-vae')"),
        (lambda p: p["quick"].update(steps=0), "quick: budget steps must be a positive number"),
        (lambda p: p["tiny"]["hyperparameters"].update(hidden="wide"), "tiny: method 'beta-vae' key 'hidden'"),
        (lambda p: p["quick"].update(datasets=["synthtic"]), "quick.datasets names 'synthtic', which the method does not apply to"),
        (lambda p: p["tiny"].update(metrics="mig"), "tiny.metrics must be a non-empty list of names, got 'mig'"),
    ],
)
def test_a_bad_preset_is_refused_naming_file_key_and_valid_keys(cli, shipped_copy, change, fragment):
    path = shipped_copy / "methods" / "beta-vae.yaml"
    _edit(path, change)
    with pytest.raises(UsageError) as error:
        presets.method_defaults("beta-vae", "synthetic")
    assert str(path) in str(error.value) and fragment in str(error.value)
    result = cli("train", "-m", "beta-vae", "--steps", "2")
    assert result.exit_code == 2 and fragment in result.stderr.replace("\n", " ")


@pytest.mark.parametrize(
    "change, fragment",
    [
        (lambda c: c.update(sumary="typo"), "unknown key 'sumary' in the card; valid keys: name, summary"),
        (lambda c: c.pop("license"), "missing 'license'"),
        (lambda c: c["options"].update(data_folder="x"), "unknown key 'data_folder' in options (of dataset 'dsprites'); valid keys: correlations, eval_distribution, source, data_dir"),
        (lambda c: c["factors"][0].update(vals=3), "unknown key 'vals' in factors[0]; valid keys: name, group, values"),
        (lambda c: c.update(name="sprites"), "name is 'sprites' but the file is the card of 'dsprites'"),
    ],
)
def test_a_bad_card_is_refused(cli, shipped_copy, change, fragment):
    path = shipped_copy / "datasets" / "dsprites.yaml"
    _edit(path, change)
    with pytest.raises(UsageError) as error:
        presets.validate_card("dsprites")
    assert str(path) in str(error.value) and fragment in str(error.value)
    result = cli("data", "info", "dsprites")
    assert result.exit_code == 2 and fragment in result.stderr.replace("\n", " ")


def test_card_defaults_must_equal_the_code(shipped_copy):
    _edit(shipped_copy / "datasets" / "synthetic.yaml", lambda c: c["defaults"].update(mixing_layers=5))
    with pytest.raises(UsageError, match="defaults say mixing_layers=5 but the code's default is 3"):
        presets.validate_card("synthetic")
