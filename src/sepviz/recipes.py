"""One table of recipes: which faces each kind of model learns from, and what ``fit`` needs.

The zoo (cached models for the chapters), the command line, the benchmarks and the tests all
read :data:`RECIPES`; no other place switches on the kind of a model. A recipe is a model class,
a training set of synthetic faces and the target ``y`` that the model's ``fit(x, y)`` needs:

==============  ==============  =========================================  ====================
kind            model           faces                                      y
==============  ==============  =========================================  ====================
autoencoder     AutoEncoder     8 random people, random expressions/light  none
deepfakes       DeepFakes       the named people (default A and B)         identity (index)
fadernet        FaderNet        8 random people                            azimuth / 60, (N, 1)
multidecoder    MultiDecoder    8 random people under the 3 class lamps    light class (index)
vae             VAE             8 random people, random expressions/light  none
fadernet2       FaderNet        8 random people, heads turned (yaw)        azimuth / 60, yaw / 40
==============  ==============  =========================================  ====================

Every recipe but multidecoder takes the face options ``yaw`` and ``pitch``, ranges of head
pose in degrees (default frontal; fadernet2's default yaw: the whole range).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from sepviz.data.faceset import FaceSet
from sepviz.data.synthetic import YAW_RANGE, class_azimuths, make_faces, relit

if TYPE_CHECKING:
    from sepviz.models.base import SepvizModel

PEOPLE = 8  # random people in the training faces of every recipe but deepfakes
POSE_OPTIONS = ("yaw", "pitch")
"""Face options that turn the heads: ranges (lo, hi) in degrees (frontal: (0, 0)). They choose
the faces only, never the model's config."""
FRONTAL = (0.0, 0.0)


@dataclass(frozen=True)
class Recipe:
    """How to train one kind of model on synthetic faces.

    Attributes:
        model: the class name in :mod:`sepviz.models`.
        faces: ``faces(n, size, seed, **options)`` -> the training :class:`FaceSet`.
        target: ``target(faces)`` -> the ``y`` of ``fit(x, y)`` (``None``: faces alone).
        fit_options: the model's own ``fit`` options (FaderNet's ``source``, named by a key
            of :data:`SOURCES`).
        face_options: constructor options that also choose the faces (``identities``).
        relight: how the command line relights with this model: ``"slider"`` (a value of y
            per column), ``"decoders"`` (one decoder per column) or ``None``.
        swap: whether ``sepviz swap`` applies (one decoder per person).
        config: constructor settings the recipe fixes (``(("attribute_dim", 2),)``).
    """

    model: str
    faces: Callable[..., FaceSet]
    target: Callable[[FaceSet], Any] = lambda faces: None
    fit_options: tuple[str, ...] = ()
    face_options: tuple[str, ...] = ()
    relight: str | None = None
    swap: bool = False
    config: tuple[tuple[str, Any], ...] = ()

    def model_class(self) -> type[SepvizModel]:
        import sepviz.models

        return getattr(sepviz.models, self.model)

    def build(self, size: int, **options: Any) -> SepvizModel:
        """An untrained model at ``size`` px; ``options`` go to its config (pose ranges,
        which choose the faces only, left out; the recipe's fixed settings added)."""
        return self.model_class()(image_size=size, **self.config_options(options))

    def config_options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """The constructor's share of ``options``: the recipe's fixed settings, then every
        option but the pose ranges (:data:`POSE_OPTIONS`)."""
        chosen = {k: v for k, v in options.items() if k not in POSE_OPTIONS}
        return {**dict(self.config), **chosen}

    def posed(self, options: Mapping[str, Any]) -> bool:
        """Whether the recipe's faces, with ``options``, turn their heads: then training runs
        the head-turning warp (``data/pose.py``), which joins the model's fingerprint."""
        defaults = inspect.signature(self.faces).parameters
        for name in POSE_OPTIONS:
            if name in self.face_options:
                given = options.get(name, defaults[name].default)
                if tuple(float(v) for v in given) != FRONTAL:
                    return True
        return False

    def training_faces(self, n: int, size: int, seed: int = 0, **options: Any) -> FaceSet:
        """The recipe's ``n`` training faces at ``size`` px (``options``: see face_options)."""
        picked = {k: v for k, v in options.items() if k in self.face_options}
        return self.faces(n, size, seed, **picked)

    def fit(self, model: SepvizModel, faces: FaceSet, steps: int, **fit_kwargs: Any) -> Any:
        """``model.fit(faces.images, target(faces), steps=steps, ...)``; returns the model.

        ``source="centre light"`` (a key of :data:`SOURCES`) becomes the faces themselves
        re-rendered that way: what an oracle encoder sees."""
        if "source" in fit_kwargs:
            name = fit_kwargs["source"]
            if name not in SOURCES:
                raise ValueError(f"source must be one of {tuple(SOURCES)}, got {name!r}")
            fit_kwargs["source"] = SOURCES[name](faces)
        return model.fit(faces.images, self.target(faces), steps=steps, **fit_kwargs)


