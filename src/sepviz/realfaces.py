"""Relighting real faces (chapter 10): light-safe augmentation, light models, light checks.

Real photo sets are small and have no light labels, so the light label is the left/right
luminance pseudo-label of :func:`sepviz.data.real.lighting_pseudo_label`, and the set is
doubled with mirror images. A mirror image turns light from the left into light from the
right, so every flip here flips the light label with it (FaderNetworks' official code flips
images without touching the label, which would teach a light model that light has no side).

* :func:`flip_with_light`, :func:`with_flips`, :func:`flip_light_class`: the augmentation.
* :func:`light_target`: a pseudo-label score rescaled to a FaderNet's y in [-1, 1].
* :func:`fit_light_fader`, :func:`fit_light_multidecoder`: train on flip-augmented faces.
* :func:`closer_to_input`: is a relit face still nearer its input than any other training
  face (a small model trained on few faces may just paste a face it memorised)?

Nothing here swaps identities: these are relighting and probing tools.
"""

from __future__ import annotations

from typing import Any

import torch

from sepviz.models import FaderNet, MultiDecoder
from sepviz.models.fadernet import DEFAULT_LAMBDA_MAX
from sepviz.utils import check_images

__all__ = [
    "closer_to_input",
    "fit_light_fader",
    "fit_light_multidecoder",
    "flip_light_class",
    "flip_with_light",
    "light_target",
    "with_flips",
]

LIGHT_NAMES = ("left", "centre", "right")
"""Decoder names of :func:`fit_light_multidecoder`, in ``light_class`` order."""


def _check_light(light: torch.Tensor, n: int, name: str = "light") -> torch.Tensor:
    light = torch.as_tensor(light)
    if light.ndim == 2 and light.shape[1] == 1:
        light = light[:, 0]
    if light.ndim != 1 or light.shape[0] != n:
        raise ValueError(
            f"{name} must have shape ({n},) (one value per image), got {tuple(light.shape)}"
        )
    if not light.is_floating_point():
        raise ValueError(f"{name} must be float (a signed light score), got dtype {light.dtype}")
    if not torch.isfinite(light).all():
        raise ValueError(f"{name} holds NaN or infinite values")
    return light


