"""sepviz.models: configs, shapes, the probes contract, FaderNet's attribute, fit / history,
labels, swap, save / load, resume, input checks and NaN detection, on tiny models (16 x 16
faces, a few steps, CPU).

Models, their training faces and their targets come from the recipe table
(:data:`sepviz.recipes.RECIPES`), as the zoo, the command line and the benchmarks take them.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from sepviz.data import FaceSet
from sepviz.data.synthetic import make_faces
from sepviz.grids import decoder_swap_grid, layer_swap_grid, relight_grid
from sepviz.models import (
    AutoEncoder,
    DeepFakes,
    DeepFakesConfig,
    FaderNet,
    FaderNetConfig,
    ModelConfig,
    MultiDecoder,
    MultiDecoderConfig,
    SepvizModel,
    VAEConfig,
    blocks,
)
from sepviz.models.deepfakes import SharedEncoderModel
from sepviz.models.fadernet import Whiten
from sepviz.probes import layer_activations
from sepviz.recipes import KINDS, RECIPES, kind_of, recipe
from sepviz.train import History

LATENT = 16
N_FACES = 24
FIT = {"progress": False, "device": "cpu", "batch_size": 8}
DECODER_KINDS = [k for k in KINDS if issubclass(recipe(k).model_class(), SharedEncoderModel)]
"""The kinds with one decoder per name (DeepFakes, MultiDecoder): ``swap(x, to)``."""

# -- helpers -------------------------------------------------------------------------------


def build(kind: str, size: int = 16, seed: int = 0, **options: Any) -> SepvizModel:
    """A tiny untrained model of ``kind`` (its recipe's class), weights from ``seed``
    (FaderNet: ``lambda_max`` 0.1 unless given)."""
    torch.manual_seed(seed)
    if kind == "fadernet":
        options.setdefault("lambda_max", 0.1)
    return recipe(kind).build(size, **{"latent_dim": LATENT, **options})


def train(model: SepvizModel, faces: dict[str, FaceSet], steps: int, **kw: Any) -> SepvizModel:
    """``recipe.fit`` of ``model`` on its recipe's faces."""
    kind = kind_of(model)
    return recipe(kind).fit(model, faces[kind], steps, **{**FIT, **kw})


def target(kind: str, n: int, seed: int = 0) -> Any:
    """The recipe's ``y`` for ``n`` faces (``None`` for an autoencoder)."""
    entry = recipe(kind)
    return entry.target(entry.training_faces(n, 16, seed))


def outputs(model: SepvizModel, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Every image-valued output of ``model`` on ``x`` (eval mode, no grad)."""
    model.eval()
    n = x.shape[0]
    out = {}
    with torch.no_grad():
        z = model.encode(x)
        if isinstance(model, SharedEncoderModel):  # one decoder per name
            out["decode"] = model.decode(z, model.names[0])
            out["swap"] = model.swap(x, model.names[-1])
        elif isinstance(model, FaderNet):  # the decoder takes the attribute y
            out["decode"] = model.decode(z, torch.full((n, model.attribute_dim), 0.5))
            out["relight"] = model.relight(x, -0.5)
        else:
            out["decode"] = model.decode(z)
        if hasattr(model, "reconstruct"):
            out["reconstruct"] = model.reconstruct(x)
    return out


def first_encoder(model: SepvizModel) -> nn.Sequential:
    return model.shared_encoder if isinstance(model, SharedEncoderModel) else model.encoder


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Any:
    """Tiny models run fastest on one thread (on a busy machine, two can be 100x slower)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def faces() -> FaceSet:
    """24 faces of people A and B (alternating), 16 x 16."""
    return make_faces(N_FACES, size=16, identities=["A", "B"], seed=0)


@pytest.fixture(scope="module")
def training() -> dict[str, FaceSet]:
    """Each recipe's 24 training faces at 16 x 16 (seed 0)."""
    return {kind: recipe(kind).training_faces(N_FACES, 16, 0) for kind in KINDS}


# -- configs -------------------------------------------------------------------------------


def test_every_model_is_built_from_its_config() -> None:
    assert [recipe(k).model_class().Config for k in KINDS] == [
        ModelConfig,
        DeepFakesConfig,
        FaderNetConfig,
        FaderNetConfig,
        MultiDecoderConfig,
        VAEConfig,
    ]
    config = DeepFakesConfig(image_size=16, latent_dim=8, identities=["A", "C"])
    assert config.identities == ("A", "C")  # a list is kept as a tuple: hashable, frozen
    model = DeepFakes(config)
    assert model.config is config and model.identities == ["A", "C"]
    assert model.latent_dim == 8 and model.image_size == 16
    # fields override the config's
    other = DeepFakes(config, latent_dim=4)
    assert other.config == dataclasses.replace(config, latent_dim=4)
    assert config.latent_dim == 8
    assert config.as_dict() == {
        "image_size": 16,
        "latent_dim": 8,
        "lr": 1e-3,
        "identities": ["A", "C"],
    }
    assert AutoEncoder(image_size=16).config == ModelConfig(image_size=16)
    with pytest.raises(dataclasses.FrozenInstanceError):
        model.config.latent_dim = 3  # type: ignore[misc]


def test_constructor_argument_errors() -> None:
    with pytest.raises(TypeError, match="config must be a DeepFakesConfig, got list"):
        DeepFakes(["A", "B"])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="config must be a MultiDecoderConfig, got FaderNetConfig"):
        MultiDecoder(FaderNetConfig())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"unknown arguments \['classes'\]") as info:
        DeepFakes(classes=["left", "right"])
    assert "identities" in str(info.value)  # the message lists the fields it has
    with pytest.raises(TypeError, match=r"unknown arguments \['eraser'\]"):
        FaderNet(eraser="leace")  # a class of its own now: ErasedFaderNet


BAD_CONFIG = [
    # (kinds, field, value, message): ModelConfig's fields are checked for every model
    (KINDS, "image_size", 8, r"image_size must be a power of two >= 16, got 8"),
    (KINDS, "image_size", 48, r"image_size must be a power of two >= 16, got 48"),
    (KINDS, "image_size", "32", r"image_size must be a power of two >= 16, got '32'"),
    (KINDS, "latent_dim", 0, r"latent_dim must be an int >= 1, got 0"),
    (KINDS, "latent_dim", 2.5, r"latent_dim must be an int >= 1, got 2.5"),
    (KINDS, "lr", 0.0, r"lr must be a finite number > 0, got 0.0"),
    (KINDS, "lr", -1e-3, r"lr must be a finite number > 0, got -0.001"),
    (KINDS, "lr", True, r"lr must be a finite number > 0, got True"),
    (KINDS, "lr", float("inf"), r"lr must be a finite number > 0, got inf"),
    (("deepfakes",), "identities", "AB", r"identities: expected a list of names .*got 'AB'"),
    (("deepfakes",), "identities", ["A", "A"], r"identities: names must be distinct"),
    (("deepfakes",), "identities", [], r"identities: expected 1 to 16 names, got 0"),
    (("multidecoder",), "classes", "left", r"classes: expected a list of names .*got 'left'"),
    (("multidecoder",), "classes", ["l", "l"], r"classes: names must be distinct"),
    (("fadernet",), "n_bins", 1, r"n_bins must be an int >= 2, got 1"),
    (("fadernet",), "discriminator_steps", 0, r"discriminator_steps must be an int >= 1, got 0"),
    (("fadernet",), "attribute_dim", 0, r"attribute_dim must be an int >= 1, got 0"),
    (("fadernet",), "adversary", "bogus", r"adversary must be one of \('confusion', 'flip'\)"),
    (
        ("fadernet",),
        "attribute",
        "ordinal",
        r"attribute must be one of \('continuous', 'categorical'\), got 'ordinal'",
    ),
    (("fadernet",), "discriminator_lr", 0, r"discriminator_lr must be a finite number > 0, got 0"),
]


