"""The frozen pretrained encoders, with randomly initialised networks (no weights file is needed)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from disbench.errors import UsageError
from disbench.methods.pretrained import PretrainedConfig, PretrainedEncoder
from disbench.training.runs import build_dataset


@pytest.fixture(scope="module")
def dsprites():
    return build_dataset("dsprites")


def _encoder(dataset, seed=0, **config):
    torch.manual_seed(seed)  # as runs.build_method seeds initialisation
    values = {"weights": "random", "image_size": 64, **config}
    return PretrainedEncoder(PretrainedConfig(**values), dataset, seed=seed)


def _images(dataset, n=12, seed=0):
    return dataset.sample(n, np.random.default_rng(seed))


@pytest.mark.parametrize(
    "model, dim",
    [("torchvision:resnet18", 512), ("timm:resnet10t", 512), ("timm:vit_tiny_patch16_224", 192), ("open_clip:RN50", 1024)],
)
def test_codes_are_the_pooled_embedding_and_deterministic(dsprites, model, dim):
    x, _ = _images(dsprites)
    first = _encoder(dsprites, model=model).encode(x).spaces["latent"]
    second = _encoder(dsprites, model=model).encode(x).spaces["latent"]
    assert first.shape == (12, dim)
    assert np.isfinite(first).all()
    np.testing.assert_array_equal(first, second)
    # codes do not depend on how the images are batched
    np.testing.assert_allclose(_encoder(dsprites, model=model, batch_size=5).encode(x).spaces["latent"], first, atol=1e-4)


def test_preprocessing_is_the_models_own(dsprites):
    torchvision_encoder = _encoder(dsprites, model="torchvision:resnet18", image_size=0)
    assert torchvision_encoder.preprocessing.size == 224
    assert torchvision_encoder.preprocessing.mean == pytest.approx((0.485, 0.456, 0.406))
    clip = _encoder(dsprites, model="open_clip:RN50", image_size=0)
    assert clip.preprocessing.mean == pytest.approx((0.48145466, 0.4578275, 0.40821073))
    assert clip.preprocessing.interpolation == "bicubic"
    x, _ = _images(dsprites, n=2)
    images = torchvision_encoder._images(x)
    assert images.shape == (2, 3, 224, 224)
    # a one-channel image becomes three equal channels before normalisation
    unnormalised = images * torch.tensor((0.229, 0.224, 0.225)).view(1, 3, 1, 1) + torch.tensor((0.485, 0.456, 0.406)).view(1, 3, 1, 1)
    torch.testing.assert_close(unnormalised[:, 0], unnormalised[:, 2], atol=1e-5, rtol=0)


def test_an_intermediate_layer_is_pooled_over_positions(dsprites):
    x, _ = _images(dsprites)
    codes = _encoder(dsprites, model="torchvision:resnet18", layer="layer3").encode(x).spaces["latent"]
    assert codes.shape == (12, 256)
    with pytest.raises(UsageError, match="no module 'layer9'.*similar"):
        _encoder(dsprites, model="torchvision:resnet18", layer="layer9")


def test_weights_are_read_from_a_file_without_unpickling(dsprites, tmp_path):
    from safetensors.torch import save_file

    reference = _encoder(dsprites, seed=5, model="torchvision:resnet18")
    state = {k: v.contiguous() for k, v in reference.network.state_dict().items()}
    save_file(state, str(tmp_path / "w.safetensors"))
    torch.save(state, tmp_path / "w.pth")
    x, _ = _images(dsprites)
    expected = reference.encode(x).spaces["latent"]
    for name in ("w.safetensors", "w.pth"):
        loaded = _encoder(dsprites, seed=0, model="torchvision:resnet18", weights=str(tmp_path / name))
        np.testing.assert_allclose(loaded.encode(x).spaces["latent"], expected, atol=1e-5)
        assert "sha256" in loaded.weights_source

    import argparse

    torch.save({"obj": argparse.Namespace(a=1)}, tmp_path / "evil.pt")  # a pickled object: refused, never unpickled
    with pytest.raises(UsageError, match="never unpickles"):
        _encoder(dsprites, model="torchvision:resnet18", weights=str(tmp_path / "evil.pt"))


def test_missing_weights_say_where_to_put_them(dsprites, tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    with pytest.raises(UsageError, match="nothing is downloaded.*weights=PATH") as caught:
        _encoder(dsprites, model="torchvision:resnet18", weights="")
    assert str(tmp_path / "hub" / "checkpoints" / "resnet18-f37072fd.pth") in str(caught.value)


def test_vector_datasets_and_unknown_models_are_refused():
    with pytest.raises(UsageError, match="encodes images"):
        _encoder(build_dataset("synthetic"), model="torchvision:resnet18")
    with pytest.raises(ValueError, match="LIBRARY:NAME"):
        PretrainedConfig(model="resnet50")
    with pytest.raises(UsageError, match="torchvision has no model"):
        _encoder(build_dataset("dsprites"), model="torchvision:resnet5000")


def test_a_missing_library_names_the_extra():
    code = (
        "import sys; sys.modules['timm'] = None\n"
        "from disbench.methods.pretrained import FrozenEncoder\n"
        "FrozenEncoder('timm', 'resnet10t').build()\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode != 0
    assert 'pip install -e ".[encoders]"' in result.stderr


def test_codes_of_an_encoder_that_sees_the_pixels_beat_a_random_projection_baseline(dsprites):
    from sklearn.linear_model import RidgeCV

    x, factors = dsprites.sample(600, np.random.default_rng(3))
    codes = _encoder(dsprites, model="torchvision:resnet18").encode(x).spaces["latent"]
    baseline = np.random.default_rng(0).normal(size=codes.shape)  # same size, blind to the images
    names = dsprites.factor_names
    position = [names.index("x"), names.index("y")]

    def held_out_r2(features):
        model = RidgeCV(alphas=np.logspace(-3, 3, 7)).fit(features[:400], factors[:400][:, position])
        return model.score(features[400:], factors[400:][:, position])

    assert held_out_r2(codes) > 0.3
    assert held_out_r2(codes) > held_out_r2(baseline) + 0.3
