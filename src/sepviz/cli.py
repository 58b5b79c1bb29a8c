"""The ``sepviz`` command line: train a model on synthetic faces, then swap or relight faces.

Three subcommands::

    sepviz train deepfakes --size 32 --steps 2000 --out run/
    sepviz swap --model run/model.pt --to B --out swap.png
    sepviz relight --model run/model.pt --out relight.png --values -1 0 1

``train`` renders synthetic faces (:func:`sepviz.data.synthetic.make_faces`), trains with the
model's ``fit`` (checkpoints in ``--out``, ``--resume`` continues an interrupted run) and writes
``model.pt`` and ``history.json``. ``swap`` (DeepFakes) and ``relight`` (FaderNet,
MultiDecoder) load a ``model.pt`` and save a figure.

Nothing is lost and nothing is found late: every output place is checked before any work
(a folder that can be written, no file where a folder should be), and a file of an earlier
run (``model.pt``, ``history.json``, ``last.pt``, a figure) is replaced only with
``--overwrite``. A figure's ``--out`` without an ending gets ``.png``; an existing folder
gets the default file name inside it. Mistakes a user can make (a missing model file, the
wrong kind of model, an unknown identity, a bad path, an unreadable image) print one line
``sepviz: error: ...`` naming the file and the fix, and exit with status 2, as argparse does
for a bad flag; no traceback.
"""

from __future__ import annotations

import argparse
import errno
import json
import math
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from sepviz.models.base import SepvizModel

PROG = "sepviz"
MODELS = ("autoencoder", "deepfakes", "fadernet", "multidecoder")
DEFAULT_IDENTITIES = ("A", "B")
DEFAULT_LAMBDA_MAX = 3e-4  # FaderNet.fit's default, written out so that --help needs no torch
DEFAULT_VALUES = (-1.0, -0.5, 0.0, 0.5, 1.0)
AUTOENCODER_PEOPLE = 8
MODEL_FILE = "model.pt"
HISTORY_FILE = "history.json"
OS_FIXES = {
    errno.ENAMETOOLONG: "use a shorter path",
    errno.EACCES: "choose a place you can write to",
    errno.EPERM: "choose a place you can write to",
    errno.EROFS: "choose a place you can write to",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.ENOSPC: "free some disk space",
}


class CLIError(Exception):
    """A mistake in the command line or its inputs: reported as ``sepviz: error: ...``."""


# -- argument types --------------------------------------------------------------------------
def _positive_int(text: str) -> int:
    """argparse type: an int >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def _image_size(text: str) -> int:
    """argparse type: a power of two >= 16 (the sides the renderer and models accept)."""
    value = _positive_int(text)
    if value < 16 or value & (value - 1):
        raise argparse.ArgumentTypeError(
            f"expected a power of two >= 16 (32, 64, ...), got {value}"
        )
    return value


def _non_negative_float(text: str) -> float:
    """argparse type: a finite float >= 0."""
    value = _finite_float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text}")
    return value


def _finite_float(text: str) -> float:
    """argparse type: a finite float."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text}")
    return value


# -- the parser ------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    """The ``sepviz`` argument parser with its ``train``, ``swap`` and ``relight`` subcommands."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Train face models on synthetic faces with known factors, then swap identities "
            "(DeepFakes) or relight faces (FaderNet, MultiDecoder)."
        ),
        epilog="Run 'sepviz COMMAND --help' for the flags of each command.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_train(commands)
    _add_swap(commands)
    _add_relight(commands)
    return parser


