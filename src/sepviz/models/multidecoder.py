"""The blog's idea 2: one shared encoder and one decoder per lighting class (left / centre /
right). Relighting = decoding a face's latent with another class's decoder, DeepFakes-style:
``model.swap(x, to="right")``."""

from __future__ import annotations

import dataclasses

from sepviz.models.base import ModelConfig
from sepviz.models.deepfakes import SharedEncoderModel, check_names


@dataclasses.dataclass(frozen=True)
class MultiDecoderConfig(ModelConfig):
    """A :class:`~sepviz.models.base.ModelConfig` plus ``classes``: one decoder per light class,
    in label order (label k trains ``decoders[classes[k]]``)."""

    classes: tuple[str, ...] = ("left", "centre", "right")

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "classes", check_names(self.classes, "classes"))


class MultiDecoder(SharedEncoderModel):
    """``shared_encoder`` and ``decoders[c]`` for each light class c.

    ``fit(x, y)`` with y the light class of each face (names such as ``"left"`` or indices,
    e.g. ``faces.factors["light_class"]``); ``swap(x, to="right")`` relights to a class.
    """

    Config = MultiDecoderConfig

    @property
    def names(self) -> list[str]:  # type: ignore[override]
        return list(self.config.classes)

    @property
    def classes(self) -> list[str]:
        return self.names