@pytest.mark.parametrize(
    ("kind", "field", "value", "match"),
    [(k, f, v, m) for kinds, f, v, m in BAD_CONFIG for k in kinds],
)
def test_config_validation_names_the_field_and_range(
    kind: str, field: str, value: Any, match: str
) -> None:
    config_class = recipe(kind).model_class().Config
    with pytest.raises(ValueError, match=match):
        config_class(**{field: value})
    options = {field: value}
    size = options.pop("image_size", 16)
    with pytest.raises(ValueError, match=match):  # the same check through the constructor
        build(kind, size, **options)


def test_categorical_fadernet_needs_two_classes() -> None:
    with pytest.raises(ValueError, match="a categorical attribute needs attribute_dim >= 2, got 1"):
        FaderNetConfig(attribute="categorical", attribute_dim=1)


@pytest.mark.parametrize("size", [8, 24, 48, 0, -16, 32.0, "32", True])
@pytest.mark.parametrize("kind", KINDS)
def test_image_size_must_be_a_power_of_two(kind: str, size: Any) -> None:
    with pytest.raises(ValueError, match="image_size must be a power of two >= 16"):
        build(kind, size)


@pytest.mark.parametrize(
    ("names", "match"),
    [(["A", "A"], "must be distinct"), ([], "1 to 16 names, got 0"), (("A", "B"), None)],
)
def test_deepfakes_identity_names(names: list[str], match: str | None) -> None:
    if match is None:
        assert build("deepfakes", identities=names).identities == ["A", "B"]
        return
    with pytest.raises(ValueError, match=match):
        build("deepfakes", identities=names)


# -- recipes -------------------------------------------------------------------------------


def test_recipe_of_an_unknown_kind_lists_the_kinds() -> None:
    with pytest.raises(
        ValueError, match=r"kind must be one of \('autoencoder', .*got 'nope'"
    ) as info:
        recipe("nope")
    assert all(kind in str(info.value) for kind in KINDS)
    with pytest.raises(ValueError, match="no recipe for a Linear"):
        kind_of(nn.Linear(1, 1))  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", KINDS)
def test_every_recipe_builds_trains_and_returns_itself(kind: str) -> None:
    entry = RECIPES[kind]
    model = build(kind)
    assert type(model).__name__ == entry.model and kind_of(model) == kind
    assert model.history is None  # never trained
    faces = entry.training_faces(32, 16, seed=0)
    assert faces.images.shape == (32, 3, 16, 16)
    trained = entry.fit(model, faces, 2, log_every=1, **FIT)
    assert trained is model
    assert isinstance(model.history, History)
    assert model.history.steps == [0, 1]
    assert model.history.losses and all(
        len(v) == 2 and all(math.isfinite(f) and f >= 0 for f in v)
        for v in model.history.losses.values()
    )
    assert not model.training  # fit leaves the model in eval mode
    # fit on the model itself is the same call: it returns the model too
    again = model.fit(faces.images, entry.target(faces), steps=1, **FIT)
    assert again is model and model.history.steps == [0]


def test_recipe_streams_name_the_decoders(training: dict[str, FaceSet]) -> None:
    for kind in KINDS:
        model, faces = build(kind), training[kind]
        streams = model.streams(faces.images, recipe(kind).target(faces))
        expected = model.names if isinstance(model, SharedEncoderModel) else ["faces"]
        assert list(streams) == expected, kind
        assert sum(len(s["x"]) for s in streams.values()) == N_FACES, kind


# -- blocks and shapes ---------------------------------------------------------------------


def test_channels() -> None:
    assert blocks.channels(16) == [32, 64]
    assert blocks.channels(32) == [32, 64, 128]
    assert blocks.channels(64) == [32, 64, 128, 256]
    assert blocks.channels(128) == [32, 64, 128, 256, 256]  # capped at MAX_CHANNELS


@pytest.mark.parametrize("size", [16, 32, 64])
@pytest.mark.parametrize("kind", KINDS)
def test_shapes_and_range(kind: str, size: int) -> None:
    model = build(kind, size)
    x = make_faces(3, size=size, seed=1).images
    with torch.no_grad():
        z = model.eval().encode(x)
    assert z.shape == (3, LATENT)
    outs = outputs(model, x)
    for name, out in outs.items():
        assert out.shape == (3, 3, size, size), name
        assert out.dtype == torch.float32, name
        assert 0.0 <= float(out.min()) and float(out.max()) <= 1.0, name
    assert len(first_encoder(model)) == int(math.log2(size)) - 1


def test_fadernet_standardized_latent(faces: FaceSet) -> None:
    model = build("fadernet").train()
    z = model.encode(faces.images)
    # a BatchNorm without affine parameters: each unit has mean 0, variance 1 on the batch
    torch.testing.assert_close(z.mean(0), torch.zeros(LATENT), atol=1e-5, rtol=0)
    torch.testing.assert_close(z.var(0, unbiased=False), torch.ones(LATENT), atol=1e-2, rtol=0)


# -- probes contract -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_probe_layers_and_layer_activations(kind: str, faces: FaceSet) -> None:
    model = build(kind).eval()
    x = faces.images[:6]
    n_blocks = int(math.log2(16)) - 1  # 2 conv blocks + the linear map; its mirror image
    names = [f"enc{i}" for i in range(1, n_blocks + 1)] + [f"dec{i}" for i in range(1, 4)]
    assert list(model.probe_layers()) == names
    acts = layer_activations(model, x)
    assert list(acts) == names
    assert all(a.shape[0] == 6 and a.dtype == torch.float32 for a in acts.values())
    with torch.no_grad():
        z = model.encode(x)
        if isinstance(model, SharedEncoderModel):
            out = model.decode(z, model.names[0])  # the default: the first decoder
        else:
            out = model.reconstruct(x)
    # the last encoder block gives z, the last decoder block the image (3*16*16 = 768 <= 2048)
    torch.testing.assert_close(acts[f"enc{n_blocks}"], z)
    torch.testing.assert_close(acts["dec3"], out.flatten(1))
    assert acts["enc1"].shape == (6, 32 * 8 * 8)  # 2048 features: not pooled (<= max_features)
    pooled = layer_activations(model, x, max_features=1000)
    assert pooled["enc1"].shape == (6, 32 * 2 * 2)  # pooled to a 2 x 2 grid