def _add_train(commands: Any) -> None:
    p = commands.add_parser(
        "train",
        help="train a model on synthetic faces and save it",
        description=(
            "Render synthetic faces, train a model on them and write OUT/model.pt, "
            "OUT/history.json and the checkpoint OUT/last.pt. deepfakes: one image group and "
            "one decoder per --identities person; fadernet: attribute y = light azimuth / 60 "
            "in [-1, 1]; multidecoder: one decoder per light class (left, centre, right); "
            f"autoencoder: {AUTOENCODER_PEOPLE} random people."
        ),
    )
    p.add_argument("model", choices=MODELS, help="which model to train")
    p.add_argument(
        "--size",
        type=_image_size,
        default=32,
        help="side of the square faces in pixels, a power of two >= 16 (default: %(default)s)",
    )
    p.add_argument(
        "--steps",
        type=_positive_int,
        default=2000,
        help="optimisation steps in total; a resumed run continues up to this number "
        "(default: %(default)s)",
    )
    p.add_argument(
        "--n-faces",
        type=_positive_int,
        default=4000,
        help="synthetic faces rendered for training, in total (deepfakes splits them evenly "
        "between the identities) (default: %(default)s)",
    )
    p.add_argument(
        "--latent-dim",
        type=_positive_int,
        default=64,
        help="length of the latent vector z (default: %(default)s)",
    )
    p.add_argument(
        "--batch-size",
        type=_positive_int,
        default=64,
        help="images drawn per step (deepfakes and multidecoder: per identity / class) "
        "(default: %(default)s)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seeds the faces, the initial weights and every batch draw (default: %(default)s)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path("run"),
        help="output folder for model.pt, history.json and the checkpoint last.pt "
        "(default: %(default)s)",
    )
    p.add_argument(
        "--identities",
        nargs="+",
        metavar="NAME",
        default=None,
        help="deepfakes only: the synthetic people, one decoder each, from the named persons "
        f"A to E (default: {' '.join(DEFAULT_IDENTITIES)})",
    )
    p.add_argument(
        "--lambda-max",
        type=_non_negative_float,
        default=None,
        help="fadernet only: final weight of the adversarial latent loss, ramped up from 0 "
        f"over the first half of training; 0 trains a plain conditional autoencoder "
        f"(default: {DEFAULT_LAMBDA_MAX})",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue from OUT/last.pt if it exists (same model flags needed) instead of "
        "starting over",
    )
    _add_overwrite(p, "an earlier run's model.pt, history.json or last.pt in OUT")
    p.add_argument(
        "--checkpoint-every",
        type=_positive_int,
        default=500,
        help="write the checkpoint OUT/last.pt every this many steps (default: %(default)s)",
    )
    p.add_argument(
        "--no-progress",
        dest="progress",
        action="store_false",
        help="hide the progress bar (for logs and scripts)",
    )
    p.set_defaults(func=cmd_train)


