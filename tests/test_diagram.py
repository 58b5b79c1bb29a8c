"""Model diagrams: every model draws, every block's shape is the one a forward hook sees, the
decoders are named, y enters every FaderNet decoder block, nothing overlaps, others refused."""

from __future__ import annotations

import itertools

import matplotlib.pyplot as plt
import pytest
import torch
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch
from matplotlib.text import Text
from torch import nn

from sepviz import diagram, viz
from sepviz.models import PCA, VAE, AutoEncoder, DeepFakes, ErasedFaderNet, FaderNet, MultiDecoder

SIZE, LATENT = 16, 8


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def models() -> dict[str, nn.Module]:
    small = {"image_size": SIZE, "latent_dim": LATENT}
    return {
        "autoencoder": AutoEncoder(**small),
        "vae": VAE(**small),
        "deepfakes": DeepFakes(**small, identities=["A", "B", "C"]),
        "fadernet": FaderNet(**small, memory=8),
        "erased": ErasedFaderNet(**small, memory=8),
        "multidecoder": MultiDecoder(**small, classes=["left", "right"]),
    }


def texts(fig: Figure) -> dict[str, str]:
    """gid -> text of every named text of the figure."""
    return {t.get_gid(): t.get_text() for t in fig.findobj(Text) if t.get_gid()}


def hooked_shapes(blocks: nn.Sequential, run) -> list[str]:
    """Each block's output shape for one face, "C×H×W" or "D", seen by a forward hook."""
    shapes: list[str] = []
    hooks = [
        b.register_forward_hook(lambda _m, _i, o: shapes.append("×".join(map(str, o.shape[1:]))))
        for b in blocks
    ]
    with torch.no_grad():
        run()
    for hook in hooks:
        hook.remove()
    return shapes


def parts(model: nn.Module) -> dict[str, tuple[nn.Sequential, object]]:
    """gid prefix -> (blocks, a call running them), written here from the models' own API."""
    x = torch.rand(2, 3, SIZE, SIZE)
    if isinstance(model, (DeepFakes, MultiDecoder)):
        z = model.encode(x)
        out = {"encoder": (model.shared_encoder, lambda: model.encode(x))}
        for name in model.names:
            out[f"decoder:{name}"] = (model.decoders[name], lambda n=name: model.decode(z, n))
        return out
    z = model.encode(x)
    if isinstance(model, FaderNet):
        decode = (model.decoder.blocks, lambda: model.decode(z, 0.5))
    else:
        decode = (model.decoder, lambda: model.decode(z))
    return {"encoder": (model.encoder, lambda: model.encode(x)), "decoder": decode}


@pytest.mark.parametrize("name", list(models()))
def test_every_model_draws_with_every_block_shape(name: str) -> None:
    model = models()[name].train()
    fig = viz.model_diagram(model)
    assert isinstance(fig, Figure)
    assert fig._suptitle.get_text() == f"{type(model).__name__}: 16×16 faces, z of {LATENT}"
    assert fig.get_size_inches()[0] == pytest.approx(10.0)
    assert model.training, "the model goes back to the mode it was in"
    written = texts(fig)
    model.eval()
    for prefix, (blocks, run) in parts(model).items():
        expected = hooked_shapes(blocks, run)
        drawn = [written.get(f"shape:{prefix}/{k}") for k in range(1, len(blocks) + 1)]
        assert drawn == expected, prefix
        assert all(written[f"kind:{prefix}/{k}"] for k in range(1, len(blocks) + 1))
    assert written["shape:z"] == str(LATENT) and written["shape:x"] == "3×16×16"
    assert all(t.get_fontsize() >= 8 for t in fig.findobj(Text) if t.get_text())


def test_block_labels_name_the_layers() -> None:
    written = texts(viz.model_diagram(AutoEncoder(image_size=32, latent_dim=LATENT)))
    assert written["kind:encoder/1"] == "conv 4×4/2\nLReLU"  # no BatchNorm on the image
    assert written["kind:encoder/2"] == "conv 4×4/2\nBN, LReLU"
    assert written["kind:encoder/4"] == "flatten\nlinear"
    assert written["kind:decoder/1"] == "linear\nreshape, ReLU"
    assert written["kind:decoder/4"] == "convT 4×4/2\nsigmoid"
    assert [written[f"shape:decoder/{k}"] for k in (1, 2, 3, 4)] == [
        "128×4×4",
        "64×8×8",
        "32×16×16",
        "3×32×32",
    ]
    # boxes: wider with more channels, taller with a larger map
    fig = viz.model_diagram(AutoEncoder(image_size=32, latent_dim=LATENT))
    boxes = {p.get_gid(): p for p in fig.axes[0].patches if p.get_gid()}
    enc1, enc2 = boxes["box:encoder/1"], boxes["box:encoder/2"]  # 32×16×16, 64×8×8
    assert enc2.get_width() > enc1.get_width() and enc2.get_height() < enc1.get_height()


