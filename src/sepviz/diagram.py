"""Diagrams of the models, drawn from the models themselves: :func:`model_diagram`.

Nothing here is drawn by hand. The boxes are the blocks the model holds (its ``encoder`` or
``shared_encoder``, its ``decoder`` or ``decoders``, a VAE's ``log_variance`` head, a
FaderNet's ``latent_discriminator``), their labels are the layers inside them and their
shapes come from one forward pass of two random faces with a forward hook on every block
(the idea of :func:`sepviz.models.base.block_table`), so a figure cannot drift from the code.
Left to right, in the manner of d2l's figures: a box is wider with more channels and taller
with a larger feature map. ``sepviz.viz.model_diagram`` is the same function.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

FONT = 8  # points: the smallest text of a diagram (readable at 10 inches wide)
LINE = FONT * 1.3 / 72  # inches per line of text
WIDTH = 10.0  # inches: the figure's width, unless a deep model needs more
GAP = 0.05  # inches between two columns at least: the rest of the width is shared out
WRAP = 13  # characters per line of a block's label
TITLE = 0.5  # inches above the drawing for the title
COLORS = {
    "image": "#d9d9d9",
    "encoder": "#c6dbef",
    "latent": "#fdae6b",
    "decoder": "#c7e9c0",
    "y": "#dadaeb",
    "discriminator": "#fcbba1",
}
MODELS = "AutoEncoder, VAE, DeepFakes, FaderNet or MultiDecoder"

# -- reading the model ------------------------------------------------------------------

NAMES: tuple[tuple[type[nn.Module], str], ...] = (
    (nn.BatchNorm1d, "BN"),
    (nn.BatchNorm2d, "BN"),
    (nn.GroupNorm, "GN"),
    (nn.InstanceNorm2d, "IN"),
    (nn.LeakyReLU, "LReLU"),
    (nn.ReLU, "ReLU"),
    (nn.Sigmoid, "sigmoid"),
    (nn.Linear, "linear"),
    (nn.Flatten, "flatten"),
    (nn.Unflatten, "reshape"),
    (nn.Dropout, "dropout"),
)
"""Short names of torch's layers, as a block's label shows them."""
OWN_NAMES = {"Whiten": "whiten", "LeaceLayer": "LEACE"}
"""sepviz's own layers, by class name (the drawing need not import the modules defining them)."""


@dataclasses.dataclass
class Block:
    """One box of a diagram.

    Attributes:
        gid: its name in the figure: ``"encoder/1"``, ``"decoder/2"``, ``"decoder:A/2"`` (the
            decoder of ``"A"``), ``"log_variance"``, ``"latent_discriminator"``, ``"x"``.
        kind: the lines of its label, e.g. ``["conv 4×4/2", "BN, LReLU"]``.
        shape: one output without the batch axis: (C, H, W) or (D,).
    """

    gid: str
    kind: list[str]
    shape: tuple[int, ...]

    @property
    def shape_text(self) -> str:
        """``"64×8×8"`` or ``"16"``."""
        return "×".join(map(str, self.shape))

    @property
    def size(self) -> tuple[float, float]:
        """(width, height) in inches: a feature map is wider with more channels and taller
        when larger (log scale); a vector is a thin bar, taller when longer."""
        if len(self.shape) == 3:
            c, s = self.shape[0], self.shape[-1]
            return min(0.7, 0.1 + 0.08 * math.log2(c)), 0.15 + 0.17 * math.log2(s)
        return 0.14, 0.2 + 0.12 * math.log2(max(1, math.prod(self.shape)))


@dataclasses.dataclass
class Network:
    """What a diagram shows, read from a model by :func:`read_network`.

    Attributes:
        model: the class name, e.g. ``"DeepFakes"``.
        image_size: side S of the faces.
        encoder: its blocks, in order.
        shared: True when the encoder is a ``shared_encoder`` (one per model, many decoders).
        decoders: name -> blocks; the name is ``""`` for a model's only decoder.
        variance: a VAE's log-variance head, fed by the encoder's last feature map.
        discriminator: a FaderNet's latent discriminator, reading z.
        y_dim: length of the attribute y concatenated to the input of every decoder block
            (0: no y).
    """

    model: str
    image_size: int
    encoder: list[Block]
    shared: bool
    decoders: dict[str, list[Block]]
    variance: Block | None = None
    discriminator: Block | None = None
    y_dim: int = 0

    @property
    def latent_dim(self) -> int:
        return self.encoder[-1].shape[-1]


