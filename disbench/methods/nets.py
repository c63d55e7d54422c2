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


def tf_same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's ``padding="same"`` along one axis: (before, after).

    The output has ``ceil(size / stride)`` positions; the padding needed for that
    is split with the extra pixel (when odd) after, as ``tf.nn.conv2d`` does.
    """
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def tf_same_conv(in_channels: int, out_channels: int, kernel: int, stride: int, size: tuple[int, int]) -> tuple[list[nn.Module], tuple[int, int]]:
    """A convolution padded as TensorFlow's ``"same"`` for an input of ``size`` (H, W).

    Returns the modules (an explicit zero-pad first when the padding is asymmetric)
    and the output size.
    """
    (top, bottom), (left, right) = (tf_same_padding(n, kernel, stride) for n in size)
    out_size = (-(-size[0] // stride), -(-size[1] // stride))
    if top == bottom and left == right:
        return [nn.Conv2d(in_channels, out_channels, kernel, stride, padding=(top, left))], out_size
    return [nn.ZeroPad2d((left, right, top, bottom)), nn.Conv2d(in_channels, out_channels, kernel, stride)], out_size


def tf_initialise(module: nn.Module) -> nn.Module:
    """TensorFlow's layer defaults on every (transposed) convolution and linear layer.

    ``tf.layers`` draws kernels Glorot-uniform and starts biases at zero, where
    PyTorch draws both from a Kaiming-uniform rule; dlib's networks train from TF's start.
    """
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.xavier_uniform_(layer.weight)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
    return module


class ConvEncoder(nn.Module):
    """dlib's ``conv_encoder`` (Locatello et al. 2019, after Higgins et al. 2017, Table 1).

    Convolutions 32 k4 s2, 32 k4 s2, 64 k2 s2, 64 k2 s2, all ReLU with TF ``"same"``
    padding (64 -> 32 -> 16 -> 8 -> 4 pixels), a 256-unit ReLU layer, then ``heads``
    separate linear outputs of ``out_dim`` each, concatenated (dlib's VAE has two:
    means and log-variances). TF's initialisation (:func:`tf_initialise`).
    One channel, 10 latents, 2 heads: 309,204 parameters, as dlib's.
    """

    LAYERS = ((32, 4), (32, 4), (64, 2), (64, 2))  # (filters, kernel), all stride 2

    def __init__(self, channels: int, image_size: int | tuple[int, int], out_dim: int, heads: int = 1) -> None:
        super().__init__()
        size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
        layers: list[nn.Module] = []
        width = channels
        for filters, kernel in self.LAYERS:
            conv, size = tf_same_conv(width, filters, kernel, 2, size)
            layers += [*conv, nn.ReLU()]
            width = filters
        self.features = nn.Sequential(*layers, nn.Flatten(), nn.Linear(width * size[0] * size[1], 256), nn.ReLU())
        self.heads = nn.ModuleList(nn.Linear(256, out_dim) for _ in range(heads))
        tf_initialise(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = self.features(x)
        return torch.cat([head(hidden) for head in self.heads], dim=1)


class SmallConvEncoder(nn.Module):
    """A four-convolution encoder for self-supervised training at CPU budgets.

    Convolutions 32, 32, 64, 64, all k4 s2 p1 with ReLU (64 -> 4 pixels), a 256-unit
    ReLU layer and a linear output of ``out_dim``, with PyTorch's default initialisation.
    The shapes are those of dlib's net; what differs is the start: under TF's Glorot
    weights and zero biases (:class:`ConvEncoder`) about 97% of the first layer's units
    are exactly 0 on [0, 1] images, and contrastive training then sits on the collapsed
    plateau for most of a short budget (docs/ssl.md). For the VAEs dlib's net stays the
    reference; the SSL reference (Eastwood et al. 2023) is a ResNet-18, a GPU budget.
    """

    def __init__(self, channels: int, image_size: int | tuple[int, int], out_dim: int) -> None:
        super().__init__()
        height, width = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
        layers: list[nn.Module] = []
        in_channels = channels
        for filters in (32, 32, 64, 64):
            layers += [nn.Conv2d(in_channels, filters, 4, 2, 1), nn.ReLU()]
            in_channels = filters
            height, width = height // 2, width // 2
        self.features = nn.Sequential(*layers, nn.Flatten(), nn.Linear(in_channels * height * width, 256), nn.ReLU())
        self.head = nn.Linear(256, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class DeconvDecoder(nn.Module):
    """dlib's ``deconv_decoder``: dense 256, dense 1024 (4x4x64 for 64x64 images), transposed
    convolutions 64, 32, 32, ``channels``, all k4 s2 with TF ``"same"`` padding (symmetric
    padding 1 for k4 s2, so PyTorch's ``padding=1`` is exact); returns logits.
    One channel, 10 latents: 381,313 parameters, as dlib's.
    """

    def __init__(self, latent_dim: int, channels: int, image_size: int) -> None:
        super().__init__()
        if image_size % 16:
            raise ValueError(f"the deconv decoder doubles 4 times: image side must be a multiple of 16, got {image_size}")
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
        tf_initialise(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.deconv(self.head(z).view(len(z), 64, self.start, self.start))


def is_image(observation_shape: Sequence[int]) -> bool:
    return len(observation_shape) == 3


def build_encoder(
    observation_shape: Sequence[int], out_dim: int, hidden: Sequence[int] = (256, 256), heads: int = 1
) -> nn.Module:
    """An encoder from observations to ``heads * out_dim`` numbers, picked by the data's shape.

    Images get dlib's conv encoder with ``heads`` separate output layers (as dlib's
    means and log-variances); vectors an MLP whose last layer has ``heads * out_dim`` units.
    """
    if is_image(observation_shape):
        channels, height, width = observation_shape
        return ConvEncoder(channels, (height, width), out_dim, heads)
    if len(observation_shape) != 1:
        raise ValueError(f"no encoder for observations of shape {tuple(observation_shape)}")
    return mlp([observation_shape[0], *hidden, heads * out_dim])


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
    # as the reference's main.py: each residual branch's last BatchNorm starts at zero,
    # so every block starts as the identity
    net = builders[depth](weights=None, zero_init_residual=True)
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


class VAEModel(nn.Module):
    """The VAE family's network: encoder to means and log-variances, decoder to observation logits."""

    def __init__(self, observation_shape: tuple[int, ...], latent_dim: int, hidden: tuple[int, ...]) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = build_encoder(observation_shape, latent_dim, hidden, heads=2)  # means, log-variances
        self.decoder = build_decoder(observation_shape, latent_dim, hidden)

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, logvar = self.encoder(x).chunk(2, dim=1)
        return mean, logvar

    def forward(self, x: torch.Tensor, noise: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Posterior, reparameterised sample ``mean + noise * std`` and the decoder's output."""
        mean, logvar = self.posterior(x)
        z = mean + noise * torch.exp(0.5 * logvar)
        return mean, logvar, z, self.decoder(z)


class FactorVAEModel(VAEModel):
    """The VAE plus FactorVAE's discriminator."""

    def __init__(self, observation_shape, latent_dim, hidden, discriminator_hidden: int) -> None:
        super().__init__(observation_shape, latent_dim, hidden)
        # dlib's fc_discriminator: 6 leaky-ReLU (slope 0.2, TF's default) layers, 2 logits, TF's initialisation
        self.discriminator = tf_initialise(nn.Sequential(
            *[m for i in range(6) for m in (nn.Linear(latent_dim if i == 0 else discriminator_hidden, discriminator_hidden), nn.LeakyReLU(0.2))],
            nn.Linear(discriminator_hidden, 2),
        ))


class SSLModel(nn.Module):
    """``projector(backbone(x))``; buffers added by methods (multipliers) live here so they are checkpointed."""

    def __init__(self, backbone: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone
        self.projector = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.projector(self.backbone(x))