@pytest.mark.parametrize("kind", DECODER_KINDS)
def test_probe_layers_of_another_decoder(kind: str, faces: FaceSet) -> None:
    model = build(kind).eval()
    last = model.names[-1]
    layers = model.probe_layers(decoder=last)
    assert layers["dec1"] is model.decoders[last][0]
    assert layers["enc1"] is model.shared_encoder[0]
    assert model.probe_layers(decoder=len(model.names) - 1)["dec1"] is layers["dec1"]
    acts = layer_activations(model, faces.images[:4], decoder=last)
    with torch.no_grad():
        expected = model.decode(model.encode(faces.images[:4]), last)
    torch.testing.assert_close(acts["dec3"], expected.flatten(1))
    with pytest.raises(ValueError, match="decoder='Z' is not a decoder"):
        model.probe_layers(decoder="Z")


@pytest.mark.parametrize("kind", DECODER_KINDS)
def test_decoder_swap_grid_columns_are_decoders(kind: str, faces: FaceSet) -> None:
    model = build(kind).eval()
    x = faces.images[:5]
    grid = decoder_swap_grid(model, x)
    names = model.names
    assert grid.shape == (5, len(names), 3, 16, 16)
    with torch.no_grad():
        z = model.encode(x)
        for k, name in enumerate(names):
            torch.testing.assert_close(grid[:, k], model.decode(z, name))
    torch.testing.assert_close(grid[:, -1], model.swap(x, names[-1]))
    # the decoders differ (independent initialisations), so the columns do
    assert (grid[:, 0] - grid[:, 1]).abs().max() > 1e-3


@pytest.mark.parametrize("kind", DECODER_KINDS)
def test_layer_swap_grid_ends_are_the_plain_decoders(kind: str, faces: FaceSet) -> None:
    model = build(kind).eval()
    source, target = model.names[0], model.names[1]
    x = faces.images[:4]
    grid = layer_swap_grid(model, x, source, target)
    n_blocks = len(model.decoders[target])
    assert n_blocks == 3
    assert grid.shape == (4, n_blocks + 1, 3, 16, 16)
    with torch.no_grad():
        z = model.encode(x)
        torch.testing.assert_close(grid[:, 0], model.decode(z, target))
        torch.testing.assert_close(grid[:, -1], model.decode(z, source))
    # swapping some blocks only gives something in between: neither plain decoding
    assert (grid[:, 1] - grid[:, 0]).abs().max() > 1e-4
    assert (grid[:, 1] - grid[:, -1]).abs().max() > 1e-4


@pytest.mark.parametrize("kind", DECODER_KINDS)
def test_decoders_keep_no_running_statistics(
    kind: str, faces: FaceSet, training: dict[str, FaceSet]
) -> None:
    """A swap decodes one decoder's code with another decoder: statistics gathered on its own
    person / light would misnormalise it (issue 13), so a decoder normalises nothing by
    running statistics and decodes the same in train and eval mode."""
    model = train(build(kind), training, 3)
    for name, dec in model.decoders.items():
        running = [
            m
            for m in dec.modules()
            if isinstance(m, nn.modules.batchnorm._NormBase) and m.track_running_stats
        ]
        assert not running, f"decoder {name!r} keeps running statistics in {running}"
    with torch.no_grad():
        z = model.eval().encode(faces.images[:6])
        for dec in model.decoders.values():
            evaluated = dec.eval()(z)
            trained = dec.train()(z)
            torch.testing.assert_close(trained, evaluated, atol=1e-5, rtol=1e-4)
            # and one face decodes the same alone as in a batch
            torch.testing.assert_close(dec.eval()(z[:1]), evaluated[:1], atol=1e-5, rtol=1e-4)
    model.eval()


@pytest.mark.parametrize("norm", blocks.NORMS)
def test_decoder_norm_options(norm: str) -> None:
    dec = blocks.decoder(16, LATENT, norm=norm)
    assert len(dec) == 3
    assert dec(torch.randn(2, LATENT)).shape == (2, 3, 16, 16)
    has_batchnorm = any(isinstance(m, nn.BatchNorm2d) for m in dec.modules())
    assert has_batchnorm == (norm == "batch")
    with pytest.raises(ValueError, match="norm must be one of"):
        blocks.decoder(16, LATENT, norm="layer")


def test_relight_grid_on_fadernet(faces: FaceSet) -> None:
    model = build("fadernet", attribute_dim=2).eval()
    x = faces.images[:3]
    values = [-1.0, 0.0, 0.5, 1.0]
    grid = relight_grid(model, x, values, attribute_index=1)
    assert grid.shape == (3, len(values), 3, 16, 16)
    with torch.no_grad():
        for j, v in enumerate(values):
            torch.testing.assert_close(grid[:, j], model.relight(x, torch.tensor([0.0, v])))
    assert (grid[:, 0] - grid[:, -1]).abs().max() > 1e-4
    assert model.training is False


# -- swap and labels (DeepFakes, MultiDecoder) ---------------------------------------------


@pytest.mark.parametrize("kind", DECODER_KINDS)
def test_swap_by_name_equals_swap_by_index(kind: str, faces: FaceSet) -> None:
    model = build(kind).eval()
    x = faces.images[:4]
    for k, name in enumerate(model.names):
        by_name = model.swap(x, name)
        assert torch.equal(by_name, model.swap(x, k)), name
        assert torch.equal(by_name, model.swap(x, torch.tensor(k))), name
        with torch.no_grad():
            assert torch.equal(by_name, model.decode(model.encode(x), k)), name
        assert model.name_of(k) == name and model.name_of(name) == name
    assert not torch.equal(model.swap(x, 0), model.swap(x, 1))
    assert not hasattr(model, "relight") and not hasattr(model, "transfer")  # one verb: swap


@pytest.mark.parametrize("kind", DECODER_KINDS)
def test_fit_with_names_equals_fit_with_indices(kind: str, training: dict[str, FaceSet]) -> None:
    faces = training[kind]
    x, y = faces.images, recipe(kind).target(faces)
    by_index = build(kind).fit(x, y, steps=3, **FIT)
    names = by_index.names
    by_name = build(kind).fit(x, [names[int(k)] for k in y], steps=3, **FIT)
    # and images given as a dict name -> images (the rows of each name, in order)
    by_dict = build(kind).fit({n: x[y == k] for k, n in enumerate(names)}, steps=3, **FIT)
    for other in (by_name, by_dict):
        assert other.history.losses == by_index.history.losses
        for (key, a), b in zip(by_index.state_dict().items(), other.state_dict().values()):
            assert torch.equal(a, b), key
    assert torch.equal(by_index.label_indices([names[int(k)] for k in y], len(y)), y)