def layer_name(layer: nn.Module) -> str:
    """A layer in a few characters: ``"conv 4×4/2"``, ``"convT 4×4/2"``, ``"BN"``, ..."""
    if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
        k, s = layer.kernel_size[0], layer.stride[0]
        return f"{'convT' if isinstance(layer, nn.ConvTranspose2d) else 'conv'} {k}×{k}/{s}"
    for kind, name in NAMES:
        if isinstance(layer, kind):
            return name
    return OWN_NAMES.get(type(layer).__name__, type(layer).__name__)


def block_kind(block: nn.Module) -> list[str]:
    """The label of a block, wrapped at :data:`WRAP` characters: its layers by their short
    names; an MLP (two linear layers or more) as ``"MLP 256–256"``, its hidden widths."""
    layers = list(block) if isinstance(block, nn.Sequential) else [block]
    linears = [m for m in layers if isinstance(m, nn.Linear)]
    if len(linears) > 1:
        before = [layer_name(m) for m in layers[: layers.index(linears[0])]]
        words = [*before, "MLP " + "–".join(str(m.out_features) for m in linears[:-1])]
    else:
        words = [layer_name(m) for m in layers]
    lines = [words[0]]
    for word in words[1:]:
        if len(lines[-1]) + 2 + len(word) <= WRAP:
            lines[-1] += ", " + word
        else:
            lines.append(word)
    return lines


def _part(model: nn.Module, name: str) -> nn.Sequential | None:
    part = getattr(model, name, None)
    return part if isinstance(part, nn.Sequential) else None


def _decoders(model: nn.Module) -> dict[str, nn.Module]:
    """name -> decoder: ``decoders`` (a ModuleDict, one per name) or the one ``decoder``."""
    decoders = getattr(model, "decoders", None)
    if isinstance(decoders, nn.ModuleDict):
        return dict(decoders.items())
    decoder = getattr(model, "decoder", None)
    return {"": decoder} if isinstance(decoder, nn.Module) else {}


def _blocks(decoder: nn.Module) -> nn.Sequential | None:
    """A decoder's blocks: the decoder itself, or its ``blocks`` (FaderNet's D(z, y))."""
    blocks = getattr(decoder, "blocks", decoder)
    return blocks if isinstance(blocks, nn.Sequential) else None


