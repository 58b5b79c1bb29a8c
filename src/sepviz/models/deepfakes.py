"""DeepFakes: one shared encoder, one decoder per identity; a swap decodes A's z with B's decoder.

As in faceswap's "original" model (``plugins/train/model/original.py``: a shared encoder,
``decoder_a`` and ``decoder_b`` of the same shape, each trained only to reconstruct its own
person), scaled down. The claim under test: the shared latent keeps what A and B share
(expression, light) and each decoder stores its identity.
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from sepviz.limits import MIN_BATCH
from sepviz.models import blocks
from sepviz.models.base import ModelConfig, Part, SepvizModel
from sepviz.train import Optimize, Streams

Label = str | int
"""A decoder given by its name (``"B"``, ``"left"``) or by its index in the model's names."""


def check_names(names: Any, field: str) -> tuple[str, ...]:
    """``names`` as a tuple of decoder names, or a ``ValueError`` naming ``field``.

    Allowed: a list (or tuple) of 1 to :data:`sepviz.limits.MAX_NAMES` distinct, non-empty
    strings, each a valid ``nn.ModuleDict`` key (no ``"."``, not a name torch reserves): the
    rule a model file's config is checked with (:func:`sepviz.checkpoint.names_problem`).
    Only strings: ``[1, 2]`` or ``[None, "B"]`` would become decoders named ``"1"`` or
    ``"None"``, and ``swap(x, to=1)`` (an index) would then be ambiguous."""
    from sepviz.checkpoint import names_problem

    if isinstance(names, np.ndarray) or (
        isinstance(names, Sequence) and not isinstance(names, (str, list, tuple))
    ):
        names = list(names.tolist() if isinstance(names, np.ndarray) else names)
    problem = names_problem(names)
    if problem is not None:
        raise ValueError(f"{field}: {problem}")
    return tuple(str(n) for n in names)  # plain str (a NumPy string would not load back)


