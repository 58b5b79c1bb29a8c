"""sepviz.models: shapes, the probes contract, FaderNet's attribute, training, save / load,
resume, input checks and NaN detection, on tiny models (16 x 16 faces, a few steps, CPU).

"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from sepviz.data import FaceSet
from sepviz.data.synthetic import make_faces
from sepviz.models import AutoEncoder, DeepFakes, FaderNet, MultiDecoder, SepvizModel, blocks
from sepviz.models.fadernet import Whiten
from sepviz.probes import decoder_swap_grid, layer_activations, layer_swap_grid, relight_grid

KINDS = ("autoencoder", "deepfakes", "multidecoder", "fadernet")
LATENT = 16
N_FACES = 24
FIT = {"progress": False, "device": "cpu", "batch_size": 8}

# -- helpers -------------------------------------------------------------------------------


def make_model(kind: str, size: int = 16, seed: int = 0, **kw: Any) -> SepvizModel:
    """A tiny model of ``kind``, its weights drawn from ``torch.manual_seed(seed)``."""
    torch.manual_seed(seed)
    kw.setdefault("latent_dim", LATENT)
    if kind == "autoencoder":
        return AutoEncoder(image_size=size, **kw)
    if kind == "deepfakes":
        return DeepFakes(image_size=size, **kw)
    if kind == "multidecoder":
        return MultiDecoder(image_size=size, **kw)
    if kind == "fadernet":
        return FaderNet(image_size=size, **kw)
    raise AssertionError(kind)


def light_y(faces: FaceSet) -> torch.Tensor:
    """FaderNet's continuous attribute: the azimuth scaled to [-1, 1], shape (N, 1)."""
    return (faces.factors["azimuth"] / 60).clamp(-1, 1)[:, None]


def class_labels(n: int, n_classes: int = 3) -> torch.Tensor:
    return torch.arange(n) % n_classes


def train(model: SepvizModel, faces: FaceSet, steps: int, **kw: Any) -> Any:
    """``model.fit`` on ``faces`` with the arguments each kind of model needs."""
    x = faces.images
    kw = {**FIT, **kw}
    if isinstance(model, AutoEncoder):
        return model.fit(x, steps=steps, **kw)
    if isinstance(model, DeepFakes):
        person = faces.factors["identity"]
        return model.fit({"A": x[person == 0], "B": x[person == 1]}, steps=steps, **kw)
    if isinstance(model, MultiDecoder):
        return model.fit(x, class_labels(len(x), len(model.classes)), steps=steps, **kw)
    if isinstance(model, FaderNet):
        kw.setdefault("lambda_max", 0.1)
        return model.fit(x, light_y(faces), steps=steps, **kw)
    raise AssertionError(type(model))