def read_network(model: Any) -> Network:
    """Read a sepviz model's parts and run two random faces through them, a forward hook on
    every block recording its output shape. The model is run in eval mode without gradients
    and left in the mode it was in.

    Raises:
        ValueError: ``model`` is not a sepviz model with an encoder and decoders (PCA has
            none), naming ``model`` and what it is.
    """
    from sepviz.models.base import SepvizModel

    encoder = _part(model, "shared_encoder") if isinstance(model, nn.Module) else None
    shared = encoder is not None
    if encoder is None and isinstance(model, nn.Module):
        encoder = _part(model, "encoder")
    decoders = _decoders(model) if isinstance(model, nn.Module) else {}
    decoder_blocks = {name: _blocks(d) for name, d in decoders.items()}
    if (
        not isinstance(model, SepvizModel)
        or encoder is None
        or not decoders
        or any(b is None for b in decoder_blocks.values())
    ):
        raise ValueError(
            f"model must be a sepviz model with an encoder and decoders ({MODELS}), "
            f"got {type(model).__name__}"
        )
    variance = getattr(model, "log_variance", None)
    discriminator = getattr(model, "latent_discriminator", None)
    # a decoder holding its `blocks` is D(z, y) (FaderNet's): y enters every block's input
    conditioned = any(d is not b for d, b in zip(decoders.values(), decoder_blocks.values()))
    y_dim = int(getattr(model, "attribute_dim", 0)) if conditioned else 0

    shapes: dict[int, tuple[int, ...]] = {}

    def record(module: nn.Module, _inputs: Any, output: torch.Tensor) -> None:
        shapes[id(module)] = tuple(output.shape[1:])

    watched: list[nn.Module] = [*encoder, *[m for b in decoder_blocks.values() for m in b]]
    watched += [m for m in (variance, discriminator) if isinstance(m, nn.Module)]
    hooks = [m.register_forward_hook(record) for m in watched]
    was_training = model.training
    size = model.image_size
    try:
        model.eval()
        with torch.no_grad():
            x = torch.rand(2, 3, size, size, generator=torch.Generator().manual_seed(0))
            x = x.to(model.device)
            z = encoder(x)
            if isinstance(variance, nn.Module):
                model.posterior(x)  # the VAE's (mu, log-variance): runs the head
            y = torch.zeros(2, y_dim, device=z.device)
            for decoder in decoders.values():
                if y_dim:
                    decoder(z, y)
                else:
                    decoder(z)
            if isinstance(discriminator, nn.Module):
                discriminator(z)
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)

    def read(modules: Sequence[nn.Module], prefix: str) -> list[Block]:
        return [
            Block(f"{prefix}/{k}", block_kind(m), shapes[id(m)]) for k, m in enumerate(modules, 1)
        ]

    def head(module: Any, gid: str) -> Block | None:
        if not isinstance(module, nn.Module):
            return None
        return Block(gid, block_kind(module), shapes[id(module)])

    blocks = {name: b for name, b in decoder_blocks.items() if b is not None}
    return Network(
        model=type(model).__name__,
        image_size=size,
        encoder=read(encoder, "encoder"),
        shared=shared,
        decoders={
            name: read(b, f"decoder:{name}" if name else "decoder") for name, b in blocks.items()
        },
        variance=head(variance, "log_variance"),
        discriminator=head(discriminator, "latent_discriminator"),
        y_dim=y_dim,
    )


# -- drawing ----------------------------------------------------------------------------


def text_width(text: str, size: float = FONT, weight: str = "normal") -> float:
    """Width in inches of the widest line of ``text`` at ``size`` points (any backend)."""
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.font_manager import FontProperties

    renderer = RendererAgg(1, 1, 72)  # 72 dots per inch: widths in points
    font = FontProperties(size=size, weight=weight)
    widths = [
        renderer.get_text_width_height_descent(s, font, ismath=False)[0] for s in text.split("\n")
    ]
    return max(widths) / 72


Box = tuple[float, float, float, float]
"""A drawn box: left, right, bottom, top, in inches."""


class Canvas:
    """An axes whose data units are inches (x to the right, y up), keeping how far up and
    down its drawing reaches so that the figure can be cut to it."""

    def __init__(self, ax: Axes) -> None:
        self.ax = ax
        self.top, self.bottom, self.right = -math.inf, math.inf, 0.0

    def reach(self, bottom: float, top: float, right: float = 0.0) -> None:
        self.top, self.bottom = max(self.top, top), min(self.bottom, bottom)
        self.right = max(self.right, right)

    def box(self, cx: float, cy: float, w: float, h: float, color: str, gid: str) -> Box:
        from matplotlib.patches import FancyBboxPatch

        style = "round,pad=0,rounding_size=0.03"
        patch = FancyBboxPatch(
            (cx - w / 2, cy - h / 2), w, h, boxstyle=style, fc=color, ec="0.3", lw=0.8
        )
        patch.set_gid(gid)
        self.ax.add_patch(patch)
        self.reach(cy - h / 2, cy + h / 2, cx + w / 2)
        return cx - w / 2, cx + w / 2, cy - h / 2, cy + h / 2

    def text(
        self,
        x: float,
        y: float,
        s: str,
        gid: str,
        va: str = "bottom",
        ha: str = "center",
        **kw: Any,
    ) -> float:
        """Write ``s`` (lines split by newlines) at (x, y); returns how far up it reaches."""
        size = kw.setdefault("fontsize", FONT)
        self.ax.text(x, y, s, va=va, ha=ha, gid=gid, linespacing=1.15, **kw)
        height = (s.count("\n") + 1) * LINE * size / FONT
        low = {"bottom": y, "top": y - height, "center": y - height / 2}[va]
        width = text_width(s, size, kw.get("fontweight", "normal"))
        right = {"center": x + width / 2, "left": x + width, "right": x}[ha]
        self.reach(low, low + height, right)
        return low + height

    def arrow(self, start: tuple[float, float], end: tuple[float, float], gid: str = "") -> None:
        from matplotlib.patches import FancyArrowPatch

        patch = FancyArrowPatch(
            start,
            end,
            arrowstyle="-|>",
            mutation_scale=9,
            lw=0.9,
            color="0.25",
            shrinkA=0,
            shrinkB=1,
        )
        patch.set_gid(gid or None)
        self.ax.add_patch(patch)