def _add_overwrite(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument(
        "--overwrite",
        action="store_true",
        help=f"replace {what}; without it an existing file is an error, found before any work",
    )


def _add_figure_out(p: argparse.ArgumentParser, default: str) -> None:
    """``--out`` (the figure file) and ``--overwrite`` of ``swap`` and ``relight``."""
    p.add_argument(
        "--out",
        type=Path,
        default=Path(default),
        help="where to save the figure; the ending picks the format (none: .png; a folder: "
        f"FOLDER/{default}) (default: %(default)s)",
    )
    _add_overwrite(p, "an existing figure file")


def _add_swap(commands: Any) -> None:
    p = commands.add_parser(
        "swap",
        help="swap faces to another identity with a trained DeepFakes model",
        description=(
            "Encode faces of one identity with a DeepFakes model and decode them with the "
            "decoder of another; save a figure with the inputs in the top row and the swapped "
            "faces below."
        ),
    )
    p.add_argument(
        "--model",
        type=Path,
        required=True,
        help="a DeepFakes model file written by 'sepviz train deepfakes' (OUT/model.pt; a "
        "folder means FOLDER/model.pt)",
    )
    p.add_argument(
        "--to", required=True, metavar="NAME", help="identity whose decoder draws the faces"
    )
    p.add_argument(
        "--from",
        dest="source",
        metavar="NAME",
        default=None,
        help="identity of the synthetic input faces (default: the model's first identity "
        "other than --to); ignored with --input",
    )
    _add_figure_out(p, "swap.png")
    p.add_argument(
        "--input",
        type=Path,
        metavar="FOLDER",
        default=None,
        help="a folder of your own face images to swap instead of synthetic faces; they are "
        "centre-cropped and resized to the model's size (best aligned, like the training faces)",
    )
    p.add_argument(
        "--n", type=_positive_int, default=8, help="number of faces to swap (default: %(default)s)"
    )
    p.add_argument(
        "--seed",
        type=int,
        default=1,
        help="seed of the synthetic input faces; differs from the training seed 0 so the faces "
        "are new to the model (default: %(default)s)",
    )
    p.set_defaults(func=cmd_swap)


def _add_relight(commands: Any) -> None:
    p = commands.add_parser(
        "relight",
        help="relight faces with a trained FaderNet or MultiDecoder model",
        description=(
            "Relight faces and save a grid: one row per input face, the input first, then "
            "one column per light value (FaderNet: the attribute y) or per light class "
            "(MultiDecoder: each class's decoder)."
        ),
    )
    p.add_argument(
        "--model",
        type=Path,
        required=True,
        help="a FaderNet or MultiDecoder model file written by 'sepviz train' (OUT/model.pt; "
        "a folder means FOLDER/model.pt)",
    )
    _add_figure_out(p, "relight.png")
    p.add_argument(
        "--values",
        type=_finite_float,
        nargs="+",
        metavar="Y",
        default=None,
        help="FaderNet only: the light values y, one column each; -1 = light from the "
        "image's left, 0 = front, 1 = right, beyond exaggerates "
        f"(default: {' '.join(f'{v:g}' for v in DEFAULT_VALUES)})",
    )
    p.add_argument(
        "--n",
        type=_positive_int,
        default=6,
        help="number of faces, one row each (default: %(default)s)",
    )
    p.add_argument(
        "--input",
        type=Path,
        metavar="FOLDER",
        default=None,
        help="a folder of your own face images to relight instead of synthetic faces; they "
        "are centre-cropped and resized to the model's size",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=1,
        help="seed of the synthetic input faces (random people, expressions and lights) "
        "(default: %(default)s)",
    )
    p.set_defaults(func=cmd_relight)


# -- output places ---------------------------------------------------------------------------
def _short(path: object, limit: int = 120) -> str:
    """``path`` as text, its middle cut out when longer than ``limit`` characters."""
    text = os.fsdecode(path) if isinstance(path, (str, bytes, os.PathLike)) else str(path)
    if len(text) <= limit:
        return text
    return f"{text[: limit // 2]}...{text[-limit // 4 :]} ({len(text):,} characters)"


def _writable_folder(folder: Path, flag: str, value: Path) -> None:
    """Create ``folder`` if needed and write a test file in it: a :class:`CLIError` says why
    ``flag value`` cannot be used (a file where a folder should be, no permission, ...)."""
    for place in (folder, *folder.parents):
        if place.exists():
            if not place.is_dir():
                raise CLIError(
                    f"{flag} {_short(value)}: {_short(place)} is a file, not a folder; "
                    f"choose another {flag}"
                )
            break
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".sepviz-write-test-")
        os.close(fd)
        os.remove(probe)
    except OSError as error:
        raise CLIError(
            f"cannot write in {_short(folder)} for {flag} {_short(value)}: "
            f"{error.strerror or error}; choose another {flag}"
        ) from None


def _check_earlier_run(args: argparse.Namespace) -> None:
    """Refuse, before any training, to replace the files of an earlier run in ``--out``."""
    from sepviz.train import CHECKPOINT_NAME

    out: Path = args.out
    found = [name for name in (MODEL_FILE, HISTORY_FILE, CHECKPOINT_NAME) if (out / name).exists()]
    resuming = args.resume and CHECKPOINT_NAME in found
    if found and not resuming and not args.overwrite:
        resume = "--resume to continue it, " if CHECKPOINT_NAME in found else ""
        raise CLIError(
            f"--out {_short(out)} holds {', '.join(found)} of an earlier run; pass {resume}"
            "--overwrite to replace it, or choose another --out"
        )