def flip_with_light(images: torch.Tensor, light: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mirror faces left-right and flip their light label with them.

    Args:
        images: (N, 3, H, W) float in [0, 1].
        light: (N,) (or (N, 1)) float signed light: a pseudo-label score, a y in [-1, 1] or an
            azimuth in degrees; negative = light from the image's left.

    Returns:
        ``(mirrored, -light)``: (N, 3, H, W) mirrored images and (N,) negated light, same
        dtypes. For :func:`~sepviz.data.real.lighting_pseudo_label` the negation is exact: the
        score of a mirrored image is minus the score of the image.
    """
    check_images(images)
    light = _check_light(light, images.shape[0])
    return images.flip(-1), -light


def with_flips(images: torch.Tensor, light: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The faces followed by their mirror images (light flipped): 2N faces, 2N lights.

    Same arguments as :func:`flip_with_light`. Image ``i + N`` is the mirror of image ``i``.
    """
    mirrored, flipped = flip_with_light(images, light)
    light = _check_light(light, images.shape[0])
    return torch.cat([images, mirrored]), torch.cat([light, flipped])


def flip_light_class(classes: torch.Tensor, n_classes: int = 3) -> torch.Tensor:
    """The light class of mirrored faces: class ``k`` becomes ``n_classes - 1 - k``.

    (0 left <-> 2 right, 1 centre stays, for 3 classes.) ``classes``: (N,) int64 in
    [0, n_classes).
    """
    if n_classes < 2:
        raise ValueError(f"n_classes must be >= 2, got {n_classes}")
    classes = torch.as_tensor(classes)
    if classes.is_floating_point() or classes.ndim != 1:
        raise ValueError(f"classes must be (N,) ints, got {tuple(classes.shape)} {classes.dtype}")
    if len(classes) and (classes.min() < 0 or classes.max() >= n_classes):
        raise ValueError(f"classes must lie in [0, {n_classes}), got {classes.unique().tolist()}")
    return n_classes - 1 - classes


def light_target(score: torch.Tensor, scale: float | None = None) -> tuple[torch.Tensor, float]:
    """A FaderNet attribute y from a signed light score: ``y = clamp(score / scale, -1, 1)``.

    Args:
        score: (N,) float, e.g. the pseudo-label score (in [-1, 1], but real faces stay
            within about +-0.4).
        scale: the score that maps to y = +-1; default the largest ``|score|``, so the most
            side-lit face of the set is y = +-1 and nothing is clipped.

    Returns:
        ``(y, scale)``: (N, 1) float32 in [-1, 1] and the scale used (keep it to turn y back
        into a score: ``score = y * scale``).
    """
    score = _check_light(score, len(torch.as_tensor(score)), "score").float()
    if scale is None:
        scale = float(score.abs().max())
    if not scale > 0:
        raise ValueError(f"scale must be > 0 (is every score 0?), got {scale!r}")
    return (score / scale).clamp(-1, 1)[:, None], float(scale)


def fit_light_fader(
    images: torch.Tensor,
    y: torch.Tensor,
    steps: int = 600,
    lambda_max: float = DEFAULT_LAMBDA_MAX,
    lambda_ramp: int | None = None,
    flips: bool = True,
    seed: int = 0,
    batch_size: int = 32,
    n_bins: int = 4,
    discriminator_steps: int = 1,
    latent_dim: int = 64,
    cache: bool = False,
    faces_key: str | None = None,
    **fit_kwargs: Any,
) -> FaderNet:
    """A continuous-light :class:`~sepviz.models.FaderNet` trained on (flip-augmented) faces.

    Args:
        images: (N, 3, S, S) float in [0, 1], S a power of two >= 16.
        y: (N,) or (N, 1) light in [-1, 1] (e.g. :func:`light_target`), negative = light from
            the image's left.
        steps: training steps.
        lambda_max: adversary weight (0: the control, a plain conditional autoencoder).
        lambda_ramp: steps over which it rises from 0 (``None``: half the steps).
        flips: train on :func:`with_flips` (2N faces, light flipped with the image).
        seed: seeds the weights and the batches.
        batch_size, n_bins, discriminator_steps, latent_dim: see ``FaderNet`` / ``fit``. The
            defaults suit about a hundred faces: few bins and one discriminator step per
            step, so the discriminator memorises less.
        cache: train once per training set and settings, then load (:func:`_cached`).
        faces_key: with ``cache``, names the training images by what they were read from
            (e.g. :func:`sepviz.data.real.skimage_faces_key`), so that a model trained on
            one machine loads on another; default: the exact bytes of the resampled images.
        fit_kwargs: passed to ``FaderNet.fit`` (``progress``, ``device``, ...).

    Returns:
        The trained model in eval mode; ``model.history`` holds its training History.
    """
    check_images(images)
    y = _check_light(y, images.shape[0], "y")
    if (y.abs() > 1 + 1e-6).any():
        raise ValueError("y must lie in [-1, 1] (rescale it with light_target)")
    x, y = with_flips(images, y) if flips else (images, y)

    def train() -> FaderNet:
        torch.manual_seed(seed)
        model = FaderNet(
            image_size=images.shape[-1],
            attribute_dim=1,
            latent_dim=latent_dim,
            n_bins=n_bins,
            discriminator_steps=discriminator_steps,
            lambda_max=lambda_max,
            lambda_ramp=lambda_ramp,
        )
        model.fit(
            x.float(),
            y.float()[:, None],
            steps=steps,
            batch_size=batch_size,
            seed=seed,
            **fit_kwargs,
        )
        return model

    settings = dict(
        steps=steps,
        lambda_max=lambda_max,
        seed=seed,
        batch_size=batch_size,
        n_bins=n_bins,
        discriminator_steps=discriminator_steps,
        latent_dim=latent_dim,
    )
    if lambda_ramp is not None:  # the same key as before for the default ramp
        settings["lambda_ramp"] = lambda_ramp
    return _cached("fadernet", x, y, train, cache, {**settings, **fit_kwargs}, faces_key)


def _cached(
    kind: str,
    x: torch.Tensor,
    y: torch.Tensor,
    train: Any,
    cache: bool,
    settings: dict,
    faces_key: str | None = None,
) -> Any:
    """``train()``, or with ``cache`` the model :func:`sepviz.zoo.cached` keeps for this
    training set and these ``settings`` (the bar and the device left out); this module and
    the loaders' (:mod:`sepviz.data.real`) are part of the models' fingerprint.

    The training set is named by ``faces_key`` (what the images were read from) and the
    targets ``y`` rounded to 1e-3, when given: the resampled pixels may differ in their last
    bits from machine to machine (their exact digest would then name other faces, and a
    shipped model would not load), the files they come from do not. Without it, by the
    exact bytes of ``x`` and ``y`` (:func:`sepviz.zoo.data_digest`)."""
    if not cache:
        return train()
    from sepviz import zoo

    kept = {k: v for k, v in settings.items() if k not in ("progress", "device")}
    if faces_key is None:
        args = {"faces": zoo.data_digest(x, y), **kept}
    else:
        targets = (y.double() * 1000).round().long() if y.is_floating_point() else y
        args = {"faces": faces_key, "targets": zoo.data_digest(targets), **kept}
    klass = {"fadernet": "FaderNet", "multidecoder": "MultiDecoder"}[kind]
    name = f"realfaces-{kind}-{x.shape[-1]}px"
    return zoo.cached(name, args, train, ("realfaces.py", "data/real.py"), model_class=klass)


def fit_light_multidecoder(
    images: torch.Tensor,
    classes: torch.Tensor,
    steps: int = 600,
    flips: bool = True,
    seed: int = 0,
    batch_size: int = 16,
    latent_dim: int = 64,
    cache: bool = False,
    faces_key: str | None = None,
    **fit_kwargs: Any,
) -> MultiDecoder:
    """The blog's idea 2: one decoder per light class (left / centre / right), on real faces.

    Args:
        images: (N, 3, S, S) float in [0, 1].
        classes: (N,) int64 light classes in {0, 1, 2} (e.g. pseudo-labels).
        steps: training steps; each draws ``batch_size`` faces of every class.
        flips: also train on the mirror images, with class k -> 2 - k (the side classes of
            real photo sets are small, and a flip turns a left-lit face into a right-lit one).
        seed: seeds the weights and the batches.
        cache: train once per training set and settings, then load (:func:`_cached`).
        faces_key: with ``cache``, names the training images by what they were read from
            (e.g. :func:`sepviz.data.real.skimage_faces_key`), so that a model trained on
            one machine loads on another; default: the exact bytes of the resampled images.
        fit_kwargs: passed to ``MultiDecoder.fit``.

    Returns:
        The trained model (decoders ``"left"``, ``"centre"``, ``"right"``) in eval mode;
        ``model.history`` holds its History.

    Raises:
        ValueError: a class has no face (a decoder cannot learn from nothing).
    """
    check_images(images)
    classes = torch.as_tensor(classes)
    flipped = flip_light_class(classes, len(LIGHT_NAMES))
    x = torch.cat([images, images.flip(-1)]) if flips else images
    labels = torch.cat([classes, flipped]) if flips else classes
    counts = torch.bincount(labels, minlength=len(LIGHT_NAMES))
    if (counts == 0).any():
        empty = [LIGHT_NAMES[k] for k in range(len(LIGHT_NAMES)) if counts[k] == 0]
        raise ValueError(f"classes: no face of class {empty}; every decoder needs faces")

    def train() -> MultiDecoder:
        torch.manual_seed(seed)
        size = images.shape[-1]
        model = MultiDecoder(classes=LIGHT_NAMES, image_size=size, latent_dim=latent_dim)
        model.fit(x.float(), labels, steps=steps, batch_size=batch_size, seed=seed, **fit_kwargs)
        return model

    settings = dict(steps=steps, seed=seed, batch_size=batch_size, latent_dim=latent_dim)
    return _cached("multidecoder", x, labels, train, cache, {**settings, **fit_kwargs}, faces_key)


def closer_to_input(
    outputs: torch.Tensor,
    inputs: torch.Tensor,
    bank: torch.Tensor,
    symmetrise: bool = True,
    tol: float = 1e-8,
) -> torch.Tensor:
    """Whether each output is nearer its own input than any *other* face of ``bank``.

    A relit face that is nearer some training face than its own input has likely been
    replaced by a face the model memorised, not relit. Distances are pixel mean squared
    errors. Bank faces that are the input itself or its mirror image (MSE <= ``tol``) are not
    "other" faces and are skipped.

    ``symmetrise`` (default) compares the mirror-symmetrised images ``(x + flip(x)) / 2``
    instead: light from one side is mostly the *antisymmetric* part of a face image, so this
    cancels most of a left/right light change, and a well relit face is not called "pasted"
    only because its light now resembles another face's. (Faces are only roughly symmetric,
    so identity mostly survives symmetrising; overall brightness does not cancel.)

    Args:
        outputs: (N, 3, H, W) relit faces in [0, 1].
        inputs: (N, 3, H, W) the faces they were made from.
        bank: (M, 3, H, W) e.g. the training faces.
        symmetrise: compare mirror-symmetrised images.
        tol: MSE below which a bank face counts as the input (or its mirror).

    Returns:
        (N,) bool.
    """
    for name, t in (("outputs", outputs), ("inputs", inputs), ("bank", bank)):
        check_images(t, name)
    if outputs.shape != inputs.shape or bank.shape[1:] != inputs.shape[1:]:
        raise ValueError(
            f"outputs {tuple(outputs.shape)}, inputs {tuple(inputs.shape)} and bank "
            f"{tuple(bank.shape)} must hold images of one shape (and outputs match inputs)"
        )
    d = outputs[0].numel()

    def flat(t: torch.Tensor) -> torch.Tensor:
        return t.flatten(1).double()

    def mse(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.cdist(a, b).pow(2) / d

    same = (mse(flat(inputs), flat(bank)) <= tol) | (mse(flat(inputs.flip(-1)), flat(bank)) <= tol)
    if symmetrise:
        outputs, inputs, bank = ((t + t.flip(-1)) / 2 for t in (outputs, inputs, bank))
    out, inp = flat(outputs), flat(inputs)
    to_bank = mse(out, flat(bank)).masked_fill(same, float("inf"))
    to_input = (out - inp).pow(2).mean(1)
    return to_input < to_bank.min(1).values