@pytest.mark.parametrize(
    ("kind", "labels", "match"),
    [
        ("deepfakes", ["A", "Z"] * 3, r"y holds unknown names \['Z'\]; have \['A', 'B'\]"),
        ("deepfakes", "AB", r"y must hold one label per image, got the string 'AB'"),
        ("deepfakes", [0, 1, 2] * 2, r"y must lie in \[0, 2\) \(the decoders \['A', 'B'\]\)"),
        ("deepfakes", [0, -1] * 3, r"y must lie in \[0, 2\) \(the decoders \['A', 'B'\]\)"),
        (
            "multidecoder",
            ["left", "up", "right"] * 2,
            r"y holds unknown names \['up'\]; have \['left', 'centre', 'right'\]",
        ),
        ("multidecoder", "left", r"y must hold one label per image, got the string 'left'"),
        (
            "multidecoder",
            [0, 1, 3] * 2,
            r"y must lie in \[0, 3\) \(the decoders \['left', 'centre', 'right'\]\), "
            r"got \[0, 1, 3\]",
        ),
    ],
)
def test_label_errors_name_y_and_the_decoders(kind: str, labels: Any, match: str) -> None:
    x = make_faces(6, size=16, seed=7).images
    with pytest.raises(ValueError, match=match):
        build(kind).fit(x, labels, steps=1, **FIT)


@pytest.mark.parametrize(
    ("labels", "match"),
    [
        (torch.arange(5) % 3, r"y must be \(N,\) names or ints with N = 6 images, got \(5,\)"),
        ((torch.arange(6) % 3)[:, None], r"y must be \(N,\) names or ints .*got \(6, 1\)"),
        (torch.arange(6).float() % 3, r"y must be \(N,\) names or ints .*torch.float32"),
        (torch.arange(6) % 4, r"y must lie in \[0, 3\)"),
        (torch.arange(6) % 3 - 1, r"y must lie in \[0, 3\)"),
        (torch.arange(6) % 2, r"2 training faces at least .*'left': 3, 'centre': 3, 'right': 0"),
    ],
)
def test_multidecoder_label_errors(labels: torch.Tensor, match: str) -> None:
    x = make_faces(6, size=16, seed=7).images
    with pytest.raises(ValueError, match=match):
        build("multidecoder").fit(x, labels, steps=1, **FIT)


def test_unknown_decoder_names() -> None:
    x = make_faces(2, size=16, seed=8).images
    df, md = build("deepfakes"), build("multidecoder")
    with pytest.raises(
        ValueError, match=r"to='Z' is not a decoder of this model; have \['A', 'B'\]"
    ):
        df.swap(x, to="Z")
    with pytest.raises(ValueError, match="to='up' is not a decoder"):
        md.swap(x, to="up")
    with pytest.raises(ValueError, match=r"to=3 is out of range: decoder indices lie in \[0, 3\)"):
        md.swap(x, to=3)
    with pytest.raises(ValueError, match=r"to=-1 is out of range: decoder indices lie in \[0, 2\)"):
        df.swap(x, to=-1)
    with pytest.raises(ValueError, match="to=True is not a decoder"):
        df.swap(x, to=True)
    with pytest.raises(ValueError, match="to='Z' is not a decoder"):
        df.decode(torch.zeros(2, LATENT), "Z")


@pytest.mark.parametrize(
    ("images", "match"),
    [
        ({"A": "x"}, r"missing \['B'\]"),
        ({"A": "x", "B": "x", "C": "x"}, r"unknown \['C'\]"),
        ({"A": "x", "B": "empty"}, r"'A': 4, 'B': 0: give more faces \(n_faces"),
        ({"A": "x", "B": "x3d"}, r"images\['B'\] must have shape"),
    ],
)
def test_deepfakes_fit_identity_errors(images: dict[str, str], match: str) -> None:
    x = make_faces(4, size=16, seed=6).images
    data = {"x": x, "empty": x[:0], "x3d": x[:, 0]}
    model = build("deepfakes")
    with pytest.raises(ValueError, match=match):
        model.fit({k: data[v] for k, v in images.items()}, steps=1, **FIT)
    with pytest.raises(ValueError, match="give images as a dict name -> images, or x with labels"):
        model.fit({"A": x, "B": x}, torch.zeros(4), steps=1, **FIT)


def test_targets_a_model_does_not_take() -> None:
    x = make_faces(4, size=16, seed=6).images
    with pytest.raises(ValueError, match="AutoEncoder learns from faces alone: y must be None"):
        build("autoencoder").fit(x, torch.zeros(4), steps=1, **FIT)
    with pytest.raises(
        ValueError, match=r"FaderNet needs the attribute y of every face: fit\(x, y\)"
    ):
        build("fadernet").fit(x, None, steps=1, **FIT)
    with pytest.raises(TypeError, match="'y'"):
        build("fadernet").fit(x, steps=1, **FIT)  # type: ignore[call-arg]


# -- FaderNet ------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [16, 32])
def test_fadernet_decoder_blocks_take_the_attribute(size: int) -> None:
    attribute_dim = 2
    model = build("fadernet", size, attribute_dim=attribute_dim)
    dec = model.decoder.blocks
    ch = blocks.channels(size)[::-1]
    assert dec[0][0].in_features == LATENT + attribute_dim
    assert [dec[k][0].in_channels for k in range(1, len(dec))] == [c + attribute_dim for c in ch]


def test_fadernet_every_decoder_block_receives_y(faces: FaceSet) -> None:
    model = build("fadernet", attribute_dim=2).eval()
    x = faces.images[:4]
    y = torch.tensor([[0.3, -0.7], [1.0, 0.0], [-1.0, 0.25], [0.0, 0.9]])
    inputs: list[torch.Tensor] = []
    handles = [
        b.register_forward_pre_hook(lambda _m, inp: inputs.append(inp[0]))
        for b in model.decoder.blocks
    ]
    try:
        with torch.no_grad():
            model.relight(x, y)
    finally:
        for h in handles:
            h.remove()
    assert len(inputs) == len(model.decoder.blocks) == 3
    torch.testing.assert_close(inputs[0][:, -2:], y)  # (N, latent + A)
    for h in inputs[1:]:  # (N, C + A, h, w): y broadcast over the map
        assert h.ndim == 4
        torch.testing.assert_close(h[:, -2:], y[:, :, None, None].expand(-1, -1, *h.shape[-2:]))


def test_fadernet_y_changes_the_output(faces: FaceSet) -> None:
    model = build("fadernet").eval()
    x = faces.images[:4]
    with torch.no_grad():
        lo, mid, hi = model.relight(x, -1.0), model.relight(x, 0.0), model.relight(x, 1.0)
        torch.testing.assert_close(mid, model.reconstruct(x))  # y defaults to 0
        torch.testing.assert_close(hi, model.relight(x, torch.ones(4, 1)))
    assert (lo - hi).abs().max() > 1e-4


def test_lambda_ramps_linearly_then_stays() -> None:
    assert build("fadernet", lambda_max=0.0).lambda_at(100) == 0.0  # no adversary
    model = build("fadernet", lambda_max=0.2, lambda_ramp=10)
    values = [model.lambda_at(s) for s in range(0, 31)]
    assert values[0] == 0.0
    assert values[5] == pytest.approx(0.1)
    assert values[10] == pytest.approx(0.2)
    assert all(v == pytest.approx(0.2) for v in values[10:])
    diffs = [b - a for a, b in zip(values[:10], values[1:11])]
    assert diffs == pytest.approx([0.02] * 10)