def _figure_file(args: argparse.Namespace, default: str) -> Path:
    """The file ``--out`` names, checked before any work: an existing folder means
    FOLDER/``default``, no ending means ``.png``; an existing file needs ``--overwrite``."""
    from matplotlib.backend_bases import FigureCanvasBase

    out: Path = args.out
    if out.is_dir():
        out = out / default
    elif not out.suffix:
        out = out.with_name(out.name + ".png")
    formats = FigureCanvasBase.get_supported_filetypes()
    if out.suffix[1:].lower() not in formats:
        endings = ", ".join(f".{name}" for name in sorted(formats))
        raise CLIError(f"--out {_short(out)}: cannot save a figure as {out.suffix}; use {endings}")
    if out.exists() and not args.overwrite:
        raise CLIError(
            f"--out {_short(out)} exists; pass --overwrite to replace it, or choose another --out"
        )
    _writable_folder(out.parent, "--out", out)
    return out


# -- train -----------------------------------------------------------------------------------
def _face_options(args: argparse.Namespace, entry: Any) -> dict[str, Any]:
    """The recipe's face and model options from the flags (``identities`` checked)."""
    from sepviz.data.synthetic import PERSONS

    options: dict[str, Any] = {"latent_dim": args.latent_dim}
    if "identities" in entry.face_options:
        names = list(args.identities or DEFAULT_IDENTITIES)
        unknown = [name for name in names if name not in PERSONS]
        if unknown:
            raise CLIError(
                f"unknown identities {unknown}; the synthetic persons are {sorted(PERSONS)}"
            )
        if len(set(names)) != len(names):
            raise CLIError(f"--identities must be different people, got {names}")
        if args.n_faces < len(names):
            raise CLIError(
                f"--n-faces {args.n_faces} is less than one face per identity ({len(names)})"
            )
        options["identities"] = names
    return options


def _check_resume(model: SepvizModel, args: argparse.Namespace) -> None:
    """Refuse, before any training, to resume from a checkpoint of another run."""
    from sepviz.train import CHECKPOINT_NAME, checkpoint_mismatch
    from sepviz.utils import safe_load

    path = args.out / CHECKPOINT_NAME
    if not path.is_file():
        return
    try:
        state = safe_load(path)
    except ValueError as error:  # a truncated or foreign file
        raise CLIError(f"cannot read the checkpoint {path} to resume from: {error}") from None
    why = "it is not a training checkpoint"
    if isinstance(state, dict):
        why = checkpoint_mismatch(state, model, args.seed, args.batch_size, args.steps)
    if why is not None:
        raise CLIError(
            f"cannot --resume from {path}: {why}; use the same flags to --resume, or another "
            "--out to start over"
        )


def cmd_train(args: argparse.Namespace) -> int:
    """``sepviz train``: render faces, fit the model, save model.pt and history.json."""
    from sepviz.recipes import recipe
    from sepviz.utils import seed_everything

    entry = recipe(args.model)
    if args.identities is not None and "identities" not in entry.face_options:
        raise CLIError(f"--identities applies to deepfakes only, not {args.model}")
    if args.lambda_max is not None and "lambda_max" not in entry.fit_options:
        raise CLIError(f"--lambda-max applies to fadernet only, not {args.model}")
    options = _face_options(args, entry)
    out: Path = args.out
    _writable_folder(out, "--out", out)
    _check_earlier_run(args)

    seed_everything(args.seed)  # the initial weights
    faces = entry.training_faces(args.n_faces, args.size, args.seed, **options)
    model = entry.build(args.size, **options)
    if args.resume:
        _check_resume(model, args)
    fit_kwargs: dict[str, Any] = {
        "batch_size": args.batch_size,
        "seed": args.seed,
        "checkpoint_dir": out,
        "checkpoint_every": args.checkpoint_every,
        "resume": args.resume,
        "progress": args.progress,
    }
    if args.lambda_max is not None:
        fit_kwargs["lambda_max"] = args.lambda_max
    history = entry.fit(model, faces, args.steps, **fit_kwargs).history

    model_path = model.save(out / MODEL_FILE)
    history_path = out / HISTORY_FILE
    history_path.write_text(json.dumps(history.state_dict(), indent=1) + "\n")
    last = ", ".join(f"{name} {values[-1]:.4g}" for name, values in history.losses.items())
    print(
        f"{type(model).__name__}: {model.n_parameters():,} parameters, {args.steps} steps in "
        f"{history.seconds:.1f} s; last losses: {last or 'none'}; saved {model_path}"
    )
    return 0