class SharedEncoderModel(SepvizModel):
    """A ``shared_encoder`` and one decoder per name: the base of DeepFakes and MultiDecoder.

    ``decoders[name]`` is an ``nn.Sequential`` of blocks (see :mod:`sepviz.models.blocks`).
    Each training step draws a batch per name, encodes all of them in one pass (one set of
    BatchNorm statistics for everybody) and reconstructs each batch with its own decoder:

    .. math:: \\mathcal{L} = \\sum_k \\lVert D_k(E(x_k)) - x_k \\rVert^2 .

    The decoders' up blocks have no normalisation (:attr:`decoder_norm` ``"none"``): a
    BatchNorm's running statistics, gathered on its own person or light, misnormalise another
    decoder's code in a swap. Measured at 32 px, 800 steps (``benchmarks/decoder_norm.py``,
    seeds 0 / 1): the swap A -> B gains +13.9 / +11.2 dB over the input instead of +9.4 / +10.2
    with BatchNorm (GroupNorm +10.6, InstanceNorm +10.4; +10.1 vs +6.1 dB on two other people
    under other lights), the relight +6.4..11.3 dB per class instead of +6.6..8.8, and
    reconstruction stays within 0.6 dB.
    """

    names: list[str]  # the decoders, in label order (set by the subclass from its config)
    decoder_norm: str = "none"
    """The decoders' up-block normalisation, one of :data:`sepviz.models.blocks.NORMS`."""

    def __init__(self, config: ModelConfig | None = None, **fields: Any) -> None:
        super().__init__(config, **fields)
        self.shared_encoder = blocks.encoder(self.image_size, self.latent_dim)
        self.decoders = nn.ModuleDict(
            {
                n: blocks.decoder(self.image_size, self.latent_dim, norm=self.decoder_norm)
                for n in self.names
            }
        )

    def name_of(self, label: Label, arg: str = "to") -> str:
        """The decoder name of ``label``: a name (a string of :attr:`names`), or an integer,
        which is always an index into :attr:`names` (names are strings, so never ambiguous).

        Raises:
            ValueError: an unknown name or an index out of range (the message lists the
                names).
        """
        if isinstance(label, torch.Tensor) and label.ndim == 0 and not label.is_floating_point():
            label = int(label)
        if isinstance(label, numbers.Integral) and not isinstance(label, bool):
            k = int(label)
            if not 0 <= k < len(self.names):
                raise ValueError(
                    f"{arg}={k} is out of range: decoder indices lie in [0, {len(self.names)}) "
                    f"for {self.names}"
                )
            return self.names[k]
        if not isinstance(label, str) or label not in self.names:
            raise ValueError(
                f"{arg}={label!r} is not a decoder of this model; have {self.names} "
                f"(or an index in [0, {len(self.names)}))"
            )
        return label

    def label_indices(self, labels: Any, n: int, arg: str = "y") -> torch.Tensor:
        """(n,) int64 decoder indices from ``labels``: names (``["A", "B", ...]``) or ints."""
        if labels is None or isinstance(labels, str):
            got = f"the string {labels!r}" if isinstance(labels, str) else "None"
            raise ValueError(
                f"{arg} must hold one label per image, got {got}: names in {self.names} or "
                "indices (or give the images as a dict name -> images)"
            )
        if isinstance(labels, np.ndarray) and labels.dtype.kind in "US":
            labels = labels.tolist()
        if isinstance(labels, Sequence) and any(isinstance(v, str) for v in labels):
            if not all(isinstance(v, str) for v in labels):
                raise ValueError(f"{arg} mixes names and indices: give all names or all ints")
            index = {name: k for k, name in enumerate(self.names)}
            unknown = sorted({str(v) for v in labels} - set(index))
            if unknown:
                raise ValueError(f"{arg} holds unknown names {unknown}; have {self.names}")
            labels = [index[v] for v in labels]
        try:
            labels = torch.as_tensor(labels)
        except (TypeError, ValueError, RuntimeError) as error:
            raise ValueError(f"{arg} must be (N,) names or ints, got {labels!r}: {error}") from None
        if labels.ndim != 1 or labels.shape[0] != n or labels.is_floating_point():
            raise ValueError(
                f"{arg} must be (N,) names or ints with N = {n} images, got {tuple(labels.shape)} "
                f"{labels.dtype}"
            )
        if n and (labels.min() < 0 or labels.max() >= len(self.names)):
            raise ValueError(
                f"{arg} must lie in [0, {len(self.names)}) (the decoders {self.names}), "
                f"got {labels.unique().tolist()}"
            )
        return labels.long()

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """z = E(x): (N, 3, S, S) in [0, 1] -> (N, latent_dim)."""
        return self.shared_encoder(self.check(x))

    def decode(self, z: torch.Tensor, to: Label) -> torch.Tensor:
        """decoders[to](z): (N, latent_dim) -> (N, 3, S, S) in [0, 1]."""
        return self.decoders[self.name_of(to)](self.check_z(z))

    def swap(self, x: torch.Tensor, to: Label) -> torch.Tensor:
        """Faces ``x`` decoded by decoder ``to``: D_to(E(x)). ``to`` is a name of :attr:`names`
        or an int, always an index into :attr:`names` (``to=1`` is the second decoder).

        For DeepFakes ``to``'s identity with x's expression and light (if the latent is
        identity-free); for MultiDecoder x relit to light class ``to``. (N, 3, S, S) in
        [0, 1], returned on the CPU.
        """
        name = self.name_of(to)
        return self.batched(lambda b: self.decoders[name](self.shared_encoder(b)), self.check(x))

    def export_parts(self) -> dict[str, Part]:
        """E: ``x`` -> z, and each decoder ``decoder_<name>``: ``z`` -> faces."""
        x = torch.rand(2, 3, self.image_size, self.image_size)
        z = torch.randn(2, self.latent_dim)
        parts: dict[str, Part] = {"encoder": (self.shared_encoder, (x,), ["x"])}
        for name in self.names:
            parts[f"decoder_{name}"] = (self.decoders[name], (z,), ["z"])
        return parts

    def probe_layers(self, decoder: str | None = None) -> dict[str, nn.Module]:
        name = self.name_of(decoder if decoder is not None else 0, "decoder")
        return self.layers_of(self.shared_encoder, self.decoders[name])

    def streams(self, x: Any, y: Any = None) -> Streams:
        """One stream per decoder: ``x`` (N, 3, S, S) in [0, 1] with ``y`` (N,) names or
        indices of :attr:`names`, or ``x`` a dict name -> images and ``y`` None."""
        if isinstance(x, Mapping):
            if y is not None:
                raise ValueError("give images as a dict name -> images, or x with labels y")
            groups = dict(x)
        else:
            x = self.check(x, "x")
            labels = self.label_indices(y, x.shape[0]).to(x.device)
            groups = {name: x[labels == k] for k, name in enumerate(self.names)}
        missing = [n for n in self.names if n not in groups]
        extra = [n for n in groups if n not in self.names]
        if missing or extra:
            raise ValueError(
                f"images must be given for exactly the decoders {self.names}; "
                f"missing {missing}, unknown {extra}"
            )
        counts = {
            n: len(g) for n, g in groups.items() if isinstance(g, torch.Tensor) and g.ndim == 4
        }
        if any(count < MIN_BATCH for count in counts.values()):
            got = ", ".join(f"{n!r}: {count}" for n, count in counts.items())
            raise ValueError(
                f"every decoder needs {MIN_BATCH} training faces at least (BatchNorm normalises "
                f"over a batch), got {got}: give more faces (n_faces, or sepviz train --n-faces)"
            )
        return {n: {"x": self.check(groups[n], f"images[{n!r}]")} for n in self.names}

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"ae": torch.optim.Adam(self.parameters(), lr=self.config.lr)}

    def training_step(
        self, batch: dict[str, dict[str, torch.Tensor]], step: int, optimize: Optimize
    ) -> dict[str, Any]:
        xs = [batch[n]["x"] for n in self.names]
        zs = self.shared_encoder(torch.cat(xs)).split([len(x) for x in xs])
        losses = {n: blocks.mse(self.decoders[n](z), x) for n, z, x in zip(self.names, zs, xs)}
        optimize(sum(losses.values()), "ae")
        return {f"reconstruction_{n}": loss.detach() for n, loss in losses.items()}


@dataclasses.dataclass(frozen=True)
class DeepFakesConfig(ModelConfig):
    """A :class:`~sepviz.models.base.ModelConfig` plus ``identities``: one decoder per person."""

    identities: tuple[str, ...] = ("A", "B")

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "identities", check_names(self.identities, "identities"))


class DeepFakes(SharedEncoderModel):
    """``shared_encoder`` and ``decoders["A"]``, ``decoders["B"]``, ...: the DeepFakes autoencoder.

    ``fit(x, y)`` with y the identity of each face (names or indices of ``identities``), or
    ``fit({"A": images_a, "B": images_b})``; ``swap(x, to="B")`` decodes with B's decoder.
    """

    Config = DeepFakesConfig

    @property
    def names(self) -> list[str]:  # type: ignore[override]
        return list(self.config.identities)

    @property
    def identities(self) -> list[str]:
        return self.names