def test_fit_sets_the_lambda_schedule(training: dict[str, FaceSet], tmp_path: Path) -> None:
    model = build("fadernet", lambda_max=0.3, lambda_ramp=2)
    history = train(model, training, 4, log_every=1, batch_size=4).history
    assert history.losses["lambda"] == pytest.approx([0.0, 0.15, 0.3, 0.3])
    assert (model.lambda_max, model.lambda_ramp) == (0.3, 2)
    model = build("fadernet", lambda_max=0.3)  # lambda_ramp None: steps // 2
    history = train(model, training, 6, log_every=1, batch_size=4).history
    assert model.lambda_ramp == 3 and model.config.lambda_ramp is None
    assert history.losses["lambda"] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.3, 0.3])
    loaded = FaderNet.load(model.save(tmp_path / "fader.pt"))
    assert (loaded.lambda_max, loaded.lambda_ramp) == (0.3, 3)  # the resolved ramp is kept


def test_lambda_settings_are_the_configs_not_fits(faces: FaceSet) -> None:
    model = build("fadernet")
    y = torch.zeros(len(faces), 1)
    for name in ("lambda_max", "lambda_ramp"):
        with pytest.raises(TypeError, match=rf"\['{name}'\].*config settings.*FaderNet\("):
            model.fit(faces.images, y, steps=1, **{name: 1}, **FIT)
    assert model.history is None  # refused before training


def test_attribute_classes_continuous() -> None:
    model = build("fadernet", n_bins=4)
    y = torch.tensor([-1.0, -0.6, -0.5, -0.01, 0.0, 0.49, 0.5, 0.99, 1.0])[:, None]
    classes = model.attribute_classes(y)
    assert classes.dtype == torch.int64 and classes.shape == (9, 1)
    assert classes[:, 0].tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 3]
    model8 = build("fadernet", n_bins=8, attribute_dim=2)
    y2 = torch.tensor([[-1.0, 1.0], [0.0, -0.2]])
    assert model8.attribute_classes(y2).tolist() == [[0, 7], [4, 3]]


def test_attribute_classes_categorical() -> None:
    model = build("fadernet", attribute="categorical", attribute_dim=3)
    y = torch.eye(3)[torch.tensor([2, 0, 1, 1])]
    assert model.attribute_classes(y).tolist() == [[2], [0], [1], [1]]
    assert model.latent_discriminator[-1].out_features == 3


@pytest.mark.parametrize("adversary", ["confusion", "flip"])
def test_categorical_fadernet_trains(adversary: str, faces: FaceSet) -> None:
    y = torch.eye(3)[torch.arange(N_FACES) % 3]
    model = build(
        "fadernet", attribute="categorical", attribute_dim=3, adversary=adversary, lambda_ramp=1
    )
    fitted = model.fit(faces.images, y, steps=3, log_every=1, **FIT)
    assert fitted is model
    history = model.history
    assert set(history.losses) == {"reconstruction", "discriminator", "lambda"}
    assert history.losses["lambda"] == pytest.approx([0.0, 0.1, 0.1])
    assert all(math.isfinite(v) for vs in history.losses.values() for v in vs)
    assert history.losses["discriminator"][0] > 0
    with torch.no_grad():
        out = model.relight(faces.images[:2], torch.eye(3)[[0, 2]])
    assert out.shape == (2, 3, 16, 16)


def _fader_fit(options: dict[str, Any], y: torch.Tensor, **fit_kw: Any) -> Callable[[], Any]:
    def run() -> Any:
        model = build("fadernet", **options)
        x = make_faces(4, size=16, seed=2).images
        return model.fit(x, y, steps=1, **{**FIT, **fit_kw})

    return run


CAT = {"attribute": "categorical", "attribute_dim": 3}


@pytest.mark.parametrize(
    ("run", "match"),
    [
        (_fader_fit({}, torch.zeros(4)), r"y must have shape \(4, 1\)"),
        (_fader_fit({}, torch.zeros(3, 1)), r"y must have shape \(4, 1\)"),
        (_fader_fit({"attribute_dim": 2}, torch.zeros(4, 3)), r"y must have shape \(4, 2\)"),
        (_fader_fit({}, torch.full((4, 1), 1.5)), r"y must lie in \[-1, 1\]"),
        (_fader_fit({}, torch.full((4, 1), float("nan"))), "y must be finite"),
        (_fader_fit(CAT, torch.tensor([[1.0, 1.0, 0.0]] * 4)), "one-hot"),
        (_fader_fit(CAT, torch.zeros(4, 3)), "one-hot"),
        (lambda: build("fadernet", lambda_max=-0.1), r"lambda_max must be a finite number >= 0"),
        (lambda: build("fadernet", lambda_max=math.inf), "lambda_max must be a finite number"),
        (lambda: build("fadernet", lambda_ramp=0), r"lambda_ramp must be an int >= 1 or None"),
        (lambda: build("fadernet", lambda_ramp=2.5), r"lambda_ramp must be an int >= 1 or None"),
        (lambda: build("fadernet", memory=1), "memory must be an int >= 2"),
        (
            lambda: build("fadernet", discriminator_batch=0),
            "discriminator_batch must be an int >= 1",
        ),
        (lambda: build("fadernet", clip=0.0), "clip must be a finite number > 0"),
        (lambda: build("fadernet", clip=math.nan), "clip must be a finite number > 0"),
        (lambda: build("fadernet", attribute="ordinal"), "attribute must be one of"),
        (lambda: build("fadernet", n_bins=1), "n_bins must be an int >= 2"),
        (lambda: build("fadernet", **{**CAT, "attribute_dim": 1}), "attribute_dim >= 2"),
        (lambda: build("fadernet").relight(torch.rand(2, 3, 16, 16), torch.zeros(3)), "y"),
    ],
)
def test_fadernet_errors(run: Callable[[], Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        run()


@pytest.mark.parametrize("row", [[0.5, 0.5, 0.0], [2.0, -1.0, 0.0]])
def test_fadernet_rejects_soft_categorical_y(row: list[float]) -> None:
    with pytest.raises(ValueError, match="one-hot"):
        _fader_fit(CAT, torch.tensor([row] * 4))()


# -- training ------------------------------------------------------------------------------


def test_autoencoder_training_lowers_the_loss(training: dict[str, FaceSet]) -> None:
    model = build("autoencoder")
    x = training["autoencoder"].images
    before = float(blocks.mse(outputs(model, x)["reconstruct"], x))
    history = train(model, training, 30, log_every=1).history
    assert history.steps == list(range(30))
    losses = history.losses["reconstruction"]
    assert losses[-1] < 0.5 * losses[0]
    assert not model.training  # fit leaves the model in eval mode
    after = float(blocks.mse(outputs(model, x)["reconstruct"], x))
    assert after < 0.5 * before


@pytest.mark.parametrize(
    ("kind", "names"),
    [
        ("autoencoder", {"reconstruction"}),
        ("deepfakes", {"reconstruction_A", "reconstruction_B"}),
        ("multidecoder", {"reconstruction_left", "reconstruction_centre", "reconstruction_right"}),
        ("fadernet", {"reconstruction", "discriminator", "lambda"}),
    ],
)
def test_history_loss_names(kind: str, names: set[str], training: dict[str, FaceSet]) -> None:
    history = train(build(kind), training, 3, log_every=2).history
    assert set(history.losses) == names
    assert history.steps == [0, 2]
    assert all(len(v) == 2 and all(math.isfinite(f) for f in v) for v in history.losses.values())
    assert history.seconds > 0


def test_fadernet_without_adversary_has_no_discriminator_loss(
    training: dict[str, FaceSet],
) -> None:
    model = build("fadernet", lambda_max=0.0)
    before = [p.detach().clone() for p in model.latent_discriminator.parameters()]
    history = train(model, training, 2).history
    assert set(history.losses) == {"reconstruction", "lambda"}
    assert history.losses["lambda"] == [0.0, 0.0]
    after = list(model.latent_discriminator.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, after))


@pytest.mark.parametrize("kind", KINDS)
def test_float64_images_train_as_float32(kind: str, training: dict[str, FaceSet]) -> None:
    """float64 faces are accepted and train exactly as the same faces in float32 do."""
    faces = training[kind]
    y = recipe(kind).target(faces)
    kw = {**FIT, "log_every": 1}
    single = build(kind).fit(faces.images, y, steps=2, **kw)
    double = build(kind).fit(faces.images.double(), y, steps=2, **kw)
    assert double.history.steps == [0, 1]
    losses = double.history.losses
    assert all(math.isfinite(v) for vs in losses.values() for v in vs)
    for name, values in single.history.losses.items():
        assert losses[name] == pytest.approx(values, rel=1e-6, abs=1e-9), name
    for (key, a), b in zip(single.state_dict().items(), double.state_dict().values()):
        assert b.dtype == a.dtype, key  # the weights stay float32
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-7, msg=key)