def outputs(model: SepvizModel, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Every image-valued output of ``model`` on ``x`` (eval mode, no grad)."""
    model.eval()
    n = x.shape[0]
    with torch.no_grad():
        z = model.encode(x)
        if isinstance(model, AutoEncoder):
            return {"decode": model.decode(z), "reconstruct": model.reconstruct(x)}
        if isinstance(model, DeepFakes):
            return {"decode": model.decode(z, "A"), "swap": model.swap(x, "B")}
        if isinstance(model, MultiDecoder):
            return {"decode": model.decode(z, "left"), "relight": model.relight(x, "right")}
        if isinstance(model, FaderNet):
            return {
                "decode": model.decode(z, torch.full((n, 1), 0.5)),
                "reconstruct": model.reconstruct(x),
                "relight": model.relight(x, -0.5),
            }
    raise AssertionError(type(model))


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


# -- blocks and shapes ---------------------------------------------------------------------


def test_channels() -> None:
    assert blocks.channels(16) == [32, 64]
    assert blocks.channels(32) == [32, 64, 128]
    assert blocks.channels(64) == [32, 64, 128, 256]
    assert blocks.channels(128) == [32, 64, 128, 256, 256]  # capped at MAX_CHANNELS


@pytest.mark.parametrize("size", [16, 32, 64])
@pytest.mark.parametrize("kind", KINDS)
def test_shapes_and_range(kind: str, size: int) -> None:
    model = make_model(kind, size)
    x = make_faces(3, size=size, seed=1).images
    with torch.no_grad():
        z = model.eval().encode(x)
    assert z.shape == (3, LATENT)
    outs = outputs(model, x)
    for name, out in outs.items():
        assert out.shape == (3, 3, size, size), name
        assert out.dtype == torch.float32, name
        assert 0.0 <= float(out.min()) and float(out.max()) <= 1.0, name
    assert len(model.encoder if hasattr(model, "encoder") else model.shared_encoder) == (
        int(math.log2(size)) - 1
    )


def test_fadernet_standardized_latent(faces: FaceSet) -> None:
    model = make_model("fadernet").train()
    z = model.encode(faces.images)
    # a BatchNorm without affine parameters: each unit has mean 0, variance 1 on the batch
    torch.testing.assert_close(z.mean(0), torch.zeros(LATENT), atol=1e-5, rtol=0)
    torch.testing.assert_close(z.var(0, unbiased=False), torch.ones(LATENT), atol=1e-2, rtol=0)


# -- probes contract -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_probe_layers_and_layer_activations(kind: str, faces: FaceSet) -> None:
    model = make_model(kind).eval()
    x = faces.images[:6]
    n_blocks = int(math.log2(16)) - 1  # 2 conv blocks + the linear map; its mirror image
    names = [f"enc{i}" for i in range(1, n_blocks + 1)] + [f"dec{i}" for i in range(1, 4)]
    assert list(model.probe_layers()) == names
    acts = layer_activations(model, x)
    assert list(acts) == names
    assert all(a.shape[0] == 6 and a.dtype == torch.float32 for a in acts.values())
    with torch.no_grad():
        z = model.encode(x)
        if isinstance(model, (DeepFakes, MultiDecoder)):
            out = model.decode(z, model.names[0])  # the default: the first decoder
        else:
            out = model.reconstruct(x)
    # the last encoder block gives z, the last decoder block the image (3*16*16 = 768 <= 2048)
    torch.testing.assert_close(acts[f"enc{n_blocks}"], z)
    torch.testing.assert_close(acts["dec3"], out.flatten(1))
    assert acts["enc1"].shape == (6, 32 * 8 * 8)  # 2048 features: not pooled (<= max_features)
    pooled = layer_activations(model, x, max_features=1000)
    assert pooled["enc1"].shape == (6, 32 * 2 * 2)  # pooled to a 2 x 2 grid


@pytest.mark.parametrize("kind", ["deepfakes", "multidecoder"])
def test_probe_layers_of_another_decoder(kind: str, faces: FaceSet) -> None:
    model = make_model(kind).eval()
    last = model.names[-1]
    layers = model.probe_layers(decoder=last)
    assert layers["dec1"] is model.decoders[last][0]
    assert layers["enc1"] is model.shared_encoder[0]
    acts = layer_activations(model, faces.images[:4], decoder=last)
    with torch.no_grad():
        expected = model.decode(model.encode(faces.images[:4]), last)
    torch.testing.assert_close(acts["dec3"], expected.flatten(1))
    with pytest.raises(ValueError, match="decoder='Z' is not a decoder"):
        model.probe_layers(decoder="Z")


@pytest.mark.parametrize("kind", ["deepfakes", "multidecoder"])
def test_decoder_swap_grid_columns_are_decoders(kind: str, faces: FaceSet) -> None:
    model = make_model(kind).eval()
    x = faces.images[:5]
    grid = decoder_swap_grid(model, x)
    names = model.names
    assert grid.shape == (5, len(names), 3, 16, 16)
    with torch.no_grad():
        z = model.encode(x)
        for k, name in enumerate(names):
            torch.testing.assert_close(grid[:, k], model.decode(z, name))
    swap = model.swap if isinstance(model, DeepFakes) else model.relight
    torch.testing.assert_close(grid[:, -1], swap(x, names[-1]))
    # the decoders differ (independent initialisations), so the columns do
    assert (grid[:, 0] - grid[:, 1]).abs().max() > 1e-3


@pytest.mark.parametrize("kind", ["deepfakes", "multidecoder"])
def test_layer_swap_grid_ends_are_the_plain_decoders(kind: str, faces: FaceSet) -> None:
    model = make_model(kind).eval()
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


def test_relight_grid_on_fadernet(faces: FaceSet) -> None:
    model = make_model("fadernet", attribute_dim=2).eval()
    x = faces.images[:3]
    values = [-1.0, 0.0, 0.5, 1.0]
    grid = relight_grid(model, x, values, attribute_index=1)
    assert grid.shape == (3, len(values), 3, 16, 16)
    with torch.no_grad():
        for j, v in enumerate(values):
            torch.testing.assert_close(grid[:, j], model.relight(x, torch.tensor([0.0, v])))
    assert (grid[:, 0] - grid[:, -1]).abs().max() > 1e-4
    assert model.training is False


# -- FaderNet ------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [16, 32])
def test_fadernet_decoder_blocks_take_the_attribute(size: int) -> None:
    attribute_dim = 2
    model = make_model("fadernet", size, attribute_dim=attribute_dim)
    dec = model.decoder.blocks
    ch = blocks.channels(size)[::-1]
    assert dec[0][0].in_features == LATENT + attribute_dim
    assert [dec[k][0].in_channels for k in range(1, len(dec))] == [c + attribute_dim for c in ch]


def test_fadernet_every_decoder_block_receives_y(faces: FaceSet) -> None:
    model = make_model("fadernet", attribute_dim=2).eval()
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
    model = make_model("fadernet").eval()
    x = faces.images[:4]
    with torch.no_grad():
        lo, mid, hi = model.relight(x, -1.0), model.relight(x, 0.0), model.relight(x, 1.0)
        torch.testing.assert_close(mid, model.reconstruct(x))  # y defaults to 0
        torch.testing.assert_close(hi, model.relight(x, torch.ones(4, 1)))
    assert (lo - hi).abs().max() > 1e-4


def test_lambda_ramps_linearly_then_stays() -> None:
    model = make_model("fadernet")
    assert model.lambda_at(100) == 0.0  # untrained: no adversary
    model.lambda_max, model.lambda_ramp = 0.2, 10
    values = [model.lambda_at(s) for s in range(0, 31)]
    assert values[0] == 0.0
    assert values[5] == pytest.approx(0.1)
    assert values[10] == pytest.approx(0.2)
    assert all(v == pytest.approx(0.2) for v in values[10:])
    diffs = [b - a for a, b in zip(values[:10], values[1:11])]
    assert diffs == pytest.approx([0.02] * 10)


def test_fit_sets_the_lambda_schedule(faces: FaceSet) -> None:
    model = make_model("fadernet")
    history = train(model, faces, 4, lambda_max=0.3, lambda_ramp=2, log_every=1, batch_size=4)
    assert history.losses["lambda"] == pytest.approx([0.0, 0.15, 0.3, 0.3])
    assert (model.lambda_max, model.lambda_ramp) == (0.3, 2)
    train(model, faces, 4, lambda_max=0.3, batch_size=4)  # default ramp: steps // 2
    assert model.lambda_ramp == 2


def test_attribute_classes_continuous() -> None:
    model = make_model("fadernet", n_bins=4)
    y = torch.tensor([-1.0, -0.6, -0.5, -0.01, 0.0, 0.49, 0.5, 0.99, 1.0])[:, None]
    classes = model.attribute_classes(y)
    assert classes.dtype == torch.int64 and classes.shape == (9, 1)
    assert classes[:, 0].tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 3]
    model8 = make_model("fadernet", n_bins=8, attribute_dim=2)
    y2 = torch.tensor([[-1.0, 1.0], [0.0, -0.2]])
    assert model8.attribute_classes(y2).tolist() == [[0, 7], [4, 3]]


def test_attribute_classes_categorical() -> None:
    model = make_model("fadernet", attribute="categorical", attribute_dim=3)
    y = torch.eye(3)[torch.tensor([2, 0, 1, 1])]
    assert model.attribute_classes(y).tolist() == [[2], [0], [1], [1]]
    assert model.latent_discriminator[-1].out_features == 3


@pytest.mark.parametrize("adversary", ["confusion", "flip"])
def test_categorical_fadernet_trains(adversary: str, faces: FaceSet) -> None:
    model = make_model("fadernet", attribute="categorical", attribute_dim=3, adversary=adversary)
    y = torch.eye(3)[class_labels(N_FACES)]
    history = model.fit(faces.images, y, steps=3, lambda_max=0.1, lambda_ramp=1, log_every=1, **FIT)
    assert set(history.losses) == {"reconstruction", "discriminator", "lambda"}
    assert history.losses["lambda"] == pytest.approx([0.0, 0.1, 0.1])
    assert all(math.isfinite(v) for vs in history.losses.values() for v in vs)
    assert history.losses["discriminator"][0] > 0
    with torch.no_grad():
        out = model.relight(faces.images[:2], torch.eye(3)[[0, 2]])
    assert out.shape == (2, 3, 16, 16)


def _fader_fit(kind_kw: dict[str, Any], y: torch.Tensor, **fit_kw: Any) -> Callable[[], Any]:
    def run() -> Any:
        model = make_model("fadernet", **kind_kw)
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
        (_fader_fit({}, torch.zeros(4, 1), lambda_max=-0.1), "lambda_max must be >= 0"),
        (lambda: make_model("fadernet", attribute="ordinal"), "attribute must be one of"),
        (lambda: make_model("fadernet", n_bins=1), "n_bins must be >= 2"),
        (lambda: make_model("fadernet", **{**CAT, "attribute_dim": 1}), "attribute_dim >= 2"),
        (lambda: make_model("fadernet").relight(torch.rand(2, 3, 16, 16), torch.zeros(3)), "y"),
    ],
)
def test_fadernet_errors(run: Callable[[], Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        run()


@pytest.mark.parametrize("row", [[0.5, 0.5, 0.0], [2.0, -1.0, 0.0]])
def test_fadernet_rejects_soft_categorical_y(row: list[float]) -> None:
    with pytest.raises(ValueError, match="one-hot"):
        _fader_fit(CAT, torch.tensor([row] * 4))()


def test_fadernet_rejects_unknown_adversary() -> None:
    with pytest.raises(ValueError, match="adversary"):
        make_model("fadernet", adversary="bogus")


def test_fadernet_discriminator_steps_zero() -> None:
    with pytest.raises(ValueError, match="discriminator_steps"):
        _fader_fit({"discriminator_steps": 0}, torch.zeros(4, 1), lambda_max=0.1)()


# -- training ------------------------------------------------------------------------------


def test_autoencoder_training_lowers_the_loss(faces: FaceSet) -> None:
    model = make_model("autoencoder")
    x = faces.images
    before = float(blocks.mse(outputs(model, x)["reconstruct"], x))
    history = train(model, faces, 30, log_every=1)
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
def test_history_loss_names(kind: str, names: set[str], faces: FaceSet) -> None:
    model = make_model(kind)
    history = train(model, faces, 3, log_every=2)
    assert set(history.losses) == names
    assert history.steps == [0, 2]
    assert all(len(v) == 2 and all(math.isfinite(f) for f in v) for v in history.losses.values())
    assert history.seconds > 0


def test_fadernet_without_adversary_has_no_discriminator_loss(faces: FaceSet) -> None:
    model = make_model("fadernet")
    before = [p.detach().clone() for p in model.latent_discriminator.parameters()]
    history = train(model, faces, 2, lambda_max=0.0)
    assert set(history.losses) == {"reconstruction", "lambda"}
    assert history.losses["lambda"] == [0.0, 0.0]
    after = list(model.latent_discriminator.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, after))


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


def test_discriminator_whitens_with_its_memory(faces: FaceSet) -> None:
    model = make_model("fadernet")
    train(model, faces, 3, lambda_max=0.1, lambda_ramp=1)
    filled = min(int(model.memory_count), model.z_memory.shape[0])
    assert filled == 3 * FIT["batch_size"]
    remembered = model.z_memory[:filled]
    torch.testing.assert_close(model.latent_discriminator[0].mean, remembered.mean(0))


def test_recalibrate_batchnorm_takes_the_exact_statistics(faces: FaceSet) -> None:
    model = make_model("fadernet")
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
def test_save_load_round_trip(kind: str, faces: FaceSet, tmp_path: Path) -> None:
    model = make_model(kind)
    train(model, faces, 2)  # BatchNorm statistics differ from their initial values
    path = model.save(tmp_path / f"{kind}.pt")
    assert path.is_file()
    x = faces.images[:4]
    expected = outputs(model, x)
    for loaded in (type(model).load(path), SepvizModel.load(path)):
        assert type(loaded) is type(model)
        assert loaded.config == model.config
        assert not loaded.training
        state = loaded.state_dict()
        assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
        for name, out in outputs(loaded, x).items():
            assert torch.equal(out, expected[name]), name


def test_load_as_the_wrong_class_or_not_a_model(faces: FaceSet, tmp_path: Path) -> None:
    path = make_model("deepfakes").save(tmp_path / "df.pt")
    with pytest.raises(ValueError, match="holds a DeepFakes, not a FaderNet"):
        FaderNet.load(path)
    torch.save({"weights": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a sepviz model file"):
        AutoEncoder.load(tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a sepviz model file"):
        SepvizModel.load(tmp_path / "other.pt")
    with pytest.raises(FileNotFoundError):
        AutoEncoder.load(tmp_path / "missing.pt")


def test_load_a_training_checkpoint(faces: FaceSet, tmp_path: Path) -> None:
    model = make_model("autoencoder")
    train(model, faces, 2, checkpoint_dir=tmp_path)
    loaded = AutoEncoder.load(tmp_path / "last.pt")
    x = faces.images[:3]
    assert torch.equal(outputs(loaded, x)["reconstruct"], outputs(model, x)["reconstruct"])


def test_sepvizmodel_load_a_training_checkpoint(faces: FaceSet, tmp_path: Path) -> None:
    train(make_model("autoencoder"), faces, 1, checkpoint_dir=tmp_path)
    assert type(SepvizModel.load(tmp_path / "last.pt")) is AutoEncoder


def test_load_a_deepfakes_checkpoint_as_fadernet(faces: FaceSet, tmp_path: Path) -> None:
    train(make_model("deepfakes"), faces, 1, checkpoint_dir=tmp_path)
    with pytest.raises(ValueError):
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


def test_sepvizmodel_load_class_not_imported_yet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = make_model("fadernet").save(tmp_path / "f.pt")
    # what a fresh process sees after `from sepviz.models import SepvizModel`
    monkeypatch.delitem(SepvizModel.registry, "FaderNet")
    assert type(SepvizModel.load(path)).__name__ == "FaderNet"


# -- resume --------------------------------------------------------------------------------


def _assert_same_state(a: nn.Module, b: nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


@pytest.mark.parametrize("kind", ["autoencoder", "deepfakes"])
def test_resume_matches_an_uninterrupted_run(kind: str, faces: FaceSet, tmp_path: Path) -> None:
    kw = {"checkpoint_every": 10, "log_every": 1, "batch_size": 4, "seed": 3}
    full = make_model(kind)
    history = train(full, faces, 20, checkpoint_dir=tmp_path / "full", **kw)

    part = make_model(kind)
    train(part, faces, 10, checkpoint_dir=tmp_path / "part", **kw)
    assert torch.load(tmp_path / "part" / "last.pt", weights_only=True)["step"] == 10
    resumed = make_model(kind)  # the same seed: the same initial weights
    history2 = train(resumed, faces, 20, checkpoint_dir=tmp_path / "part", resume=True, **kw)

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
def test_resume_after_a_crash(kind: str, faces: FaceSet, tmp_path: Path) -> None:
    """A run killed at step 13 (checkpoint at 10) and resumed ends as the uninterrupted run."""
    kw = {"checkpoint_every": 10, "log_every": 1, "batch_size": 4, "seed": 1}
    full = make_model(kind)
    history = train(full, faces, 20, **kw)

    def crash(_model: SepvizModel, step: int, _losses: dict[str, float]) -> None:
        if step == 13:
            raise Interrupt

    with pytest.raises(Interrupt):
        train(make_model(kind), faces, 20, checkpoint_dir=tmp_path, callbacks=[crash], **kw)
    resumed = make_model(kind)
    history2 = train(resumed, faces, 20, checkpoint_dir=tmp_path, resume=True, **kw)
    _assert_same_state(full, resumed)
    assert history2.losses == history.losses


def test_resume_without_checkpoint_starts_from_scratch(faces: FaceSet, tmp_path: Path) -> None:
    a, b = make_model("autoencoder"), make_model("autoencoder")
    train(a, faces, 3)
    train(b, faces, 3, checkpoint_dir=tmp_path, resume=True)
    _assert_same_state(a, b)
    assert (tmp_path / "last.pt").is_file()


# -- input checks --------------------------------------------------------------------------


def _bad_images(which: str) -> tuple[torch.Tensor, str]:
    x = make_faces(4, size=16, seed=5).images
    return {
        "size": (make_faces(4, size=32, seed=5).images, "must be 16x16"),
        "channels": (x[:, :1], r"shape \(N, 3, H, W\)"),
        "int": ((x * 255).to(torch.uint8), "float tensor"),
        "range": (x * 2 - 0.5, r"must lie in \[0, 1\]"),
        "empty": (x[:0], "empty|no images"),
        "numpy": (x.numpy(), "torch.Tensor"),
    }[which]


def _call_with(kind: str, x: Any) -> None:
    n = len(x)
    if kind == "autoencoder":
        make_model(kind).fit(x, steps=1, **FIT)
    elif kind == "deepfakes":
        make_model(kind).fit({"A": make_faces(4, size=16).images, "B": x}, steps=1, **FIT)
    elif kind == "multidecoder":
        make_model(kind).fit(x, class_labels(n), steps=1, **FIT)
    elif kind == "fadernet":
        make_model(kind).fit(x, torch.zeros(n, 1), steps=1, **FIT)
    elif kind == "swap":
        make_model("deepfakes").swap(x, "A")
    elif kind == "relight_md":
        make_model("multidecoder").relight(x, "left")
    elif kind == "relight_fader":
        make_model("fadernet").eval().relight(x, 0.0)
    else:
        raise AssertionError(kind)


@pytest.mark.parametrize("bad", ["size", "channels", "int", "range", "empty", "numpy"])
@pytest.mark.parametrize("kind", [*KINDS, "swap"])
def test_bad_images_are_value_errors(kind: str, bad: str) -> None:
    x, match = _bad_images(bad)
    if kind == "multidecoder" and bad == "empty":
        match = "labels must|empty|no images"
    with pytest.raises(ValueError, match=match):
        _call_with(kind, x)


@pytest.mark.parametrize("bad", ["size", "channels", "int", "range"])
@pytest.mark.parametrize("kind", ["relight_md", "relight_fader"])
def test_bad_images_to_relight_are_value_errors(kind: str, bad: str) -> None:
    x, match = _bad_images(bad)
    with pytest.raises(ValueError, match=match):
        _call_with(kind, x)


def test_bad_images_messages_name_the_identity() -> None:
    x, _ = _bad_images("range")
    with pytest.raises(ValueError, match=r"images\['B'\] must lie in \[0, 1\]"):
        _call_with("deepfakes", x)


@pytest.mark.parametrize(
    "kind",
    [
        "autoencoder",
        "fadernet",
        "deepfakes",
        "multidecoder",
    ],
)
def test_float64_images_train(kind: str) -> None:
    x = make_faces(6, size=16, identities=["A", "B"], seed=4).images.double()
    _call_with(kind, x)


@pytest.mark.parametrize(
    ("images", "match"),
    [
        ({"A": "x"}, r"missing \['B'\]"),
        ({"A": "x", "B": "x", "C": "x"}, r"unknown \['C'\]"),
        ({"A": "x", "B": "empty"}, r"no images for 'B'"),
        ({"A": "x", "B": "x3d"}, r"images\['B'\] must have shape"),
    ],
)
def test_deepfakes_fit_identity_errors(images: dict[str, str], match: str) -> None:
    x = make_faces(4, size=16, seed=6).images
    data = {"x": x, "empty": x[:0], "x3d": x[:, 0]}
    model = make_model("deepfakes")
    with pytest.raises(ValueError, match=match):
        model.fit({k: data[v] for k, v in images.items()}, steps=1, **FIT)
    with pytest.raises(ValueError, match="must be a dict"):
        model.fit(x, steps=1, **FIT)


@pytest.mark.parametrize(
    ("labels", "match"),
    [
        (torch.arange(5) % 3, r"labels must be \(N,\) ints with N = 6"),
        ((torch.arange(6) % 3)[:, None], r"labels must be \(N,\) ints"),
        (torch.arange(6).float() % 3, r"labels must be \(N,\) ints"),
        (torch.arange(6) % 4, r"labels must lie in \[0, 3\)"),
        (torch.arange(6) % 3 - 1, r"labels must lie in \[0, 3\)"),
        (torch.arange(6) % 2, r"no images for 'right'"),
    ],
)
def test_multidecoder_label_errors(labels: torch.Tensor, match: str) -> None:
    x = make_faces(6, size=16, seed=7).images
    with pytest.raises(ValueError, match=match):
        make_model("multidecoder").fit(x, labels, steps=1, **FIT)


def test_unknown_decoder_names() -> None:
    x = make_faces(2, size=16, seed=8).images
    df, md = make_model("deepfakes"), make_model("multidecoder")
    with pytest.raises(
        ValueError, match=r"to='Z' is not a decoder of this model; have \['A', 'B'\]"
    ):
        df.swap(x, to="Z")
    with pytest.raises(ValueError, match="to='up' is not a decoder"):
        md.relight(x, to="up")
    with pytest.raises(ValueError, match="name='Z' is not a decoder"):
        df.decode(torch.zeros(2, LATENT), "Z")


@pytest.mark.parametrize("size", [8, 24, 48, 0, -16, 32.0, "32"])
@pytest.mark.parametrize("kind", KINDS)
def test_image_size_must_be_a_power_of_two(kind: str, size: Any) -> None:
    with pytest.raises(ValueError, match="image_size must be a power of two >= 16"):
        make_model(kind, size)


@pytest.mark.parametrize(
    ("names", "match"), [(["A", "A"], "unique"), ([], "non-empty"), (("A", "B"), None)]
)
def test_deepfakes_identity_names(names: list[str], match: str | None) -> None:
    if match is None:
        assert make_model("deepfakes", identities=names).identities == ["A", "B"]
        return
    with pytest.raises(ValueError, match=match):
        make_model("deepfakes", identities=names)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"steps": -1}, "steps must be >= 0"),
        ({"steps": 1, "batch_size": 0}, "batch_size must be >= 1"),
        ({"steps": 1, "log_every": 0}, "log_every must be >= 1"),
    ],
)
def test_fit_argument_errors(kw: dict[str, Any], match: str, faces: FaceSet) -> None:
    with pytest.raises(ValueError, match=match):
        make_model("autoencoder").fit(faces.images, progress=False, device="cpu", **kw)


# -- NaN -----------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_loss_names_the_step(bad: float, faces: FaceSet, tmp_path: Path) -> None:
    model = make_model("autoencoder")
    calls: list[int] = []

    def step(_batch: Any, step: int, _optimize: Any) -> dict[str, torch.Tensor]:
        calls.append(step)
        return {"x": torch.tensor(bad if step == 3 else 1.0)}

    model.training_step = step  # type: ignore[method-assign]
    with pytest.raises(FloatingPointError, match=r"non-finite at step 3: \{'x'"):
        model.fit(faces.images, steps=10, checkpoint_dir=tmp_path, checkpoint_every=2, **FIT)
    assert calls == [0, 1, 2, 3]
    # the last good checkpoint (after step 2) is still there, the bad step never saved
    assert torch.load(tmp_path / "last.pt", weights_only=True)["step"] == 2


def test_real_nan_from_a_huge_learning_rate(faces: FaceSet) -> None:
    model = make_model("autoencoder", lr=1e30)
    with pytest.raises(FloatingPointError, match=r"at step \d+"):
        train(model, faces, 30)