def _mid_left(box: Box) -> tuple[float, float]:
    return box[0], (box[2] + box[3]) / 2


def _mid_right(box: Box) -> tuple[float, float]:
    return box[1], (box[2] + box[3]) / 2


def _block(c: Canvas, block: Block, cx: float, cy: float, top: float, color: str) -> Box:
    """A block's box centred at (cx, cy), its shape and label written from ``top`` up."""
    w, h = block.size
    box = c.box(cx, cy, w, h, color, f"box:{block.gid}")
    shape_top = c.text(cx, top + 0.04, block.shape_text, f"shape:{block.gid}", color="0.35")
    if block.kind:
        size = FONT if len(block.kind[0]) > 2 else FONT + 2  # "x", "x̂": an input or output
        c.text(cx, shape_top, "\n".join(block.kind), f"kind:{block.gid}", fontsize=size)
    return box


def _text_height(block: Block) -> float:
    """How far a block's shape and label reach above its row's top."""
    return 0.04 + LINE * (1 + len(block.kind)) + (LINE * 0.25 if block.kind else 0)


def _chain(c: Canvas, boxes: Sequence[Box], prefix: str) -> None:
    for k, (a, b) in enumerate(zip(boxes, boxes[1:])):
        c.arrow(_mid_right(a), _mid_left(b), f"{prefix}{k}")


