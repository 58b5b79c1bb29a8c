"""FaderNetworks (Lample et al. 2017, arXiv 1706.00409): remove an attribute y from the latent
adversarially, then put it back by hand with a slider.

What we took from the paper and the official code (facebookresearch/FaderNetworks,
``src/model.py``, ``src/training.py``, ``src/utils.py``):

- The decoder takes y at **every** layer: y is broadcast and concatenated to each block's input.
- A latent discriminator reads y from E(x) and is trained to predict it; the encoder gets the
  reconstruction loss plus lambda times the discriminator's loss on the *flipped* attribute
  (``get_attr_loss(..., flip=True)``: each categorical attribute is replaced by a random
  *other* class). The official code only has categorical attributes; a continuous y in
  [-1, 1] is read here as ``n_bins`` ordered classes of equal width, so the same classifier
  and the same flip apply. (We tried regressing y and flipping it to -y: the encoder then
  learns to *invert* the light code rather than drop it, and a linear probe still reads it.)
- lambda ramps linearly from 0: ``get_lambda`` returns ``lambda_lat_dis * min(n_iter,
  lambda_schedule) / lambda_schedule`` (official defaults 1e-4 over 500,000 iterations; our
  runs are short, so the config's ``lambda_max`` and ``lambda_ramp`` are ours to choose).
- Gradient norms are clipped at 5 (``clip``); the discriminator uses dropout 0.3.

What we added, each because a measurement at 32 px asked for it (numbers in the docstrings):

- The discriminator learns from a memory of the last 4,096 latents (``memory``), a batch of
  512 drawn from it per step (``discriminator_batch``), and sees them *whitened*
  (:class:`Whiten`).
- At the end of :meth:`FaderNet.fit` the BatchNorm statistics are measured again with the final
  weights (:meth:`~sepviz.models.base.SepvizModel.recalibrate_batchnorm`).

What this does *not* achieve: the light is pushed out of the directions a standardised linear
probe reads, not out of the latent. A probe on whitened latents (``probe(..., whiten=True)``)
or a fresh discriminator trained to convergence still reads it, as Elazar & Goldberg (2018,
"Adversarial Removal of Demographic Attributes from Text Data") found for text. The smile,
which y does not carry, hides with it (linear R² 0.74 -> 0.27-0.36, whitened 0.74-0.75), and
reconstruction loses 2.3-3.3 dB, although a latent without the light costs nothing: an encoder
shown the face under a centre light reconstructs as well as lambda = 0 does (38.4 dB).

Chapter 6's variants live apart from the paper's step: :class:`ErasedFaderNet` (a LEACE
eraser ends the encoder, refitted at each step) and the oracle encoder (``fit(x, y,
source=...)``: the encoder sees other faces than the decoder rebuilds).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from sepviz.erasure import LeaceLayer
from sepviz.models import blocks
from sepviz.models.base import ModelConfig, Part, SepvizModel, positive_number
from sepviz.train import Optimize, Streams

ATTRIBUTES = ("continuous", "categorical")
ADVERSARIES = ("confusion", "flip")
INTS = (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)
DEFAULT_LAMBDA_MAX = 3e-4  # the adversary's weight; 32 px numbers in tests/test_model_quality.py


class FaderDecoder(nn.Module):
    """D(z, y): the attribute y (N, A) is concatenated to the input of every block."""

    def __init__(self, image_size: int, latent_dim: int, attribute_dim: int) -> None:
        super().__init__()
        self.blocks = blocks.decoder(image_size, latent_dim, extra=attribute_dim)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = self.blocks[0](torch.cat([z, y], 1))
        for block in self.blocks[1:]:
            y_map = y[:, :, None, None].expand(-1, -1, *h.shape[-2:])
            h = block(torch.cat([h, y_map], 1))
        return h


class Whiten(nn.Module):
    """z -> (z - mean) W, W = (C + eps I)^(-1/2): every direction of z at unit variance.

    ``mean`` and ``C`` are those of the latents the discriminator remembers (:meth:`fit`, each
    step). Without it the encoder beats the discriminator by writing the light into directions
    of z with a tiny variance: an MLP trained for a few steps cannot see them, a logistic
    regression fitted to convergence (our probe) can. We measured it: the discriminator sat at
    chance while a linear probe read the light at 70%.
    """

    def __init__(self, dim: int, eps: float = 1e-3) -> None:
        super().__init__()
        self.eps = eps  # relative to the mean variance: caps the gain at eps^-1/2 = 32x
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("matrix", torch.eye(dim))

    @torch.no_grad()
    def fit(self, z: torch.Tensor) -> None:
        """Take the mean and covariance of ``z`` (N, dim), N >= 2."""
        z = z.double()
        mean = z.mean(0)
        cov = torch.cov((z - mean).T).reshape(len(mean), len(mean))
        ridge = self.eps * cov.diagonal().mean().clamp(min=1e-12)
        cov += ridge * torch.eye(len(mean), device=z.device, dtype=z.dtype)
        values, vectors = torch.linalg.eigh(cov)
        self.mean.copy_(mean)
        self.matrix.copy_((vectors * values.rsqrt()) @ vectors.T)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return (z.float() - self.mean) @ self.matrix


def latent_discriminator(latent_dim: int, n_logits: int, hidden: int = 256) -> nn.Sequential:
    """An MLP that reads y from whitened z: (N, latent_dim) -> (N, n_logits) class logits."""
    return nn.Sequential(
        Whiten(latent_dim),
        nn.Linear(latent_dim, hidden),
        nn.LeakyReLU(0.2),
        nn.Dropout(0.3),
        nn.Linear(hidden, hidden),
        nn.LeakyReLU(0.2),
        nn.Linear(hidden, n_logits),
    )


@dataclasses.dataclass(frozen=True)
class FaderNetConfig(ModelConfig):
    """A :class:`~sepviz.models.base.ModelConfig` plus the attribute, the adversary and its
    training schedule.

    Args:
        attribute_dim: length of y, >= 1.
        attribute: ``"continuous"`` (y in [-1, 1]^A, e.g. light azimuth / 60) or
            ``"categorical"`` (y one-hot over A >= 2 classes, e.g. the light class).
        n_bins: classes per continuous attribute that the discriminator tells apart, >= 2.
        adversary: ``"confusion"`` (E pushes the discriminator to the uniform guess) or
            ``"flip"`` (the paper's: E pushes it to a random other class).
        discriminator_steps: discriminator updates per training step, >= 1.
        discriminator_lr: its Adam learning rate, > 0.
        lambda_max: final weight of the adversarial loss, a finite number >= 0; 0 trains a
            plain conditional autoencoder (the latent keeps y).
        lambda_ramp: steps over which lambda rises linearly from 0, an int >= 1, or ``None``:
            half the steps of :meth:`FaderNet.fit`.
        memory: latents the discriminator learns from (the last ``memory`` training faces'),
            an int >= 2.
        discriminator_batch: latents drawn from that memory for each discriminator update,
            an int >= 1.
        clip: the gradient norm every update is clipped to, a finite number > 0.
    """

    attribute_dim: int = 1
    attribute: str = "continuous"
    n_bins: int = 8
    adversary: str = "confusion"
    discriminator_steps: int = 5
    discriminator_lr: float = 1e-3
    lambda_max: float = DEFAULT_LAMBDA_MAX
    lambda_ramp: int | None = None
    memory: int = 4096  # the last 64 batches of 64
    discriminator_batch: int = 512
    clip: float = 5.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.adversary not in ADVERSARIES:
            raise ValueError(f"adversary must be one of {ADVERSARIES}, got {self.adversary!r}")
        if self.attribute not in ATTRIBUTES:
            raise ValueError(f"attribute must be one of {ATTRIBUTES}, got {self.attribute!r}")
        ints = {"discriminator_steps": 1, "n_bins": 2, "attribute_dim": 1, "memory": 2}
        ints |= {"discriminator_batch": 1, "lambda_ramp": 1}
        for name, low in ints.items():
            value = getattr(self, name)
            if name == "lambda_ramp" and value is None:
                continue  # half the steps of fit
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                also = " or None (half the steps)" if name == "lambda_ramp" else ""
                raise ValueError(f"{name} must be an int >= {low}{also}, got {value!r}")
        if self.attribute == "categorical" and self.attribute_dim < 2:
            raise ValueError(
                f"a categorical attribute needs attribute_dim >= 2, got {self.attribute_dim}"
            )
        for name in ("discriminator_lr", "clip"):
            if not positive_number(getattr(self, name)):
                raise ValueError(f"{name} must be a finite number > 0, got {getattr(self, name)!r}")
        lam = self.lambda_max
        if not (positive_number(lam) or (lam == 0 and not isinstance(lam, bool))):
            raise ValueError(f"lambda_max must be a finite number >= 0, got {lam!r}")


class FaderNet(SepvizModel):
    r"""Encoder E, decoder D(E(x), y) and a ``latent_discriminator`` trained against E.

    The discriminator P learns to read y from z = E(x); E and D learn to reconstruct from
    (z, y) while leaving P at chance, with a weight lambda that ramps up from 0:

    .. math::
        \mathcal{L}_P = -\log P(y \mid E(x)), \qquad
        \mathcal{L}_{E,D} = \lVert D(E(x), y) - x \rVert^2
        + \lambda \, \mathrm{CE}\big(P(\cdot \mid E(x)), \mathrm{uniform}\big).

    ``FaderNet(lambda_max=...).fit(x, y)``; ``relight(x, y)`` is the slider.
    """

    Config = FaderNetConfig

    def __init__(self, config: FaderNetConfig | None = None, **fields: Any) -> None:
        super().__init__(config, **fields)
        c = self.config
        self.attribute_dim, self.attribute = c.attribute_dim, c.attribute
        # the discriminator's classes: (groups of) `n_classes` logits
        self.n_groups = c.attribute_dim if c.attribute == "continuous" else 1
        self.n_classes = c.n_bins if c.attribute == "continuous" else c.attribute_dim
        self.encoder = blocks.encoder(c.image_size, c.latent_dim, standardize=True)
        self.decoder = FaderDecoder(c.image_size, c.latent_dim, c.attribute_dim)
        self.latent_discriminator = latent_discriminator(
            c.latent_dim, self.n_groups * self.n_classes
        )
        # (lambda_max, lambda_ramp) of the run: lambda_ramp=None is resolved by fit, and a
        # buffer, so that a resumed run keeps the ramp of the run it continues
        schedule = torch.tensor([c.lambda_max, c.lambda_ramp or 1], dtype=torch.float64)
        self.register_buffer("lambda_schedule", schedule)
        self.register_buffer("z_memory", torch.zeros(c.memory, c.latent_dim))
        self.register_buffer("y_memory", torch.zeros(c.memory, c.attribute_dim))
        self.register_buffer("memory_count", torch.zeros((), dtype=torch.long))

    # -- the model --------------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """z = E(x): (N, 3, S, S) in [0, 1] -> (N, latent_dim)."""
        return self.encoder(self.check(x))

    def decode(self, z: torch.Tensor, y: torch.Tensor | float) -> torch.Tensor:
        """D(z, y): codes ``z`` (N, latent_dim) and attributes ``y`` -> (N, 3, S, S) in
        [0, 1]. ``y`` as in :meth:`relight`: a float, (attribute_dim,) or (N, attribute_dim)."""
        z = self.check_z(z)
        return self.decoder(z, self._as_y(y, z.shape[0]).to(z.device))

    def reconstruct(self, x: torch.Tensor, y: torch.Tensor | float | None = None) -> torch.Tensor:
        """D(E(x), y); y defaults to 0 (centre light / no class preference)."""
        x = self.check(x)
        y = self._as_y(0.0 if y is None else y, x.shape[0]).to(x.device)
        return self.decoder(self.encoder(x), y)

    def relight(self, x: torch.Tensor, y: torch.Tensor | float) -> torch.Tensor:
        """D(E(x), y_new): faces ``x`` with the attribute set to ``y`` (the fader).

        ``y``: a finite float (every attribute, every face), (attribute_dim,) or
        (N, attribute_dim). Values beyond [-1, 1] exaggerate, as in the paper's
        interpolations. Returns (N, 3, S, S) in [0, 1] on the CPU.
        """
        x = self.check(x)
        y = self._as_y(y, x.shape[0]).to(x.device)
        batch_size = 256  # x and y are cut into the same chunks, in the same order
        ys = iter(y.split(batch_size))
        return self.batched(lambda b: self.decoder(self.encoder(b), next(ys)), x, batch_size)

    def _as_y(self, y: Any, n: int, name: str = "y") -> torch.Tensor:
        """``y`` as a float32 (n, attribute_dim) tensor, or a ValueError / TypeError naming it,
        the shapes it may have and "finite"."""
        shapes = f"({n}, {self.attribute_dim}), ({self.attribute_dim},) or a float"
        wrong = TypeError(f"{name} must be finite numbers of shape {shapes}, got {y!r:.60}")
        if y is None or isinstance(y, (str, bytes, bool)):
            raise wrong
        try:
            y = torch.as_tensor(np.asarray(y) if isinstance(y, (list, tuple)) else y)
        except (TypeError, ValueError, RuntimeError):
            raise wrong from None
        if (
            y.dtype == torch.bool
            or y.is_complex()
            or not (y.is_floating_point() or y.dtype in INTS)
        ):
            raise wrong
        y = y.to(torch.float32)
        if y.ndim == 0:
            y = y.expand(self.attribute_dim)
        if y.ndim == 1 and y.shape[0] == self.attribute_dim:
            y = y.expand(n, -1)
        if y.shape != (n, self.attribute_dim):
            raise ValueError(f"{name} must have shape {shapes}, got {tuple(y.shape)}")
        if not torch.isfinite(y).all():
            raise ValueError(f"{name} must be finite (no NaN or inf)")
        return y

    def export_parts(self) -> dict[str, Part]:
        """E: ``x`` -> z, and D: (``z``, ``y``) -> faces (:func:`sepviz.export.to_onnx`)."""
        x = torch.rand(2, 3, self.image_size, self.image_size)
        z, y = torch.randn(2, self.latent_dim), torch.zeros(2, self.attribute_dim)
        return {
            "encoder": (self.encoder, (x,), ["x"]),
            "decoder": (self.decoder, (z, y), ["z", "y"]),
        }

    def probe_layers(self, decoder: str | None = None) -> dict[str, nn.Module]:
        return self.layers_of(self.encoder, self.decoder.blocks)

    # -- training ---------------------------------------------------------------------
    @property
    def lambda_max(self) -> float:
        """Final weight of the adversarial loss (the config's ``lambda_max``)."""
        return float(self.lambda_schedule[0])

    @property
    def lambda_ramp(self) -> int:
        """Steps over which lambda rises linearly from 0: the config's ``lambda_ramp``, or
        half the steps of the last :meth:`fit` when that is ``None``."""
        return int(self.lambda_schedule[1])

    def lambda_at(self, step: int) -> float:
        """The adversarial weight at ``step``: ``lambda_max * min(1, step / lambda_ramp)``."""
        return self.lambda_max * min(1.0, step / max(1, self.lambda_ramp))

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        autoencoder = [*self.encoder.parameters(), *self.decoder.parameters()]
        lr = self.config.lr
        return {
            "autoencoder": torch.optim.Adam(autoencoder, lr=lr, betas=(0.5, 0.999)),
            "latent_discriminator": torch.optim.Adam(
                self.latent_discriminator.parameters(),
                lr=self.config.discriminator_lr,
                betas=(0.5, 0.999),
            ),
        }

    def attribute_classes(self, y: torch.Tensor) -> torch.Tensor:
        """(N, n_groups) int64 classes of y: the argmax of a one-hot, or the bin of y in [-1, 1]."""
        if self.attribute == "categorical":
            return y.argmax(1, keepdim=True)
        bins = ((y.float() + 1) / 2 * self.n_classes).floor().long()
        return bins.clamp(0, self.n_classes - 1)

    def erased_classes(self, y: torch.Tensor) -> torch.Tensor:
        """(N, n_groups * n_classes) one-hot rows of :meth:`attribute_classes`: the concept
        the :class:`ErasedFaderNet` eraser removes."""
        one_hot = F.one_hot(self.attribute_classes(y), self.n_classes)
        return one_hot.flatten(1).double()

    def discriminator_loss(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """P's loss: cross-entropy of its logits on ``z`` (N, latent_dim) against the classes
        of ``y`` (N, attribute_dim)."""
        logits = self.latent_discriminator(z).float().view(-1, self.n_classes)  # (N * groups, C)
        return F.cross_entropy(logits, self.attribute_classes(y).flatten())

    def fooling_loss(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """E's adversarial loss on ``z`` (N, latent_dim): ``"confusion"``, cross-entropy to the
        uniform guess (lowest at chance), or ``"flip"``, to a random other class of ``y``."""
        logits = self.latent_discriminator(z).float().view(-1, self.n_classes)  # (N * groups, C)
        if self.config.adversary == "confusion":
            return -F.log_softmax(logits, dim=1).mean()
        target = self.attribute_classes(y).flatten()  # the official get_attr_loss(flip=True)
        shift = torch.randint_like(target, 1, self.n_classes)
        return F.cross_entropy(logits, (target + shift) % self.n_classes)

    def remember(self, z: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Add ``z`` (N, D) and ``y`` (N, attribute_dim) to the memory of the last ``memory``
        training faces; returns the remembered (M, D) and (M, attribute_dim), M <= memory."""
        # A batch of 64 seen 5 times is overfitted, and the encoder then wins every step by
        # moving the light code around instead of dropping it (we measured it).
        n, size = z.shape[0], self.z_memory.shape[0]
        index = (self.memory_count + torch.arange(n, device=z.device)) % size
        self.z_memory[index] = z.to(self.z_memory.dtype)
        self.y_memory[index] = y.to(self.y_memory.dtype)
        self.memory_count += n
        filled = int(min(int(self.memory_count), size))
        return self.z_memory[:filled], self.y_memory[:filled]

    def training_step(
        self, batch: dict[str, dict[str, torch.Tensor]], step: int, optimize: Optimize
    ) -> dict[str, Any]:
        c = self.config
        x, y = batch["faces"]["x"], batch["faces"]["y"]  # (N, 3, S, S), (N, attribute_dim)
        z = self.encoder(batch["faces"]["seen"])  # (N, latent_dim); "seen" is x, or an oracle's
        lam = self.lambda_at(step)
        out: dict[str, Any] = {"lambda": lam}
        if self.lambda_max > 0:  # 1. the discriminator learns to read y from remembered z
            z_seen, y_seen = self.remember(z.detach(), y)  # (M, latent_dim), (M, attribute_dim)
            self.latent_discriminator[0].fit(z_seen)  # whiten with the remembered latents
            for _ in range(c.discriminator_steps):  # cheap: an MLP on z
                n = min(c.discriminator_batch, len(z_seen))
                pick = torch.randint(len(z_seen), (n,), device=z_seen.device)  # (n,) rows
                dis_loss = self.discriminator_loss(z_seen[pick], y_seen[pick])
                optimize(dis_loss, "latent_discriminator", clip=c.clip)
            out["discriminator"] = dis_loss.detach()
        # 2. E and D reconstruct x from (z, y), and E tries to fool the discriminator
        reconstruction = blocks.mse(self.decoder(z, y), x)  # D(z, y): (N, 3, S, S)
        loss = reconstruction
        if lam > 0:
            self.latent_discriminator.eval()  # no dropout when it judges the encoder
            loss = loss + lam * self.fooling_loss(z, y)
            self.latent_discriminator.train()
        optimize(loss, "autoencoder", clip=c.clip)
        out["reconstruction"] = reconstruction.detach()
        return out

    def streams(self, x: torch.Tensor, y: Any = None, source: Any = None) -> Streams:
        """Faces ``x`` (N, 3, S, S) in [0, 1] with attributes ``y`` (N, attribute_dim): in
        [-1, 1] for a continuous attribute, one-hot rows for a categorical one; ``seen``: what
        the encoder sees, ``source`` (same shape as ``x``) or ``x`` itself."""
        if y is None:
            raise ValueError("a FaderNet needs the attribute y of every face: fit(x, y)")
        x = self.check(x)
        y = self._as_y(y, x.shape[0])
        if self.attribute == "continuous" and (y.abs() > 1 + 1e-6).any():
            raise ValueError("y must lie in [-1, 1] for a continuous attribute (scale it first)")
        one_hot = ((y == 0) | (y == 1)).all() and torch.equal(y.sum(1), torch.ones(len(y)))
        if self.attribute == "categorical" and not one_hot:
            raise ValueError("y must be one-hot rows for a categorical attribute")
        seen = x if source is None else self.check(source, "source")
        if seen.shape != x.shape:
            raise ValueError(
                f"source must have the shape of x, {tuple(x.shape)}, got {tuple(seen.shape)}"
            )
        return {"faces": {"x": x, "y": y.to(x.device), "seen": seen}}

    def fit(  # type: ignore[override]
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        *,
        steps: int = 2000,
        source: torch.Tensor | None = None,
        **train_kwargs: Any,
    ) -> FaderNet:
        """Train on faces ``x`` (N, 3, S, S) in [0, 1] with attributes ``y`` (N, attribute_dim);
        returns the model with its History on ``model.history``. The adversary's weight and
        ramp are config settings: ``FaderNet(lambda_max=..., lambda_ramp=...)``.

        Args:
            source: (N, 3, S, S) faces the encoder sees in place of ``x`` (the decoder still
                rebuilds ``x`` from the code and y): ``x`` re-rendered under a centre light
                gives an *oracle* encoder that never sees the light. ``None``: ``x`` itself.
            train_kwargs: passed to :func:`sepviz.train.fit` (``batch_size``, ``seed``, ...).
        """
        moved = sorted({"lambda_max", "lambda_ramp"} & set(train_kwargs))
        if moved:
            raise TypeError(
                f"fit() got {moved}: they are config settings now, "
                f"e.g. FaderNet(lambda_max=..., lambda_ramp=...)"
            )
        ramp = self.config.lambda_ramp or max(1, steps // 2)
        self.lambda_schedule.copy_(
            torch.tensor([self.config.lambda_max, ramp], dtype=torch.float64)
        )
        return self.fit_streams(self.streams(x, y, source), steps, **train_kwargs)

    def after_fit(self, streams: Streams) -> None:
        # the adversary keeps the encoder moving to the last step: re-measure BatchNorm
        faces = streams["faces"]
        self.recalibrate_batchnorm(
            lambda xb, yb: self.decoder(self.encoder(xb), yb), faces["seen"], faces["y"]
        )

    def with_eraser(self, x: torch.Tensor, y: torch.Tensor) -> ErasedFaderNet:
        """LEACE after training: an :class:`ErasedFaderNet` copy of this model whose eraser is
        fitted on the codes of faces ``x`` with attributes ``y``, the weights and buffers
        unchanged (the decoder was never trained on erased codes; ``lambda_max`` still says
        how they were trained)."""
        config = dataclasses.replace(self.config, lambda_max=0.0)
        copy = ErasedFaderNet(config).to(self.device)
        copy.load_state_dict({**copy.state_dict(), **self.state_dict()})
        copy.history = self.history
        copy.fit_eraser(x, y)
        return copy.eval()


class ErasedFaderNet(FaderNet):
    """A FaderNet whose encoder ends with a :class:`~sepviz.erasure.LeaceLayer` (chapter 6's
    "LEACE inside training"): before each step the eraser is refitted on the codes of the
    last ``memory`` training faces, so that the decoder only ever sees codes from which no
    linear read-out tells the discriminator's classes of y apart, and the encoder learns
    around a guaranteed linear eraser. The eraser replaces the adversary: ``lambda_max`` is 0
    (the default here)."""

    def __init__(self, config: FaderNetConfig | None = None, **fields: Any) -> None:
        if config is None:
            fields.setdefault("lambda_max", 0.0)
        super().__init__(config, **fields)
        if self.config.lambda_max != 0:
            raise ValueError(
                "an eraser replaces the adversary: ErasedFaderNet needs lambda_max=0, "
                f"got {self.config.lambda_max!r}"
            )
        self.encoder.append(LeaceLayer(self.config.latent_dim))

    def split_eraser(self) -> tuple[nn.Sequential, LeaceLayer]:
        """The encoder's blocks before its eraser (codes before erasure), and the eraser."""
        return self.encoder[:-1], self.encoder[-1]

    def training_step(
        self, batch: dict[str, dict[str, torch.Tensor]], step: int, optimize: Optimize
    ) -> dict[str, Any]:
        before, eraser = self.split_eraser()
        with torch.no_grad():  # erase with the codes of the last `memory` faces
            codes = before(batch["faces"]["seen"])  # (N, latent_dim) before erasure
        codes_seen, y_seen = self.remember(codes, batch["faces"]["y"])
        if len(codes_seen) > 1:
            eraser.fit(codes_seen, self.erased_classes(y_seen))
        return super().training_step(batch, step, optimize)

    def after_fit(self, streams: Streams) -> None:
        super().after_fit(streams)
        faces = streams["faces"]  # refit on the final codes of every training face
        self.fit_eraser(faces["seen"], faces["y"])

    @torch.no_grad()
    def fit_eraser(self, x: torch.Tensor, y: torch.Tensor) -> None:
        """Refit the eraser on the codes of faces ``x`` (N, 3, S, S) with attributes ``y``
        (N, attribute_dim): afterwards no linear read-out of those codes beats a constant at
        telling the discriminator's classes of y apart."""
        before, eraser = self.split_eraser()
        codes = self.batched(before, self.check(x))
        eraser.fit(codes, self.erased_classes(self._as_y(y, len(codes)).cpu()))