# -- swap and relight ------------------------------------------------------------------------
def load_model(path: Path) -> SepvizModel:
    """Load a model file (or ``FOLDER/model.pt``); a :class:`CLIError` says what is wrong."""
    from sepviz.models.base import SepvizModel
    from sepviz.utils import safe_load

    if path.is_dir():
        path = path / MODEL_FILE
    if not path.is_file():
        raise CLIError(f"no model file at {path} (train one with 'sepviz train')")
    try:
        state = safe_load(path)
    except Exception as error:  # not a torch file, truncated, or pickled objects
        raise CLIError(f"{path} is not a sepviz model file: {error}") from None
    if not isinstance(state, dict) or ("state_dict" not in state and "model" not in state):
        raise CLIError(f"{path} is not a sepviz model file (no weights in it)")
    name = state.get("class", "?")
    klass = _model_class(name)
    if klass is None:
        raise CLIError(f"{path} holds a {name}, which this version of sepviz does not know")
    try:
        model = klass.load(path)
    except (RuntimeError, TypeError, ValueError) as error:
        raise CLIError(f"cannot load {path}: {error}") from None
    assert isinstance(model, SepvizModel)
    return model


def _model_class(name: str) -> type[SepvizModel] | None:
    """The model class called ``name`` (``"DeepFakes"``, ...), or ``None`` if there is none."""
    import sepviz.models

    if name in sepviz.models.__all__ and name != "SepvizModel":
        return getattr(sepviz.models, name)
    return None


def _input_images(folder: Path, size: int, n: int) -> torch.Tensor:
    """The first ``n`` images of ``folder`` (sorted by name), as (n, 3, size, size)."""
    from sepviz.data.real import load_folder

    if not folder.exists():
        raise CLIError(f"--input {folder} does not exist")
    faces = load_folder(folder, size=size, pseudo_labels=False)
    return faces.images[:n]


def _save(fig: Any, out: Path) -> Path:
    """Save a matplotlib figure to ``out`` (checked by :func:`_figure_file`) and close it."""
    import matplotlib.pyplot as plt

    try:
        fig.savefig(out, dpi=120, bbox_inches="tight")
    except ValueError as error:  # e.g. an unknown file ending
        raise CLIError(f"cannot save the figure to {out}: {error}") from None
    finally:
        plt.close(fig)
    return out


def cmd_swap(args: argparse.Namespace) -> int:
    """``sepviz swap``: inputs in the top row, the same faces swapped to ``--to`` below."""
    import torch

    from sepviz.data.synthetic import PERSONS, make_faces
    from sepviz.recipes import kind_of, recipe
    from sepviz.viz import image_grid

    model = load_model(args.model)
    if not recipe(kind_of(model)).swap:
        raise CLIError(
            f"swap needs a DeepFakes model, but {args.model} holds a {type(model).__name__}; "
            "train one with 'sepviz train deepfakes'"
        )
    names = model.names
    if args.to not in names:
        raise CLIError(f"--to {args.to!r} is not an identity of this model; it has {names}")
    out = _figure_file(args, "swap.png")
    if args.input is not None:
        x = _input_images(args.input, model.image_size, args.n)
        source = args.input.name or str(args.input)
    else:
        others = [name for name in names if name != args.to]
        source = args.source if args.source is not None else (others or names)[0]
        if source not in PERSONS:
            raise CLIError(
                f"no synthetic faces for {source!r} (the persons are {sorted(PERSONS)}); "
                "pass --from NAME or --input FOLDER"
            )
        x = make_faces(args.n, model.image_size, identities=[source], seed=args.seed).images
    swapped = model.swap(x, args.to)
    fig = image_grid(
        torch.stack([x, swapped]),
        row_labels=[f"input ({source})", f"as {args.to}"],
        title=f"DeepFakes swap: {source} -> {args.to}",
    )
    print(f"saved {_save(fig, out)}")
    return 0