def test_whiten_gives_every_direction_unit_variance() -> None:
    torch.manual_seed(0)
    basis = torch.linalg.qr(torch.randn(6, 6))[0]
    scales = torch.tensor([10.0, 3.0, 1.0, 0.3, 0.1, 0.03])  # variances 100 .. 1e-3
    z = (torch.randn(5000, 6) * scales) @ basis.T + 4.0
    whiten = Whiten(6, eps=0.0)
    whiten.fit(z)
    out = whiten(z)
    torch.testing.assert_close(out.mean(0), torch.zeros(6), atol=1e-4, rtol=0)
    torch.testing.assert_close(torch.cov(out.T), torch.eye(6), atol=1e-3, rtol=0)
    capped = Whiten(6, eps=1e-3)  # gain capped at (1e-3 * mean variance)^-1/2
    capped.fit(z)
    variances = (capped(z) @ basis).var(0)  # along each of the six directions
    assert float(variances[0]) == pytest.approx(1.0, abs=0.01)  # large ones: whitened
    assert float(variances[-1]) < 0.1  # variance 1e-3 < 1e-3 * 18: not blown up to 1


def test_discriminator_whitens_with_its_memory(training: dict[str, FaceSet]) -> None:
    model = build("fadernet", lambda_ramp=1)
    train(model, training, 3)
    filled = min(int(model.memory_count), model.z_memory.shape[0])
    assert filled == 3 * FIT["batch_size"]
    remembered = model.z_memory[:filled]
    torch.testing.assert_close(model.latent_discriminator[0].mean, remembered.mean(0))