def _people(
    n: int, size: int, seed: int, yaw: Sequence[float] = FRONTAL, pitch: Sequence[float] = FRONTAL
) -> FaceSet:
    return make_faces(
        n, size=size, identities=PEOPLE, seed=seed, yaw=tuple(yaw), pitch=tuple(pitch)
    )


def _turning(
    n: int, size: int, seed: int, yaw: Sequence[float] = YAW_RANGE, pitch: Sequence[float] = FRONTAL
) -> FaceSet:
    # _people with heads turned over the whole yaw range by default: a fader for the yaw
    return _people(n, size, seed, yaw, pitch)


def _named(
    n: int,
    size: int,
    seed: int,
    identities: Sequence[str] = ("A", "B"),
    yaw: Sequence[float] = FRONTAL,
    pitch: Sequence[float] = FRONTAL,
) -> FaceSet:
    return make_faces(
        n, size=size, identities=list(identities), seed=seed, yaw=tuple(yaw), pitch=tuple(pitch)
    )


def _lamps(n: int, size: int, seed: int) -> FaceSet:
    return make_faces(n, size=size, identities=PEOPLE, seed=seed, azimuths=class_azimuths())


def azimuth_y(faces: FaceSet) -> torch.Tensor:
    """FaderNet's y: the light azimuth scaled to [-1, 1], (N, 1) (negative: from the left)."""
    return (faces.factors["azimuth"] / 60).clamp(-1, 1)[:, None]


def light_and_yaw_y(faces: FaceSet) -> torch.Tensor:
    """The two faders' y: the light azimuth / 60 and the head's yaw / 40, each in [-1, 1],
    (N, 2) (negative: light from the left, head turned towards the image's left)."""
    azimuth = faces.factors["azimuth"] / 60
    return torch.stack([azimuth, faces.factors["yaw"] / YAW_RANGE[1]], 1).clamp(-1, 1)


SOURCES: dict[str, Callable[[FaceSet], torch.Tensor]] = {
    # every face under a light from straight ahead, its elevation kept: y carries the azimuth
    "centre light": lambda faces: relit(faces, 0.0),
}

RECIPES: dict[str, Recipe] = {
    "autoencoder": Recipe("AutoEncoder", _people, face_options=POSE_OPTIONS),
    "deepfakes": Recipe(
        "DeepFakes",
        _named,
        target=lambda faces: faces.factors["identity"],
        face_options=("identities", *POSE_OPTIONS),
        swap=True,
    ),
    "fadernet": Recipe(
        "FaderNet",
        _people,
        target=azimuth_y,
        fit_options=("source",),
        face_options=POSE_OPTIONS,
        relight="slider",
    ),
    "fadernet2": Recipe(
        "FaderNet",
        _turning,
        target=light_and_yaw_y,
        face_options=POSE_OPTIONS,
        config=(("attribute_dim", 2),),
    ),
    "multidecoder": Recipe(
        "MultiDecoder", _lamps, target=lambda f: f.factors["light_class"], relight="decoders"
    ),
    "vae": Recipe("VAE", _people, face_options=POSE_OPTIONS),
}
KINDS = tuple(RECIPES)


def recipe(kind: str) -> Recipe:
    """The recipe of ``kind`` (one of :data:`KINDS`), or a ``ValueError`` listing them."""
    if kind not in RECIPES:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    return RECIPES[kind]


def kind_of(model: SepvizModel) -> str:
    """The recipe kind of a model instance (``"fadernet"`` for a FaderNet, ``"fadernet2"`` for
    one with the two faders' ``attribute_dim``): among the recipes of its class, the one with
    the most fixed settings that all match its config."""
    kinds = [k for k, entry in RECIPES.items() if entry.model == type(model).__name__]
    for kind in sorted(kinds, key=lambda k: -len(RECIPES[k].config)):
        config = getattr(model, "config", None)
        if all(getattr(config, name, None) == value for name, value in RECIPES[kind].config):
            return kind
    raise ValueError(f"no recipe for a {type(model).__name__}; have {KINDS}")
