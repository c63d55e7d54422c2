"""Networks shared by the methods: encoders and decoders chosen by the data's shape.

Vector data (``observation_shape == (D,)``) gets MLPs; 64x64 images get the
convolutional encoder and deconvolutional decoder of disentanglement_lib's VAE
study (Locatello et al. 2019). Self-supervised methods add torchvision ResNets
(:func:`resnet_backbone`) and the SimCLR/VICReg projector (:func:`projector`).
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn


def mlp(sizes: Sequence[int], activation: type[nn.Module] = nn.LeakyReLU, batch_norm: bool = False) -> nn.Sequential:
    """Linear layers ``sizes[0] -> ... -> sizes[-1]``; activation (and BatchNorm) between them, not after the last."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        last = i == len(sizes) - 2
        layers.append(nn.Linear(n_in, n_out))
        if not last:
            if batch_norm:
                layers.append(nn.BatchNorm1d(n_out))
            layers.append(activation())
    return nn.Sequential(*layers)


class ConvEncoder(nn.Module):
    """dlib's conv encoder: 4 stride-2 4x4 convs (32, 32, 64, 64), a 256-unit layer, then ``out_dim``."""

    def __init__(self, channels: int, image_size: int, out_dim: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(channels, 32, 4, 2, 1), nn.ReLU(),
            nn.Conv2d(32, 32, 4, 2, 1), nn.ReLU(),
            nn.Conv2d(32, 64, 4, 2, 1), nn.ReLU(),
            nn.Conv2d(64, 64, 4, 2, 1), nn.ReLU(),
            nn.Flatten(),
        )
        flat = 64 * (image_size // 16) ** 2
        self.head = nn.Sequential(nn.Linear(flat, 256), nn.ReLU(), nn.Linear(256, out_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class DeconvDecoder(nn.Module):
    """dlib's deconv decoder, the mirror of :class:`ConvEncoder`; returns logits."""

    def __init__(self, latent_dim: int, channels: int, image_size: int) -> None:
        super().__init__()
        self.start = image_size // 16
        self.head = nn.Sequential(
            nn.Linear(latent_dim, 256), nn.ReLU(), nn.Linear(256, 64 * self.start**2), nn.ReLU()
        )
        self.deconv = nn.Sequential(
            nn.ConvTranspose2d(64, 64, 4, 2, 1), nn.ReLU(),
            nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.ReLU(),
            nn.ConvTranspose2d(32, 32, 4, 2, 1), nn.ReLU(),
            nn.ConvTranspose2d(32, channels, 4, 2, 1),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.deconv(self.head(z).view(len(z), 64, self.start, self.start))


def is_image(observation_shape: Sequence[int]) -> bool:
    return len(observation_shape) == 3


def build_encoder(observation_shape: Sequence[int], out_dim: int, hidden: Sequence[int] = (256, 256)) -> nn.Module:
    """An encoder from observations to ``out_dim`` numbers, picked by the data's shape."""
    if is_image(observation_shape):
        channels, height, width = observation_shape
        return ConvEncoder(channels, height, out_dim)
    if len(observation_shape) != 1:
        raise ValueError(f"no encoder for observations of shape {tuple(observation_shape)}")
    return mlp([observation_shape[0], *hidden, out_dim])


def build_decoder(observation_shape: Sequence[int], latent_dim: int, hidden: Sequence[int] = (256, 256)) -> nn.Module:
    """A decoder from ``latent_dim`` codes back to observations (logits for images)."""
    if is_image(observation_shape):
        channels, height, width = observation_shape
        return DeconvDecoder(latent_dim, channels, height)
    return mlp([latent_dim, *reversed(hidden), observation_shape[0]])


def resnet_backbone(depth: int, channels: int, small_images: bool) -> tuple[nn.Module, int]:
    """A torchvision ResNet without its classifier, and its feature width.

    Args:
        depth: 18 or 50.
        channels: input channels (1 for greyscale dSprites, 3 for colour).
        small_images: replace the 7x7 stride-2 stem and max-pool by a 3x3 stride-1
            convolution, as SSL papers do for 32-64 pixel images (Eastwood et al. 2023).

    Returns:
        (module mapping ``(B, C, H, W)`` to ``(B, width)``, width): width 512 or 2048.
    """
    from torchvision import models

    builders = {18: models.resnet18, 50: models.resnet50}
    if depth not in builders:
        raise ValueError(f"ResNet depth must be 18 or 50, got {depth}")
    net = builders[depth](weights=None)
    if small_images:
        net.conv1 = nn.Conv2d(channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
        net.maxpool = nn.Identity()
    elif channels != 3:
        net.conv1 = nn.Conv2d(channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
    width = net.fc.in_features
    net.fc = nn.Identity()
    return net, width


def projector(in_dim: int, hidden: Sequence[int], out_dim: int) -> nn.Sequential:
    """SSL projector: Linear-BatchNorm-ReLU for each hidden width, then a bias-free Linear (VICReg's head)."""
    layers: list[nn.Module] = []
    width = in_dim
    for size in hidden:
        layers += [nn.Linear(width, size), nn.BatchNorm1d(size), nn.ReLU(inplace=True)]
        width = size
    layers.append(nn.Linear(width, out_dim, bias=False))
    return nn.Sequential(*layers)
