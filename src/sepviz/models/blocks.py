"""The building blocks every sepviz model is made of: conv down / up blocks, encoder, decoder.

Layout (as in FaderNetworks' ``src/model.py`` and faceswap's "original" model): ``L`` conv
blocks (4x4, stride 2) halve the image down to 4 x 4, a linear layer maps the feature map to a
latent vector ``z`` of ``latent_dim`` numbers, and a decoder mirrors it. Channels start at 32
and double up to 256: ``channels(32) == [32, 64, 128]``, ``channels(64) == [32, 64, 128, 256]``.

Each encoder and decoder is an ``nn.Sequential`` of blocks, so the probes can hook
"enc1".."encL" and "dec1".."decL", and a decoder's first k blocks can be swapped for another's.
"""

from __future__ import annotations

import math

import torch
from torch import nn

BASE_CHANNELS, MAX_CHANNELS = 32, 256


def channels(image_size: int) -> list[int]:
    """Feature maps of the conv blocks for an ``image_size`` face: one block per halving to 4."""
    n_blocks = int(math.log2(image_size)) - 2
    return [min(BASE_CHANNELS * 2**i, MAX_CHANNELS) for i in range(n_blocks)]


def down(c_in: int, c_out: int, norm: bool = True) -> nn.Sequential:
    """Conv 4x4 stride 2 (halves H and W), BatchNorm, LeakyReLU(0.2)."""
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=not norm)]
    if norm:
        layers.append(nn.BatchNorm2d(c_out))
    return nn.Sequential(*layers, nn.LeakyReLU(0.2, inplace=True))


NORMS = ("batch", "group", "instance", "none")
"""The normalisations a decoder block can use (see :func:`norm_layer`)."""
GROUPS = 8


def norm_layer(kind: str, c: int) -> nn.Module | None:
    """The normalisation of an up block with ``c`` feature maps, ``None`` for ``"none"``.

    ``"batch"``: BatchNorm2d, with running statistics used in eval mode. ``"group"``: GroupNorm
    of 8 groups (``gcd(8, c)``), ``"instance"``: InstanceNorm2d (affine, no running statistics):
    both normalise each image by its own statistics, the same in train and eval mode.
    """
    if kind == "batch":
        return nn.BatchNorm2d(c)
    if kind == "group":
        return nn.GroupNorm(math.gcd(GROUPS, c), c)
    if kind == "instance":
        return nn.InstanceNorm2d(c, affine=True, track_running_stats=False)
    if kind == "none":
        return None
    raise ValueError(f"norm must be one of {NORMS}, got {kind!r}")


def up(c_in: int, c_out: int, last: bool = False, norm: str = "batch") -> nn.Sequential:
    """ConvTranspose 4x4 stride 2 (doubles H and W), ``norm`` (:func:`norm_layer`), ReLU;
    ``last``: Sigmoid only."""
    if last:  # images are in [0, 1]
        return nn.Sequential(nn.ConvTranspose2d(c_in, c_out, 4, 2, 1), nn.Sigmoid())
    layer = norm_layer(norm, c_out)
    # a bias before a BatchNorm / GroupNorm / InstanceNorm is cancelled by its centring
    conv = nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=layer is None)
    return nn.Sequential(conv, *([layer] if layer is not None else []), nn.ReLU(inplace=True))


def encoder(image_size: int, latent_dim: int, standardize: bool = False) -> nn.Sequential:
    """E: (N, 3, S, S) in [0, 1] -> (N, latent_dim). Blocks: L conv blocks, then a linear map.

    ``standardize`` ends with a BatchNorm without affine parameters, so every latent unit has
    mean 0 and variance 1: an adversary cannot be fooled by blowing up the latent's scale.
    """
    ch = channels(image_size)
    blocks = [down(3, ch[0], norm=False)]  # no BatchNorm on the image itself (as in the paper)
    blocks += [down(a, b) for a, b in zip(ch, ch[1:])]
    last = [nn.Flatten(), nn.Linear(ch[-1] * 16, latent_dim)]
    if standardize:
        last.append(nn.BatchNorm1d(latent_dim, affine=False))
    blocks.append(nn.Sequential(*last))
    return nn.Sequential(*blocks)


def decoder(image_size: int, latent_dim: int, extra: int = 0, norm: str = "batch") -> nn.Sequential:
    """D: (N, latent_dim [+ extra]) -> (N, 3, S, S) in [0, 1]. Blocks: linear, then L up blocks.

    ``extra`` adds that many input channels to every block: FaderNet's attribute y, fed to
    every decoder layer (:class:`sepviz.models.fadernet.FaderDecoder` does the concatenating).
    ``norm``: the up blocks' normalisation, one of :data:`NORMS` (see :func:`norm_layer`).
    """
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
    ch = channels(image_size)[::-1]
    first = nn.Sequential(
        nn.Linear(latent_dim + extra, ch[0] * 16), nn.Unflatten(1, (ch[0], 4, 4)), nn.ReLU()
    )
    blocks = [first] + [up(a + extra, b, norm=norm) for a, b in zip(ch, ch[1:])]
    blocks.append(up(ch[-1] + extra, 3, last=True))
    return nn.Sequential(*blocks)


def mse(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean squared error in float32 (AMP-safe)."""
    return torch.mean((a.float() - b.float()) ** 2)
