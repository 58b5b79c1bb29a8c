"""What every sepviz model shares: a config dataclass, ``fit``, save / load, batched inference.

The habit is scikit-learn's: a model is built from its configuration (one frozen dataclass,
its constructor arguments written once), ``fit(x, y)`` trains it and returns it, with the loss
:class:`~sepviz.train.History` on ``model.history``. What one training step does is the model's
own ``training_step``; the loop around it is :func:`sepviz.train.fit`, the same for all.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import torch
from torch import nn

from sepviz.train import DIGEST_KEY, History, Optimize, Streams, check_contents, contents_digest
from sepviz.utils import atomic_save, batched, check_images, check_latent

M = TypeVar("M", bound="SepvizModel")
Part = tuple[nn.Module, tuple[torch.Tensor, ...], list[str]]
"""A network to export: the module, example inputs, and the inputs' names."""


def positive_number(value: Any) -> bool:
    """A finite real number > 0 (not a bool)."""
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    return is_number and math.isfinite(value) and value > 0


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """What every model is built from.

    Args:
        image_size: side of the square faces, a power of two >= 16.
        latent_dim: length of the latent vector z, >= 1.
        lr: Adam learning rate, > 0.
    """

    image_size: int = 32
    latent_dim: int = 64
    lr: float = 1e-3

    def __post_init__(self) -> None:
        size = self.image_size
        if isinstance(size, bool) or not isinstance(size, int) or size < 16 or size & (size - 1):
            raise ValueError(f"image_size must be a power of two >= 16, got {size!r}")
        if isinstance(self.latent_dim, bool) or not isinstance(self.latent_dim, int):
            raise ValueError(f"latent_dim must be an int >= 1, got {self.latent_dim!r}")
        if self.latent_dim < 1:
            raise ValueError(f"latent_dim must be an int >= 1, got {self.latent_dim!r}")
        if not positive_number(self.lr):
            raise ValueError(f"lr must be a finite number > 0, got {self.lr!r}")

    def as_dict(self) -> dict[str, Any]:
        """Plain values (tuples as lists): what :meth:`SepvizModel.save` stores."""
        return {
            k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()
        }