def draw(net: Network, title: str) -> Figure:
    """The figure of ``net`` (see :func:`model_diagram`), titled ``title``."""
    import matplotlib.pyplot as plt

    image = (3, net.image_size, net.image_size)
    x_in = Block("x", ["x"], image)
    sample = ["μ + σ·ε,", "ε ~ N(0, I)"] if net.variance else []  # the VAE's sampled code
    z = Block("z", sample, (net.latent_dim,))
    outs = [Block(f"x̂:{n}" if n else "x̂", ["x̂"], image) for n in net.decoders]
    # the VAE's mu head (the encoder's last block) and log-variance head share a column
    encoder = net.encoder[:-1] if net.variance else net.encoder
    heads = []
    if net.variance:  # named by what they give: the posterior's mean and log-variance
        mu, var = net.encoder[-1], net.variance
        heads = [
            dataclasses.replace(mu, kind=[*mu.kind, "→ μ"]),
            dataclasses.replace(var, kind=[*var.kind, "→ log σ²"]),
        ]
    rows = list(net.decoders.values())
    depth = max(len(r) for r in rows)
    columns = [[x_in], *[[b] for b in encoder], *([heads] if heads else []), [z]]
    columns += [[r[k] for r in rows if k < len(r)] for k in range(depth)] + [outs]
    widths = [
        max(max(b.size[0], text_width("\n".join([*b.kind, b.shape_text]))) for b in col) + GAP
        for col in columns
    ]
    spare = max(0.0, WIDTH - 0.2 - sum(widths)) / len(widths)  # the same gap everywhere
    widths = [w + spare for w in widths]
    xs = [0.1 + sum(widths[:k]) + widths[k] / 2 for k in range(len(widths))]
    z_col = len(columns) - depth - 2
    dec_x = xs[z_col + 1 : z_col + 1 + depth]

    # rows: one per decoder, the encoder centred on them
    dec_h = max(b.size[1] for r in rows for b in [*r, outs[0]])
    dec_text = max(_text_height(b) for r in rows for b in [*r, outs[0]])
    header = LINE + 0.08
    pitch = header + dec_text + dec_h + 0.3 + (0.5 if net.y_dim else 0)
    row_y = [-k * pitch for k in range(len(rows))]
    cy = sum(row_y) / len(row_y)

    fig = plt.figure(figsize=(WIDTH, 4))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    c = Canvas(ax)

    # encoder row: x, the encoder's blocks, z
    enc_h = max(b.size[1] for b in [x_in, *encoder, z])
    enc_top = cy + enc_h / 2
    boxes = [_block(c, x_in, xs[0], cy, enc_top, COLORS["image"])]
    for k, block in enumerate(encoder, 1):
        boxes.append(_block(c, block, xs[k], cy, enc_top, COLORS["encoder"]))
    header_y = enc_top + max(_text_height(b) for b in [x_in, *encoder])
    _chain(c, boxes, "encoder->")
    zw, zh = z.size
    if heads:  # mu above, log-variance below, each fed by the last feature map
        mu, var = heads
        gap = mu.size[1] / 2 + var.size[1] / 2 + _text_height(var) + 0.1
        hx = xs[len(encoder) + 1]
        head_boxes = [
            _block(c, h, hx, y, y + h.size[1] / 2, COLORS["encoder"])
            for h, y in ((mu, cy + gap / 2), (var, cy - gap / 2))
        ]
        for k, head in enumerate(head_boxes):
            c.arrow(_mid_right(boxes[-1]), _mid_left(head), f"encoder->head{k}")
        header_y = max(header_y, cy + gap / 2 + mu.size[1] / 2 + _text_height(mu))
        boxes = head_boxes
    else:
        boxes = boxes[-1:]
    z_box = c.box(xs[z_col], cy, zw, zh, COLORS["latent"], "box:z")
    c.text(xs[z_col], cy, "z", "label:z", va="center", fontsize=FONT + 2, fontweight="bold")
    z_low = cy - zh / 2 - 0.04
    c.text(xs[z_col], z_low, z.shape_text, "shape:z", va="top", color="0.35")
    z_low -= LINE
    if z.kind:
        c.text(xs[z_col], enc_top + 0.04, "\n".join(z.kind), "kind:z")
    for k, box in enumerate(boxes):
        c.arrow(_mid_right(box), _mid_left(z_box), f"encoder->z{k}")
    enc_cols = xs[1 : len(encoder) + 1 + bool(heads)]
    name = "shared encoder E" if net.shared else "encoder E"
    centre = (enc_cols[0] + enc_cols[-1]) / 2
    c.text(centre, header_y + 0.04, name, "header:encoder", fontweight="bold")

    # decoder rows: z into each decoder, the decoder's blocks, x̂
    for (dec_name, blocks), out, y in zip(net.decoders.items(), outs, row_y):
        top = y + dec_h / 2
        dec_boxes = [_block(c, b, bx, y, top, COLORS["decoder"]) for b, bx in zip(blocks, dec_x)]
        out_box = _block(c, out, xs[-1], y, top, COLORS["image"])
        c.arrow(_mid_right(z_box), _mid_left(dec_boxes[0]), f"z->decoder:{dec_name}")
        _chain(c, [*dec_boxes, out_box], f"decoder:{dec_name}->")
        label = f"decoder {dec_name}" if dec_name else "decoder D"
        gid = f"header:decoder:{dec_name}" if dec_name else "header:decoder"
        text_top = top + max(_text_height(b) for b in [*blocks, out])
        c.text((dec_x[0] + dec_x[-1]) / 2, text_top + 0.04, label, gid, fontweight="bold")
        if net.y_dim:  # y is concatenated to the input of every block: one arrow into each
            _y_bus(c, net.y_dim, xs[z_col], min(y - dec_h / 2, z_low) - 0.3, blocks, dec_boxes)

    if net.discriminator is not None:
        _discriminator(c, net.discriminator, z_box)

    height = c.top - c.bottom + 0.2
    width = max(WIDTH, c.right + 0.1)
    fig.set_size_inches(width, height + TITLE)
    ax.set_position((0, 0, 1, height / (height + TITLE)))
    ax.set_xlim(0, width)
    ax.set_ylim(c.bottom - 0.1, c.top + 0.1)
    fig.suptitle(title, fontsize=11, y=1 - 0.12 / (height + TITLE), va="top")
    return fig