def test_recalibrate_batchnorm_takes_the_exact_statistics(faces: FaceSet) -> None:
    model = build("fadernet")
    norm = model.encoder[1][1]  # the first BatchNorm2d (after the second conv)
    assert isinstance(norm, nn.BatchNorm2d)
    norm.running_mean.fill_(100.0)
    weights = [p.detach().clone() for p in model.parameters()]
    seen: list[torch.Tensor] = []
    hook = norm.register_forward_hook(lambda m, i, o: seen.append(i[0].detach()))
    x, y = faces.images, torch.zeros(len(faces), 1)
    model.eval()
    model.recalibrate_batchnorm(
        lambda a, b: model.decoder(model.encoder(a), b), x, y, batch_size=len(x), batches=1
    )
    hook.remove()
    (h,) = seen  # one batch: every face once
    torch.testing.assert_close(norm.running_mean, h.mean((0, 2, 3)), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(
        norm.running_var, h.transpose(0, 1).flatten(1).var(1), atol=1e-5, rtol=1e-4
    )
    assert norm.momentum == 0.1 and not model.training  # put back as it was
    assert all(torch.equal(a, b) for a, b in zip(weights, model.parameters()))


# -- save / load ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_save_load_round_trip(kind: str, training: dict[str, FaceSet], tmp_path: Path) -> None:
    model = build(kind, latent_dim=12)
    train(model, training, 2)  # BatchNorm statistics differ from their initial values
    path = model.save(tmp_path / f"{kind}.pt")
    assert path.is_file()
    x = training[kind].images[:4]
    expected = outputs(model, x)
    for loaded in (type(model).load(path), SepvizModel.load(path)):
        assert type(loaded) is type(model)
        assert type(loaded.config) is type(model).Config  # the dataclass, not a dict
        assert loaded.config == model.config and loaded.config.latent_dim == 12
        assert loaded.history == model.history  # the file keeps the training History
        assert loaded.history is not model.history
        assert not loaded.training
        state = loaded.state_dict()
        assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
        for name, out in outputs(loaded, x).items():
            assert torch.equal(out, expected[name]), name


def test_save_load_keeps_names_and_fader_options(tmp_path: Path) -> None:
    for model in (
        DeepFakes(image_size=16, latent_dim=8, identities=["C", "A", "E"]),
        MultiDecoder(image_size=16, latent_dim=8, classes=["dark", "bright"]),
        FaderNet(image_size=16, latent_dim=8, attribute="categorical", attribute_dim=4, n_bins=3),
    ):
        loaded = SepvizModel.load(model.save(tmp_path / "m.pt"))
        assert loaded.config == model.config
        assert loaded.config.as_dict() == model.config.as_dict()
        assert loaded.history is None  # never trained: no History saved
    assert loaded.attribute == "categorical" and loaded.n_classes == 4


def test_load_as_the_wrong_class_or_not_a_model(tmp_path: Path) -> None:
    path = build("deepfakes").save(tmp_path / "df.pt")
    with pytest.raises(ValueError, match="holds a DeepFakes, not a FaderNet"):
        FaderNet.load(path)
    torch.save({"weights": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a sepviz model file"):
        AutoEncoder.load(tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a sepviz model file"):
        SepvizModel.load(tmp_path / "other.pt")
    with pytest.raises(FileNotFoundError):
        AutoEncoder.load(tmp_path / "missing.pt")


@pytest.mark.parametrize("name", ["GAN", "SepvizModel"])
def test_load_names_an_unknown_class(name: str, tmp_path: Path) -> None:
    path = build("autoencoder").save(tmp_path / "m.pt")
    state = torch.load(path, weights_only=True)
    torch.save({**state, "class": name}, path)
    for loader in (SepvizModel, AutoEncoder):
        with pytest.raises(ValueError, match=rf"names the class '{name}', which is not a sepviz"):
            loader.load(path)


def test_load_a_training_checkpoint(training: dict[str, FaceSet], tmp_path: Path) -> None:
    model = train(build("autoencoder"), training, 2, checkpoint_dir=tmp_path)
    loaded = AutoEncoder.load(tmp_path / "last.pt")
    assert loaded.config == model.config
    x = training["autoencoder"].images[:3]
    assert torch.equal(outputs(loaded, x)["reconstruct"], outputs(model, x)["reconstruct"])


def test_sepvizmodel_load_a_training_checkpoint(
    training: dict[str, FaceSet], tmp_path: Path
) -> None:
    train(build("autoencoder"), training, 1, checkpoint_dir=tmp_path)
    assert type(SepvizModel.load(tmp_path / "last.pt")) is AutoEncoder


def test_load_a_deepfakes_checkpoint_as_fadernet(
    training: dict[str, FaceSet], tmp_path: Path
) -> None:
    train(build("deepfakes"), training, 1, checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match="holds a DeepFakes, not a FaderNet"):
        FaderNet.load(tmp_path / "last.pt")


@pytest.mark.parametrize("content", ["tensor", "text"])
def test_load_non_dict_file_is_a_value_error(content: str, tmp_path: Path) -> None:
    path = tmp_path / "file.pt"
    if content == "tensor":
        torch.save(torch.zeros(3), path)
    else:
        path.write_text("hello")
    with pytest.raises(ValueError):
        AutoEncoder.load(path)


# -- resume --------------------------------------------------------------------------------


def _assert_same_state(a: nn.Module, b: nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


@pytest.mark.parametrize("kind", ["autoencoder", "deepfakes"])
def test_resume_matches_an_uninterrupted_run(
    kind: str, training: dict[str, FaceSet], tmp_path: Path
) -> None:
    kw = {"checkpoint_every": 10, "log_every": 1, "batch_size": 4, "seed": 3}
    full = build(kind)
    history = train(full, training, 20, checkpoint_dir=tmp_path / "full", **kw).history

    part = build(kind)
    train(part, training, 10, checkpoint_dir=tmp_path / "part", **kw)
    assert torch.load(tmp_path / "part" / "last.pt", weights_only=True)["step"] == 10
    resumed = build(kind)  # the same seed: the same initial weights
    history2 = train(
        resumed, training, 20, checkpoint_dir=tmp_path / "part", resume=True, **kw
    ).history

    _assert_same_state(full, resumed)
    assert history2.steps == history.steps == list(range(20))
    assert history2.losses == history.losses
    # and the checkpoints both runs end with hold the same weights
    a = torch.load(tmp_path / "full" / "last.pt", weights_only=True)
    b = torch.load(tmp_path / "part" / "last.pt", weights_only=True)
    assert a["step"] == b["step"] == 20
    assert all(torch.equal(a["model"][k], v) for k, v in b["model"].items())


class Interrupt(Exception):
    pass


@pytest.mark.parametrize("kind", ["autoencoder", "deepfakes", "fadernet"])
def test_resume_after_a_crash(kind: str, training: dict[str, FaceSet], tmp_path: Path) -> None:
    """A run killed at step 13 (checkpoint at 10) and resumed ends as the uninterrupted run."""
    kw = {"checkpoint_every": 10, "log_every": 1, "batch_size": 4, "seed": 1}
    full = build(kind)
    history = train(full, training, 20, **kw).history

    def crash(_model: SepvizModel, step: int, _losses: dict[str, float]) -> None:
        if step == 13:
            raise Interrupt

    with pytest.raises(Interrupt):
        train(build(kind), training, 20, checkpoint_dir=tmp_path, callbacks=[crash], **kw)
    resumed = build(kind)
    history2 = train(resumed, training, 20, checkpoint_dir=tmp_path, resume=True, **kw).history
    _assert_same_state(full, resumed)
    assert history2.losses == history.losses


def test_resume_refuses_another_lambda(training: dict[str, FaceSet], tmp_path: Path) -> None:
    """lambda_max is in the config saved with the checkpoint: another one cannot resume it."""
    kw = {"checkpoint_every": 2, "batch_size": 4, "seed": 1, "checkpoint_dir": tmp_path}
    train(build("fadernet", lambda_max=0.1), training, 2, **kw)
    with pytest.raises(
        ValueError, match=r"saved with lambda_max=0\.1, this run has lambda_max=0\.2"
    ):
        train(build("fadernet", lambda_max=0.2), training, 4, resume=True, **kw)
    with pytest.raises(
        ValueError, match=r"saved with lambda_ramp=None, this run has lambda_ramp=1"
    ):
        train(build("fadernet", lambda_ramp=1), training, 4, resume=True, **kw)
    resumed = train(build("fadernet", lambda_max=0.1), training, 4, resume=True, **kw)
    assert resumed.lambda_ramp == 1  # the ramp of the run it continues (2 steps // 2)
    assert resumed.history.steps[-1] == 3


def test_cosine_schedule_falls_to_zero_and_resumes_where_it_stopped(
    training: dict[str, FaceSet], tmp_path: Path
) -> None:
    kw = {"checkpoint_every": 10, "log_every": 1, "batch_size": 4, "seed": 2}
    full = build("autoencoder")
    optimizers: dict[str, torch.optim.Optimizer] = {}
    make = full.configure_optimizers

    def remembered() -> dict[str, torch.optim.Optimizer]:  # the ones fit makes, to read
        optimizers.update(make())
        return optimizers

    full.configure_optimizers = remembered  # type: ignore[method-assign]
    rates: list[float] = []

    def record(_model: SepvizModel, _step: int, _losses: dict[str, float]) -> None:
        rates.append(optimizers["ae"].param_groups[0]["lr"])

    train(full, training, 20, schedule="cosine", callbacks=[record], **kw)
    lr = full.config.lr
    assert rates[0] == pytest.approx(lr) and rates[10] == pytest.approx(lr / 2)
    assert rates[-1] == pytest.approx(lr * (1 - math.cos(math.pi / 20)) / 2)
    assert all(a > b for a, b in zip(rates, rates[1:]))

    def crash(_model: SepvizModel, step: int, _losses: dict[str, float]) -> None:
        if step == 13:
            raise Interrupt

    with pytest.raises(Interrupt):
        train(
            build("autoencoder"),
            training,
            20,
            checkpoint_dir=tmp_path,
            callbacks=[crash],
            schedule="cosine",
            **kw,
        )
    resumed = build("autoencoder")
    train(resumed, training, 20, checkpoint_dir=tmp_path, resume=True, schedule="cosine", **kw)
    _assert_same_state(full, resumed)
    constant = build("autoencoder")
    train(constant, training, 20, **kw)
    assert not torch.equal(
        constant.state_dict()["encoder.0.0.weight"], full.state_dict()["encoder.0.0.weight"]
    )
    with pytest.raises(
        ValueError, match=r"schedule must be one of \('constant', 'cosine'\), got 'linear'"
    ):
        train(build("autoencoder"), training, 2, schedule="linear")


def test_resume_without_checkpoint_starts_from_scratch(
    training: dict[str, FaceSet], tmp_path: Path
) -> None:
    a, b = build("autoencoder"), build("autoencoder")
    train(a, training, 3)
    train(b, training, 3, checkpoint_dir=tmp_path, resume=True)
    _assert_same_state(a, b)
    assert (tmp_path / "last.pt").is_file()


# -- input checks --------------------------------------------------------------------------

BAD_IMAGES = ["size", "channels", "int", "range", "empty", "numpy"]


def _bad_images(which: str) -> tuple[Any, str]:
    x = make_faces(4, size=16, seed=5).images
    return {
        "size": (make_faces(4, size=32, seed=5).images, "must be 16x16"),
        "channels": (x[:, :1], r"shape \(N, 3, H, W\)"),
        "int": ((x * 255).to(torch.uint8), "float tensor"),
        "range": (x * 2 - 0.5, r"must lie in \[0, 1\]"),
        "empty": (x[:0], "empty"),
        "numpy": (x.numpy(), "torch.Tensor"),
    }[which]


@pytest.mark.parametrize("bad", BAD_IMAGES)
@pytest.mark.parametrize("kind", KINDS)
def test_bad_images_to_fit_are_value_errors(kind: str, bad: str) -> None:
    x, match = _bad_images(bad)
    y = target(kind, 4)
    y = y[: len(x)] if y is not None else None
    with pytest.raises(ValueError, match=match) as info:
        build(kind).fit(x, y, steps=1, **FIT)
    assert str(info.value).startswith("x "), info.value  # the message names the argument


DECODE_CALLS: dict[str, Callable[[Any], Any]] = {
    "deepfakes.swap": lambda x: build("deepfakes").swap(x, "A"),
    "multidecoder.swap": lambda x: build("multidecoder").swap(x, "left"),
    "fadernet.relight": lambda x: build("fadernet").eval().relight(x, 0.0),
}


@pytest.mark.parametrize("bad", BAD_IMAGES)
@pytest.mark.parametrize("call", list(DECODE_CALLS))
def test_bad_images_to_swap_and_relight_are_value_errors(call: str, bad: str) -> None:
    x, match = _bad_images(bad)
    with pytest.raises(ValueError, match=match):
        DECODE_CALLS[call](x)


def test_bad_images_messages_name_the_identity() -> None:
    x, _ = _bad_images("range")
    good = make_faces(4, size=16, seed=5).images
    with pytest.raises(ValueError, match=r"images\['B'\] must lie in \[0, 1\]"):
        build("deepfakes").fit({"A": good, "B": x}, steps=1, **FIT)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"steps": -1}, "steps must be an int >= 0"),
        ({"steps": 1, "batch_size": 0}, "batch_size must be an int >= 2"),
        ({"steps": 1, "log_every": 0}, "log_every must be an int >= 1"),
        ({"steps": 2.5}, "steps must be an int >= 0, got 2.5"),
        ({"steps": 1, "checkpoint_every": 0}, "checkpoint_every must be an int >= 1, got 0"),
        ({"steps": 1, "seed": None}, "seed must be an int >= 0, got None"),
        ({"steps": 1, "resume": True}, "resume=True needs checkpoint_dir"),
    ],
)
def test_fit_argument_errors(kw: dict[str, Any], match: str, faces: FaceSet) -> None:
    with pytest.raises(ValueError, match=match):
        build("autoencoder").fit(faces.images, progress=False, device="cpu", **kw)


# -- NaN -----------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_loss_names_the_step(bad: float, faces: FaceSet, tmp_path: Path) -> None:
    model = build("autoencoder")
    calls: list[int] = []

    def step(_batch: Any, step: int, _optimize: Any) -> dict[str, torch.Tensor]:
        calls.append(step)
        return {"x": torch.tensor(bad if step == 3 else 1.0)}

    model.training_step = step  # type: ignore[method-assign]
    with pytest.raises(FloatingPointError, match=r"non-finite at step 3: \{'x'"):
        model.fit(faces.images, steps=10, checkpoint_dir=tmp_path, checkpoint_every=2, **FIT)
    assert calls == [0, 1, 2, 3]
    assert model.history is None  # the failed fit set no history
    # the last good checkpoint (after step 2) is still there, the bad step never saved
    assert torch.load(tmp_path / "last.pt", weights_only=True)["step"] == 2


def test_real_nan_from_a_huge_learning_rate(training: dict[str, FaceSet]) -> None:
    model = build("autoencoder", lr=1e30)
    with pytest.raises(FloatingPointError, match=r"at step \d+"):
        train(model, training, 30)


# -- review of the new API: labels, configs and files that are not what they claim ---------
@pytest.mark.parametrize("kind", ["deepfakes", "multidecoder"])
def test_fit_without_labels_names_y_and_the_decoders(kind: str, faces: FaceSet) -> None:
    model = build(kind)
    with pytest.raises(ValueError, match=r"y must hold one label per image, got None"):
        model.fit(faces.images, steps=1, **FIT)


def test_swap_takes_integer_like_labels_and_refuses_floats() -> None:
    model = build("deepfakes").eval()
    x = make_faces(3, size=16, seed=2).images
    torch.testing.assert_close(model.swap(x, np.int64(1)), model.swap(x, "B"))
    torch.testing.assert_close(model.swap(x, torch.tensor(0)), model.swap(x, "A"))
    for bad in (torch.tensor(1.7), 1.0, True):
        with pytest.raises(ValueError, match=r"to=.* is not a decoder of this model"):
            model.swap(x, bad)


def test_labels_as_a_numpy_array_of_names() -> None:
    model = build("deepfakes")
    labels = model.label_indices(np.array(["B", "A", "B"]), 3)
    assert labels.tolist() == [1, 0, 1]
    with pytest.raises(ValueError, match=r"y holds unknown names \['C'\]"):
        model.label_indices(["A", "C", "B"], 3)
    with pytest.raises(ValueError, match="y mixes names and indices"):
        model.label_indices(["A", "B", 0], 3)


def test_a_config_of_another_model_is_refused() -> None:
    from sepviz.models import AutoEncoder, DeepFakesConfig

    with pytest.raises(TypeError, match="config must be a ModelConfig, got DeepFakesConfig"):
        AutoEncoder(DeepFakesConfig())


@pytest.mark.parametrize("name", ["ModelConfig", "DeepFakesConfig"])
def test_load_refuses_a_file_naming_a_config_class(name: str, tmp_path: Path) -> None:
    from sepviz.models.base import SepvizModel

    path = build("autoencoder").save(tmp_path / "m.pt")
    state = torch.load(path, weights_only=True)
    state["class"] = name
    torch.save(state, path)
    with pytest.raises(ValueError, match=f"names the class '{name}', which is not a sepviz"):
        SepvizModel.load(path)