class SepvizModel(nn.Module):
    """Base class: an ``nn.Module`` built from a config dataclass (:attr:`Config`).

    ``Model(config)`` or ``Model(**fields)`` (or both: fields override the config's). Subclasses
    define ``streams`` (turn ``fit``'s arguments into training data), ``configure_optimizers``
    and ``training_step`` for :func:`sepviz.train.fit`, and ``encode`` / ``probe_layers`` for
    the probes.
    """

    Config: ClassVar[type[ModelConfig]] = ModelConfig

    def __init__(self, config: ModelConfig | None = None, **fields: Any) -> None:
        super().__init__()
        if config is not None and type(config) is not self.Config:
            raise TypeError(f"config must be a {self.Config.__name__}, got {type(config).__name__}")
        known = [f.name for f in dataclasses.fields(self.Config)]
        unknown = sorted(set(fields) - set(known))
        if unknown:
            raise TypeError(
                f"{type(self).__name__} got unknown arguments {unknown}; "
                f"its {self.Config.__name__} has {known}"
            )
        base = config if config is not None else self.Config()
        self.config = dataclasses.replace(base, **fields) if fields else base
        self.history: History | None = None

    # -- training ------------------------------------------------------------------------
    def streams(self, x: torch.Tensor, y: Any = None) -> Streams:
        """Turn ``fit``'s arguments into named streams of tensors (:data:`sepviz.train.Streams`)."""
        raise NotImplementedError

    def fit(self: M, x: Any, y: Any = None, *, steps: int = 1500, **train_kwargs: Any) -> M:
        """Train on faces ``x`` (N, 3, S, S) in [0, 1] with targets ``y`` (what the model needs:
        see its ``streams``) for ``steps`` steps; returns the model, in eval mode, with its loss
        History on ``model.history``.

        ``train_kwargs`` go to :func:`sepviz.train.fit` (``batch_size``, ``seed``,
        ``checkpoint_dir``, ``resume``, ``callbacks``, ``progress``, ``device``, ...).
        """
        return self.fit_streams(self.streams(x, y), steps, **train_kwargs)

    def fit_streams(self: M, streams: Streams, steps: int, **train_kwargs: Any) -> M:
        """Train on named ``streams`` (what :meth:`streams` returns) for ``steps`` steps with
        :func:`sepviz.train.fit`, then run :meth:`after_fit`; returns the model."""
        from sepviz.train import fit

        self.history = fit(self, streams, steps=steps, **train_kwargs)
        self.after_fit(streams)
        return self

    def after_fit(self, streams: Streams) -> None:
        """A hook run at the end of :meth:`fit` (FaderNet re-measures its BatchNorm here)."""

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        raise NotImplementedError

    def training_step(
        self, batch: dict[str, dict[str, torch.Tensor]], step: int, optimize: Optimize
    ) -> dict[str, torch.Tensor | float]:
        raise NotImplementedError

    # -- probes contract ---------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """z = E(x): faces (N, 3, S, S) in [0, 1] -> codes (N, latent_dim)."""
        raise NotImplementedError

    def export_parts(self) -> dict[str, Part]:
        """The networks :func:`sepviz.export.to_onnx` writes: file stem -> (module, example
        inputs, input names). Models that run outside Python define it."""
        raise NotImplementedError(f"{type(self).__name__} has no parts to export")

    def probe_layers(self, decoder: str | None = None) -> dict[str, nn.Module]:
        raise NotImplementedError

    # -- helpers -----------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def image_size(self) -> int:
        return self.config.image_size

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    def n_parameters(self) -> int:
        """Number of trainable parameters (discriminators included)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def check(self, x: torch.Tensor, name: str = "x") -> torch.Tensor:
        """Validate images (N, 3, S, S) in [0, 1] for this model and move them to its device.

        ``encode`` and ``reconstruct`` call it on their input, so ``x * 255`` is refused with a
        ``ValueError`` naming ``x`` and the range [0, 1] (the cost is a min and a max).
        """
        check_images(x, name, self.image_size)
        return x.to(self.device, torch.float32)

    def check_z(self, z: torch.Tensor, name: str = "z") -> torch.Tensor:
        """Validate codes: a finite float tensor (N, latent_dim), moved to this model's device
        (``decode`` calls it; a ``ValueError`` names ``z`` and the expected width)."""
        check_latent(z, self.latent_dim, name)
        return z.to(self.device)

    def batched(
        self, fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, batch_size: int = 256
    ) -> torch.Tensor:
        """Apply ``fn`` to ``x`` in eval mode, ``batch_size`` rows at a time; CPU float32
        result (:func:`sepviz.utils.batched` with this model)."""
        return batched(self, fn, x, batch_size)

    @torch.no_grad()
    def recalibrate_batchnorm(
        self,
        fn: Callable[..., torch.Tensor],
        *tensors: torch.Tensor,
        batch_size: int = 64,
        batches: int = 64,
    ) -> None:
        """Recompute every BatchNorm's running statistics with the final weights.

        During training the running statistics are an average over the last ~10 steps, taken
        while the weights were still moving; when they keep moving to the end (an adversary
        does that) the eval-mode network drifts from the train-mode one (we measured 27 dB
        against 34 dB for a FaderNet). This runs ``fn(*batch)`` in train mode over ``batches``
        random batches of ``tensors`` (same rows in each) and keeps the exact average of their
        statistics ("precise BN", Wu & Johnson 2021, arXiv 2105.07576). No weight changes.
        """
        norms = [m for m in self.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        if not norms or tensors[0].shape[0] < 2:
            return
        was_training, momenta = self.training, [m.momentum for m in norms]
        order = torch.randperm(tensors[0].shape[0], generator=torch.Generator().manual_seed(0))
        try:
            self.train()
            for m in norms:
                m.reset_running_stats()
                m.momentum = None  # a cumulative average over the batches below
            for index in order[: batch_size * batches].split(batch_size):
                if len(index) > 1:
                    fn(*(t[index.to(t.device)].to(self.device) for t in tensors))
        finally:
            for m, momentum in zip(norms, momenta):
                m.momentum = momentum
            self.train(was_training)

    @staticmethod
    def layers_of(encoder: nn.Sequential, decoder: nn.Sequential) -> dict[str, nn.Module]:
        """``{"enc1": .., "encL": .., "dec1": .., "decL": ..}``: the blocks the probes hook."""
        layers = {f"enc{i + 1}": block for i, block in enumerate(encoder)}
        layers.update({f"dec{i + 1}": block for i, block in enumerate(decoder)})
        return layers

    def save(self, path: str | Path) -> Path:
        """Write the weights, the config and the training History to ``path`` atomically,
        with the SHA-256 of all of it (:func:`sepviz.train.contents_digest`), which
        :meth:`load` checks."""
        state = {
            "class": type(self).__name__,
            "config": self.config.as_dict(),
            "state_dict": self.state_dict(),
        }
        if self.history is not None:  # plain lists and floats: loadable with weights_only
            state["history"] = self.history.state_dict()
        state[DIGEST_KEY] = contents_digest(state)
        return atomic_save(state, path)

    @classmethod
    def load(cls: type[M], path: str | Path, map_location: str | torch.device = "cpu") -> M:
        """Rebuild a model saved with :meth:`save`, with its training History on
        ``model.history`` when the file has one, in eval mode on ``map_location``.

        Also accepts a training checkpoint (``last.pt`` written by :func:`sepviz.train.fit`).
        The file is checked before any model is built (:mod:`sepviz.checkpoint`): its size, the
        SHA-256 recorded beside it (``model.pt.sha256``) or stored in it, ``weights_only``
        unpickling, its class (``cls``, unless ``cls`` is ``SepvizModel``), every config field
        within its bound, every tensor's shape.

        Raises:
            FileNotFoundError: no file at ``path``.
            ValueError: (:class:`sepviz.checkpoint.ModelFileError`) a damaged, truncated,
                foreign or out-of-bounds file, in one sentence naming it.
        """
        from sepviz.checkpoint import build_model, read_model_file

        expected = None if cls is SepvizModel else cls.__name__
        checked = read_model_file(path, model_class=expected)
        check_contents(checked.state, checked.path)
        model = build_model(checked)
        return model.to(map_location)  # type: ignore[return-value]


Blocks = tuple[str, Sequence[nn.Module], Callable[[], Any]]
"""A part of a network for :func:`block_table`: its name, its blocks in order, and a call
that runs them once (e.g. ``lambda: model.encode(x)``)."""


def block_table(parts: Sequence[Blocks]) -> str:
    """A Markdown table of a network's blocks, part by part: the block's layers, its input and
    output shapes (from one run of each part with forward hooks) and its parameters."""
    from sepviz.experiments import markdown_table

    rows = []
    for part, blocks, run in parts:
        shapes: list[tuple[torch.Size, torch.Size]] = []

        def record(_m: nn.Module, i: Any, o: torch.Tensor, shapes: list = shapes) -> None:
            shapes.append((i[0].shape[1:], o.shape[1:]))

        hooks = [b.register_forward_hook(record) for b in blocks]
        try:
            with torch.no_grad():
                run()
        finally:
            for hook in hooks:
                hook.remove()
        for k, (block, (i, o)) in enumerate(zip(blocks, shapes), 1):
            layers = block if isinstance(block, nn.Sequential) else [block]
            kinds = ", ".join(type(m).__name__ for m in layers)
            size = sum(p.numel() for p in block.parameters())
            shape = [" × ".join(map(str, s)) for s in (i, o)]
            rows.append((part, k, kinds, *shape, f"{size:,}"))
    return markdown_table(("part", "block", "layers", "input", "output", "parameters"), rows)