def test_deepfakes_draws_one_named_decoder_per_identity() -> None:
    model = DeepFakes(image_size=SIZE, latent_dim=LATENT, identities=["A", "B", "C"])
    fig = viz.model_diagram(model)
    written = texts(fig)
    headers = {g: t for g, t in written.items() if g.startswith("header:decoder")}
    assert headers == {f"header:decoder:{n}": f"decoder {n}" for n in "ABC"}
    assert written["header:encoder"] == "shared encoder E"
    arrows = [p.get_gid() for p in fig.axes[0].patches if isinstance(p, FancyArrowPatch)]
    assert sorted(g for g in arrows if g.startswith("z->")) == [f"z->decoder:{n}" for n in "ABC"]
    # the rows lie one below the other, the shared encoder level with the middle one
    boxes = {p.get_gid(): p for p in fig.axes[0].patches if p.get_gid()}
    rows = [boxes[f"box:decoder:{n}/1"].get_y() for n in "ABC"]
    assert rows[0] > rows[1] > rows[2]
    z = boxes["box:z"]
    z_centre = z.get_y() + z.get_height() / 2
    b1 = boxes["box:decoder:B/1"]
    assert z_centre == pytest.approx(b1.get_y() + b1.get_height() / 2)


@pytest.mark.parametrize("cls", [FaderNet, ErasedFaderNet])
def test_fadernet_y_enters_every_decoder_block(cls: type[FaderNet]) -> None:
    model = cls(image_size=32, latent_dim=LATENT, memory=8)
    fig = viz.model_diagram(model)
    ax = fig.axes[0]
    arrows = {p.get_gid(): p for p in ax.patches if isinstance(p, FancyArrowPatch)}
    into = sorted(g for g in arrows if g.startswith("y->"))
    n = len(model.decoder.blocks)
    assert into == [f"y->decoder/{k}" for k in range(1, n + 1)]
    boxes = {p.get_gid(): p for p in ax.patches if p.get_gid()}
    for k in range(1, n + 1):  # each arrow ends at the bottom of its block, below its centre
        arrow = arrows[f"y->decoder/{k}"].get_path().get_extents()  # inches
        box = boxes[f"box:decoder/{k}"]
        assert box.get_x() < arrow.x0 < arrow.x1 < box.get_x() + box.get_width()
        assert arrow.y1 == pytest.approx(box.get_y(), abs=0.03)  # 1 pt short of it
        assert arrow.y0 < box.get_y() - 0.2  # from the line of y, below the block
    written = texts(fig)
    assert written["kind:y"] == "y" and written["shape:y"] == "1"
    assert written["label:P"] == "P(y | z)" and written["shape:latent_discriminator"] == "8"
    assert written["kind:latent_discriminator"] == "whiten\nMLP 256–256"
    assert "z->latent_discriminator" in arrows
    if cls is ErasedFaderNet:  # the eraser ends the encoder
        assert written["kind:encoder/5"] == "LEACE"


def test_vae_draws_both_heads_into_the_sampled_z() -> None:
    fig = viz.model_diagram(VAE(image_size=SIZE, latent_dim=LATENT))
    written = texts(fig)
    assert written["kind:encoder/3"].endswith("→ μ")
    assert written["kind:log_variance"] == "linear\n→ log σ²"
    assert written["shape:log_variance"] == str(LATENT)
    assert "ε ~ N(0, I)" in written["kind:z"]
    arrows = {p.get_gid() for p in fig.axes[0].patches if isinstance(p, FancyArrowPatch)}
    assert {"encoder->head0", "encoder->head1", "encoder->z0", "encoder->z1"} <= arrows


@pytest.mark.parametrize("name", ["vae", "deepfakes", "fadernet"])
@pytest.mark.parametrize("size", [32, 64])
def test_no_text_overlaps_another(name: str, size: int) -> None:
    model = {
        "vae": VAE(image_size=size),
        "deepfakes": DeepFakes(image_size=size, identities=["A", "B", "C"]),
        "fadernet": FaderNet(image_size=size, memory=8),
    }[name]
    fig = viz.model_diagram(model)
    assert fig.get_size_inches()[0] == pytest.approx(10.0)  # fits 10 inches up to 64 px
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    extents = [(t.get_text(), t.get_window_extent(renderer)) for t in fig.findobj(Text)]
    extents = [(s, e) for s, e in extents if s]
    figure = fig.bbox
    for s, e in extents:  # inside the figure
        assert figure.x0 <= e.x0 and e.x1 <= figure.x1 and figure.y0 <= e.y0, s
        assert e.y1 <= figure.y1, s
    for (s, a), (t, b) in itertools.combinations(extents, 2):
        assert not a.overlaps(b), f"{s!r} overlaps {t!r}"


@pytest.mark.parametrize(
    "thing", [PCA(image_size=SIZE, latent_dim=LATENT), nn.Linear(2, 2), "AutoEncoder", None]
)
def test_other_objects_are_refused(thing: object) -> None:
    with pytest.raises(ValueError, match="model must be a sepviz model with an encoder"):
        viz.model_diagram(thing)


def test_block_kind_summarises_an_mlp_and_wraps() -> None:
    mlp = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 2))
    assert diagram.block_kind(mlp) == ["MLP 32–16"]
    block = nn.Sequential(nn.Conv2d(3, 8, 3, 1, 1), nn.GroupNorm(2, 8), nn.Dropout(), nn.ReLU())
    assert diagram.block_kind(block) == ["conv 3×3/1", "GN, dropout", "ReLU"]