def _y_bus(
    c: Canvas, y_dim: int, x: float, bus: float, blocks: Sequence[Block], boxes: Sequence[Box]
) -> None:
    """The attribute y: a box below z, a line under the decoder, an arrow up into each block."""
    y = Block("y", ["y"], (y_dim,))
    w, h = y.size
    y_box = c.box(x, bus, w, h, COLORS["y"], "box:y")
    c.text(x - w / 2 - 0.06, bus, "y", "kind:y", va="center", ha="right", fontsize=FONT + 2)
    c.text(x, bus - h / 2 - 0.04, y.shape_text, "shape:y", va="top", color="0.35")
    centres = [(b[0] + b[1]) / 2 for b in boxes]
    c.ax.plot([y_box[1], centres[-1]], [bus, bus], color="0.25", lw=0.9, gid="y-bus")
    for block, box, bx in zip(blocks, boxes, centres):
        c.arrow((bx, bus), (bx, box[2]), f"y->{block.gid}")


def _discriminator(c: Canvas, block: Block, z_box: Box) -> None:
    """The latent discriminator above z, reading it, and its output P(y | z)."""
    x = (z_box[0] + z_box[1]) / 2
    kind = "\n".join(block.kind)
    w, h = text_width(kind) + 0.16, LINE * len(block.kind) + 0.12
    cy = c.top + 0.25 + h / 2
    box = c.box(x, cy, w, h, COLORS["discriminator"], f"box:{block.gid}")
    c.text(x, cy, kind, f"kind:{block.gid}", va="center")
    c.text(x, box[3] + 0.04, "latent discriminator", f"header:{block.gid}", fontweight="bold")
    c.arrow((x, z_box[3]), (x, box[2]), "z->latent_discriminator")
    end = box[1] + 0.4
    c.arrow(_mid_right(box), (end, cy), "latent_discriminator->P")
    c.text(end + 0.05, cy, "P(y | z)", "label:P", va="center", ha="left", fontsize=FONT + 2)
    c.text(
        end + 0.05,
        cy - LINE * 0.8,
        block.shape_text,
        f"shape:{block.gid}",
        va="top",
        ha="left",
        color="0.35",
    )


def model_diagram(model: Any, title: str | None = None) -> Figure:
    """A diagram of ``model``, drawn left to right from its own modules.

    Boxes are the model's blocks, each labelled with its layers (``"conv 4×4/2"``, ``"BN,
    LReLU"``) and its output shape for one face (``"64×8×8"``, from a forward hook); a box is
    wider with more channels and taller with a larger map. Arrows carry x through the
    encoder to the latent z (an orange bar) and on through the decoder to x̂. What each model
    adds is read from its parts: a VAE's mean and log-variance heads and its sampled z, the
    one ``shared_encoder`` of DeepFakes and MultiDecoder with a row per decoder (named), a
    FaderNet's attribute y with an arrow into every decoder block and its
    ``latent_discriminator`` reading z to give P(y | z). 10 inches wide (wider only for
    models of 128 px and up), text of 8 points or more.

    Args:
        model: an AutoEncoder, VAE, DeepFakes, FaderNet (or ErasedFaderNet) or MultiDecoder,
            trained or not; it runs once in eval mode on two random faces and is left in
            its mode.
        title: the figure's title (default: the class, the face size and the latent size).

    Raises:
        ValueError: ``model`` is not one of those (e.g. a PCA, which has no blocks).
    """
    net = read_network(model)
    if title is None:
        title = f"{net.model}: {net.image_size}×{net.image_size} faces, z of {net.latent_dim}"
    return draw(net, title)
