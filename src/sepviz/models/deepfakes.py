"""DeepFakes: one shared encoder, one decoder per identity; a swap decodes A's z with B's decoder.

As in faceswap's "original" model (``plugins/train/model/original.py``: a shared encoder,
``decoder_a`` and ``decoder_b`` of the same shape, each trained only to reconstruct its own
person), scaled down. The claim under test: the shared latent keeps what A and B share
(expression, light) and each decoder stores its identity.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from sepviz.models import blocks
from sepviz.models.base import SepvizModel
from sepviz.train import History, Optimize


class SharedEncoderModel(SepvizModel):
    """A shared encoder and one decoder per name; the base of DeepFakes and MultiDecoder.

    ``decoders[name]`` is an ``nn.Sequential`` of blocks (see :mod:`sepviz.models.blocks`).
    Each training step draws a batch per name, encodes all of them in one pass (one set of
    BatchNorm statistics for everybody) and reconstructs each batch with its own decoder.
    """

    def __init__(self, names: Sequence[str], image_size: int, latent_dim: int, lr: float) -> None:
        names = [str(n) for n in names]
        if len(names) < 1 or len(set(names)) != len(names):
            raise ValueError(f"decoder names must be unique and non-empty, got {names!r}")
        super().__init__(image_size=image_size, latent_dim=latent_dim, lr=lr)
        self.names = names
        self.shared_encoder = blocks.encoder(image_size, latent_dim)
        self.decoders = nn.ModuleDict({n: blocks.decoder(image_size, latent_dim) for n in names})

    def _name(self, name: str, arg: str = "name") -> str:
        if name not in self.decoders:
            raise ValueError(f"{arg}={name!r} is not a decoder of this model; have {self.names}")
        return name

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """z = E(x): (N, 3, S, S) in [0, 1] -> (N, latent_dim)."""
        return self.shared_encoder(x)

    def decode(self, z: torch.Tensor, name: str) -> torch.Tensor:
        """decoders[name](z): (N, latent_dim) -> (N, 3, S, S) in [0, 1]."""
        return self.decoders[self._name(name)](z)

    def probe_layers(self, decoder: str | None = None) -> dict[str, nn.Module]:
        name = self._name(decoder if decoder is not None else self.names[0], "decoder")
        return self.layers_of(self.shared_encoder, self.decoders[name])

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"ae": torch.optim.Adam(self.parameters(), lr=self.config["lr"])}

    def training_step(
        self, batch: dict[str, dict[str, torch.Tensor]], step: int, optimize: Optimize
    ) -> dict[str, Any]:
        xs = [batch[n]["x"] for n in self.names]
        zs = self.encode(torch.cat(xs)).split([len(x) for x in xs])
        losses = {n: blocks.mse(self.decoders[n](z), x) for n, z, x in zip(self.names, zs, xs)}
        optimize(sum(losses.values()), "ae")
        return {f"reconstruction_{n}": loss.detach() for n, loss in losses.items()}

    def _fit_groups(self, groups: Mapping[str, torch.Tensor], steps: int, **kw: Any) -> History:
        missing = [n for n in self.names if n not in groups]
        extra = [n for n in groups if n not in self.decoders]
        if missing or extra:
            raise ValueError(
                f"images must be given for exactly the decoders {self.names}; "
                f"missing {missing}, unknown {extra}"
            )
        for name, x in groups.items():
            if isinstance(x, torch.Tensor) and x.ndim == 4 and x.shape[0] == 0:
                raise ValueError(f"no images for {name!r}: every decoder needs training images")
        checked = {n: self.check(groups[n], f"images[{n!r}]") for n in self.names}
        return self.train_on({n: {"x": x} for n, x in checked.items()}, steps, **kw)

    def transfer(self, x: torch.Tensor, to: str) -> torch.Tensor:
        """Faces ``x`` (N, 3, S, S) in [0, 1] decoded by ``decoders[to]``; CPU, same shape."""
        self._name(to, "to")
        return self.batched(lambda b: self.decode(self.encode(b), to), self.check(x))


class DeepFakes(SharedEncoderModel):
    """``shared_encoder`` and ``decoders["A"]``, ``decoders["B"]``, ...: the DeepFakes autoencoder.

    Args:
        identities: decoder names, one per person (e.g. ``["A", "B"]``).
        image_size: side of the square faces, a power of two >= 16.
        latent_dim: length of the shared latent vector z.
        lr: Adam learning rate.
    """

    def __init__(
        self,
        identities: Sequence[str] = ("A", "B"),
        image_size: int = 32,
        latent_dim: int = 64,
        lr: float = 1e-3,
    ) -> None:
        super().__init__(identities, image_size, latent_dim, lr)
        self.config = {"identities": list(self.names), **self.config}

    @property
    def identities(self) -> list[str]:
        return self.names

    def fit(self, images: Mapping[str, torch.Tensor], steps: int = 1500, **kw: Any) -> History:
        """Train every decoder on its own person's images.

        Args:
            images: identity -> (N_i, 3, S, S) in [0, 1], one entry per identity.
            steps: optimisation steps; each draws ``batch_size`` images of every identity.
            kw: passed to :func:`sepviz.train.fit` (``batch_size``, ``seed``,
                ``checkpoint_dir``, ``resume``, ``callbacks``, ``progress``, ...).
        """
        if not isinstance(images, Mapping):
            raise ValueError(f"images must be a dict identity -> images, got {type(images)}")
        return self._fit_groups(images, steps, **kw)

    def swap(self, x: torch.Tensor, to: str) -> torch.Tensor:
        """Faces ``x`` decoded by ``decoders[to]``: ``to``'s identity with x's expression and
        light (if the latent is identity-free). (N, 3, S, S) in [0, 1], returned on the CPU."""
        return self.transfer(x, to)