def cmd_relight(args: argparse.Namespace) -> int:
    """``sepviz relight``: one row per face; columns are light values or light classes."""
    from sepviz.data.synthetic import make_faces
    from sepviz.grids import decoder_swap_grid, relight_grid
    from sepviz.recipes import kind_of, recipe
    from sepviz.viz import swap_grid

    model = load_model(args.model)
    how = recipe(kind_of(model)).relight
    if how is None:
        raise CLIError(
            f"relight needs a FaderNet or MultiDecoder model, but {args.model} holds a "
            f"{type(model).__name__}; train one with 'sepviz train fadernet' or "
            "'sepviz train multidecoder'"
        )
    if how == "decoders" and args.values is not None:
        raise CLIError(
            f"--values applies to FaderNet only; a {type(model).__name__} relights to its "
            f"decoders {model.names}"
        )
    out = _figure_file(args, "relight.png")
    if args.input is not None:
        x = _input_images(args.input, model.image_size, args.n)
        rows = None
    else:
        faces = make_faces(args.n, model.image_size, identities=args.n, seed=args.seed)
        x = faces.images
        rows = [f"az {float(a):+.0f}°" for a in faces.factors["azimuth"]]
    if how == "slider":
        values = list(args.values if args.values is not None else DEFAULT_VALUES)
        grid = relight_grid(model, x, values)
        columns = [f"y = {v:g}" for v in values]
        title = f"{type(model).__name__} relight: each face with the light value y"
    else:
        grid = decoder_swap_grid(model, x)
        columns = list(model.names)
        title = f"{type(model).__name__} relight: each face decoded by each class's decoder"
    fig = swap_grid(grid, inputs=x, col_labels=columns, row_labels=rows, title=title)
    print(f"saved {_save(fig, out)}")
    return 0


# -- entry point -----------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``sepviz`` command line on ``argv`` (default: ``sys.argv[1:]``).

    Returns the exit status: 0 on success, 2 for a user error or an expected failure (bad
    input, a path that cannot be used, an unreadable or oversized image, a diverging run:
    printed as one line ``sepviz: error: ...``, no traceback), 130 when interrupted. ``--help``
    and flags that argparse rejects raise ``SystemExit`` as usual (status 0 and 2).
    """
    args = build_parser().parse_args(None if argv is None else list(argv))
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        hint = " (rerun with --resume to continue)" if args.command == "train" else ""
        print(f"{PROG}: interrupted{hint}", file=sys.stderr)
        return 130
    except Exception as error:
        if not isinstance(error, _expected_errors()):
            raise  # a bug: the traceback helps
        print(f"{PROG}: error: {_one_line(error)}", file=sys.stderr)
        return 2


def _expected_errors() -> tuple[type[Exception], ...]:
    """The failures :func:`main` reports in one line (PIL is imported only once one happened)."""
    import zipfile

    from PIL import Image

    return (
        CLIError,
        ValueError,
        OSError,  # FileNotFoundError, too-long paths, PIL's UnidentifiedImageError, ...
        FloatingPointError,
        zipfile.BadZipFile,
        Image.DecompressionBombError,
    )


def _one_line(error: Exception) -> str:
    """``error`` as one line; an ``OSError`` names its file (shortened) and the fix."""
    if isinstance(error, OSError) and error.strerror and error.filename is not None:
        fix = OS_FIXES.get(error.errno or 0, "check the path")
        return f"{error.strerror}: {_short(error.filename)}; {fix}"
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


if __name__ == "__main__":
    raise SystemExit(main())
