"""Frozen pretrained encoders (torchvision, timm, open_clip), scored by the shared evaluator.

``--set model=LIBRARY:NAME`` picks the network: ``torchvision:resnet50``,
``timm:vit_base_patch16_224``, ``open_clip:ViT-B-16`` (the CLIP grid of Ottlik et al.'s
Table 1: ``open_clip:RN50``, ``RN50x4``, ``RN50x16``, ``ViT-B-16``, ``ViT-L-14``).
Nothing is trained and nothing is ever downloaded: ``weights`` is

- empty (the default): the library's own local cache, looked up without network
  (torchvision: ``$TORCH_HOME/hub/checkpoints/<file>``; timm and open_clip: the Hugging Face
  hub cache, and open_clip's ``~/.cache/clip`` for OpenAI's files);
- a path to a weights file (``.safetensors``, or a ``.pt``/``.pth``/``.bin`` state dict, read
  with ``torch.load(weights_only=True)``: never unpickled);
- ``random``: the architecture randomly initialised from the run's seed (a baseline, and
  what the tests use).

Preprocessing is the model's own (input size, interpolation, mean and standard deviation),
applied to the dataset's images: one channel is repeated to three, and the image is resized
to the model's input size without cropping (a sprite may sit at the border of the frame).
Codes are the pooled image embedding (torchvision and timm: the features before the
classifier; open_clip: ``encode_image``), or with ``--set layer=NAME`` the output of that
module, averaged over its spatial positions or tokens.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from disbench.errors import DisbenchError, UsageError
from disbench.methods.base import Method, MethodConfig
from disbench.methods.registry import METHODS
from disbench.methods.representation import Representation

LIBRARIES = ("torchvision", "timm", "open_clip")
#: open_clip's weights tag for the CLIP grid (Radford et al. 2021's released models)
OPEN_CLIP_DEFAULT_TAG = "openai"


@dataclass
class PretrainedConfig(MethodConfig):
    """Attributes:
    model: ``torchvision:NAME``, ``timm:NAME`` or ``open_clip:NAME``.
    weights: empty for the library's local cache, a weights file, or ``random``.
    layer: a module name whose output is pooled into the codes (empty: the image embedding).
    batch_size: images encoded at once.
    image_size: input size (0: the model's own).
    """

    model: str = "torchvision:resnet50"
    weights: str = ""
    layer: str = ""
    batch_size: int = 64
    image_size: int = 0

    def __post_init__(self) -> None:
        library, _, name = self.model.partition(":")
        if library not in LIBRARIES or not name:
            raise ValueError(
                f"model must be LIBRARY:NAME with LIBRARY one of {', '.join(LIBRARIES)} "
                f"(e.g. torchvision:resnet50), got {self.model!r}"
            )
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")
        if self.image_size < 0:
            raise ValueError(f"image_size must be >= 0, got {self.image_size}")
        if self.weights not in ("", "random"):
            self.weights = str(Path(self.weights).expanduser().resolve())


@dataclass
class Preprocessing:
    size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    interpolation: str


def _require(module: str, library: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise UsageError(
            f"model {library}:... needs the {library} package: pip install -e \".[encoders]\" (or pip install {library.replace('_', '-')}{'_torch' if library == 'open_clip' else ''})."
        ) from None


def read_state_dict(path: Path) -> dict[str, Any]:
    """A weights file as a state dict, without unpickling anything."""
    if not path.is_file():
        raise UsageError(f"weights file {str(path)!r} does not exist; pass --set weights=PATH to a local file.")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001  (torch raises several types for files it refuses)
        raise UsageError(
            f"{str(path)!r} is not a plain state dict ({type(exc).__name__}); disbench never unpickles files: "
            "convert it to .safetensors or a weights-only state dict."
        ) from None
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict):
        raise UsageError(f"{str(path)!r} does not hold a state dict.")
    return state


def _hub_cache(repo_id: str, filenames: tuple[str, ...]) -> Path | None:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    for filename in filenames:
        found = try_to_load_from_cache(repo_id.strip("/"), filename)
        if isinstance(found, str):
            return Path(found)
    return None


class FrozenEncoder:
    """One library's network, its preprocessing and where its weights are cached."""

    def __init__(self, library: str, name: str) -> None:
        self.library, self.name = library, name

    def build(self, image_size: int = 0):
        """(network with random weights, Preprocessing, where the weights were looked for, cached file or None).

        ``image_size`` (0: the model's own) rebuilds position embeddings for another input size
        where the architecture has them (timm ViTs, open_clip).
        """
        if self.library == "torchvision":
            models = _require("torchvision.models", "torchvision")
            import torch

            try:
                network = models.get_model(self.name, weights=None)
            except ValueError:
                raise UsageError(f"torchvision has no model {self.name!r}; see torchvision.models.list_models().") from None
            transform = models.get_model_weights(self.name).DEFAULT.transforms()
            for head in ("fc", "heads", "classifier", "head"):
                if hasattr(network, head):
                    setattr(network, head, torch.nn.Identity())
                    break
            weights_file = Path(torch.hub.get_dir()) / "checkpoints" / Path(models.get_model_weights(self.name).DEFAULT.url).name
            preprocessing = Preprocessing(
                int(transform.crop_size[0]), tuple(transform.mean), tuple(transform.std), transform.interpolation.value
            )
            return network, preprocessing, [weights_file], (weights_file if weights_file.is_file() else None)
        if self.library == "timm":
            timm = _require("timm", "timm")
            try:
                extra = {"img_size": image_size} if image_size else {}
                try:
                    network = timm.create_model(self.name, pretrained=False, num_classes=0, **extra)
                except TypeError:  # architectures without position embeddings take any size
                    network = timm.create_model(self.name, pretrained=False, num_classes=0)
            except RuntimeError:
                raise UsageError(f"timm has no model {self.name!r}; see timm.list_models().") from None
            config = network.pretrained_cfg
            preprocessing = Preprocessing(
                int(config["input_size"][-1]), tuple(config["mean"]), tuple(config["std"]), config.get("interpolation", "bicubic")
            )
            repo = config.get("hf_hub_id") or ""
            cached = _hub_cache(repo, ("model.safetensors", "pytorch_model.bin")) if repo else None
            return network, preprocessing, [f"the Hugging Face cache of {repo}"], cached
        open_clip = _require("open_clip", "open_clip")
        if self.name not in open_clip.list_models():
            raise UsageError(f"open_clip has no model {self.name!r}; see open_clip.list_models().")
        config = open_clip.get_pretrained_cfg(self.name, OPEN_CLIP_DEFAULT_TAG) or {}
        # OpenAI's weights were trained with QuickGELU; the architecture must match them
        model = open_clip.create_model(
            self.name, pretrained=None, force_quick_gelu=bool(config.get("quick_gelu")),
            force_image_size=image_size or None,
        )
        image_size = model.visual.image_size
        preprocessing = Preprocessing(
            int(image_size[0] if isinstance(image_size, (tuple, list)) else image_size),
            tuple(config.get("mean", open_clip.OPENAI_DATASET_MEAN)),
            tuple(config.get("std", open_clip.OPENAI_DATASET_STD)),
            config.get("interpolation", "bicubic"),
        )
        candidates: list[Any] = []
        cached = None
        if config.get("hf_hub"):
            candidates.append(f"the Hugging Face cache of {config['hf_hub'].strip('/')}")
            cached = _hub_cache(config["hf_hub"], ("open_clip_model.safetensors", "open_clip_pytorch_model.bin"))
        return model, preprocessing, candidates, cached


@METHODS.register("pretrained")
class PretrainedEncoder(Method):
    """A frozen pretrained image encoder (torchvision, timm, open_clip): nothing is trained."""

    Config = PretrainedConfig
    summary = "frozen pretrained image encoder (torchvision / timm / open_clip); --set model=LIB:NAME"
    reference = "Ottlik, Ram, Liss, Unsupervised Disentanglement Literature Review and Exploration with Scale (Table 1)"
    applies_to = ("dsprites", "color-dsprites", "color-dsprites-tint", "shapes3d", "imagefolder", "imagenet")

    def __init__(self, config: PretrainedConfig, dataset: Any, seed: int, device: str = "cpu") -> None:
        super().__init__(config, dataset, seed, device)
        import torch

        if len(dataset.observation_shape) != 3:
            raise UsageError(
                f"method pretrained encodes images, and dataset {dataset.name!r} gives vectors of shape "
                f"{tuple(dataset.observation_shape)}; use an image dataset ({', '.join(self.applies_to)})."
            )
        library, _, name = config.model.partition(":")
        network, preprocessing, candidates, cached = FrozenEncoder(library, name).build(config.image_size)
        self.weights_source = self._load_weights(network, library, candidates, cached)
        self.preprocessing = preprocessing
        if config.image_size:
            self.preprocessing.size = config.image_size
        self.network = network.to(device).eval()
        self.embed = network.encode_image if library == "open_clip" else network
        self.num_parameters = int(sum(p.numel() for p in network.parameters()))
        self._captured: list[torch.Tensor] = []
        if config.layer:
            modules = dict(network.named_modules())
            if config.layer not in modules:
                import difflib

                close = difflib.get_close_matches(config.layer, [m for m in modules if m], n=5)
                raise UsageError(
                    f"model {config.model!r} has no module {config.layer!r}"
                    + (f"; similar: {', '.join(close)}" if close else "; list them with model.named_modules()")
                    + "."
                )
            modules[config.layer].register_forward_hook(lambda module, inputs, output: self._captured.append(output))

    def _load_weights(self, network: Any, library: str, candidates: list[Any], cached: Path | None) -> str:
        weights = self.config.weights
        if weights == "random":
            return "random initialisation (seeded)"
        path = Path(weights) if weights else cached
        if path is None:
            where = "; ".join(str(c) for c in candidates) or "the library's cache"
            raise UsageError(
                f"no local weights for {self.config.model!r} (looked in {where}); nothing is downloaded at run time: "
                "put the file there or pass --set weights=PATH (or weights=random for an untrained baseline)."
            )
        state = read_state_dict(path)
        if library == "timm" or library == "torchvision":
            state = {k: v for k, v in state.items() if not k.startswith(("fc.", "head.", "heads.", "classifier."))}
        missing, unexpected = network.load_state_dict(state, strict=False)
        if missing:
            raise UsageError(
                f"weights {str(path)!r} do not fit {self.config.model!r}: {len(missing)} parameters missing "
                f"(first: {missing[0]}); pass the weights of this architecture."
            )
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        return f"{path} (sha256 {digest})"

    def state_dict(self) -> dict[str, Any]:
        # the weights stay where they are; the run records which file (and its hash) it encoded with
        return {"weights_source": self.weights_source, "num_parameters": self.num_parameters}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("weights_source") != self.weights_source:
            raise DisbenchError(
                f"the weights of {self.config.model!r} changed since this run was created "
                f"({state.get('weights_source')!r}, now {self.weights_source!r}); rerun `disbench train` with --overwrite."
            )

    def _images(self, observations: np.ndarray):
        import torch
        import torch.nn.functional as F

        x = torch.as_tensor(observations, dtype=torch.float32, device=self.device)
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        p = self.preprocessing
        mode = "bicubic" if p.interpolation == "bicubic" else "bilinear"
        x = F.interpolate(x, size=(p.size, p.size), mode=mode, align_corners=False, antialias=True)
        mean = torch.tensor(p.mean, device=self.device).view(1, 3, 1, 1)
        std = torch.tensor(p.std, device=self.device).view(1, 3, 1, 1)
        return (x - mean) / std

    def encode(self, observations: np.ndarray, factors: np.ndarray | None = None) -> Representation:
        import torch

        parts = []
        with torch.no_grad():
            for start in range(0, len(observations), self.config.batch_size):
                self._captured.clear()
                embedding = self.embed(self._images(observations[start : start + self.config.batch_size]))
                if self.config.layer:
                    embedding = self._captured[-1]
                    if isinstance(embedding, (tuple, list)):
                        embedding = embedding[0]
                    embedding = embedding.flatten(2).mean(dim=2) if embedding.ndim == 4 else embedding
                    embedding = embedding.mean(dim=1) if embedding.ndim == 3 else embedding
                parts.append(embedding.float().flatten(1).cpu().numpy().astype(np.float64))
        return Representation({"latent": np.concatenate(parts)})
