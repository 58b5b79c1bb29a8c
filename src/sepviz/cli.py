"""The ``sepviz`` command line: train a model on synthetic faces, then swap or relight faces.

Three subcommands::

    sepviz train deepfakes --size 32 --steps 2000 --out run/
    sepviz swap --model run/model.pt --to B --out swap.png
    sepviz relight --model run/model.pt --out relight.png --values -1 0 1

``train`` renders synthetic faces (:func:`sepviz.data.synthetic.make_faces`), trains with the
model's ``fit`` (checkpoints in ``--out``, ``--resume`` continues an interrupted run) and writes
``model.pt`` (with its SHA-256 in ``model.pt.sha256``), ``history.json`` and ``run.json`` (the
run's arguments, its state and the SHA-256 of the checkpoint's weights). ``swap`` (DeepFakes)
and ``relight`` (FaderNet, MultiDecoder) load a ``model.pt`` and save a figure.

Nothing is lost and nothing is found late:

* every output place is checked before any work (a folder that can be written, no file where
  a folder should be, room on the disk), and a file of an earlier run (``model.pt``,
  ``history.json``, ``last.pt``, a figure) is replaced only with ``--overwrite``;
* one writer per output: a run holds a lock on its ``--out`` (:mod:`sepviz.locks`), and a
  second run is refused with the lock's path and the running process's id;
* a training run marks its folder incomplete (``run.json``) until ``model.pt`` is written;
  with ``--overwrite`` the earlier run's files wait in ``OUT/earlier-run/`` until then, so an
  interrupted run leaves the earlier run or a folder marked incomplete, never a mix, and
  ``swap`` / ``relight`` refuse a model of an incomplete folder;
* a model file is checked before a model is built (:mod:`sepviz.checkpoint`): its SHA-256,
  its class, every config field against its bound (:mod:`sepviz.limits`); ``--resume``
  refuses a checkpoint whose weights or arguments (``--n-faces``, ``--lambda-max``, ...)
  differ from what ``run.json`` recorded, naming the flag;
* every size-like flag has a bound, given in ``--help``, checked before anything is built;
* figures are written to a temporary file and renamed, and SIGTERM cleans up like Ctrl-C.

Mistakes a user can make print one line ``sepviz: error: ...`` naming the file or flag and
the fix, and exit with status 2, as argparse does for a bad flag; no traceback. A warning (an
--input file skipped, ...) is one line ``sepviz: warning: ...``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import errno
import json
import math
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sepviz import limits, locks

if TYPE_CHECKING:
    import torch

    from sepviz.models.base import SepvizModel

PROG = "sepviz"
MODELS = ("autoencoder", "deepfakes", "fadernet", "fadernet2", "multidecoder", "vae")
DEFAULT_IDENTITIES = ("A", "B")
DEFAULT_LAMBDA_MAX = 3e-4  # FaderNetConfig's default, written out so that --help needs no torch
DEFAULT_VALUES = (-1.0, -0.5, 0.0, 0.5, 1.0)
AUTOENCODER_PEOPLE = 8
MODEL_FILE = "model.pt"
HISTORY_FILE = "history.json"
# sepviz.train.CHECKPOINT_NAME, written out so that --help needs no torch
CHECKPOINT_FILE = "last.pt"
SHA256_FILE = MODEL_FILE + ".sha256"
RUN_FILE = "run.json"
EARLIER_RUN = "earlier-run"
RUN_FILES = (MODEL_FILE, SHA256_FILE, HISTORY_FILE, CHECKPOINT_FILE, RUN_FILE)
"""What a training run writes in ``--out`` (besides temporary files and its lock)."""
RESUMED_FLAGS = {
    "model": "the model",
    "size": "--size",
    "n_faces": "--n-faces",
    "latent_dim": "--latent-dim",
    "batch_size": "--batch-size",
    "seed": "--seed",
    "identities": "--identities",
    "lambda_max": "--lambda-max",
}
"""The arguments a resumed run must share with the run it continues (run.json: arguments)."""
EXIT_TERMINATED = 128 + 15  # the shell's status for a process ended by SIGTERM
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


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C so that every ``finally`` runs (a
    checkpoint's temporary file is removed, the lock released)."""


def _note(text: str) -> None:
    """One line ``sepviz: note: ...`` on stderr: something done on the user's behalf."""
    print(f"{PROG}: note: {text}", file=sys.stderr)


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


def _int_in(low: int, high: int) -> Callable[[str], int]:
    """argparse type: an int from ``low`` to ``high`` (the bound is in the message)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text[:40]!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"expected an integer from {low:,} to {high:,}, got {value:,}"
            )
        return value

    return parse


def _image_size(text: str) -> int:
    """argparse type: a power of two from 16 to :data:`sepviz.limits.MAX_IMAGE_SIZE`."""
    value = _positive_int(text)
    if value < 16 or value > limits.MAX_IMAGE_SIZE or value & (value - 1):
        raise argparse.ArgumentTypeError(
            f"expected a power of two from 16 to {limits.MAX_IMAGE_SIZE} (32, 64, ...), got {value}"
        )
    return value


def _y_value(text: str) -> float:
    """argparse type: a light value y, finite, within +-:data:`sepviz.limits.MAX_Y`."""
    value = _finite_float(text)
    if abs(value) > limits.MAX_Y:
        raise argparse.ArgumentTypeError(
            f"expected a light value from {-limits.MAX_Y:g} to {limits.MAX_Y:g}, got {text}"
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
            "in [-1, 1]; fadernet2: y = (light azimuth / 60, head yaw / 40), heads turned; "
            "multidecoder: one decoder per light class (left, centre, right); "
            f"autoencoder and vae: {AUTOENCODER_PEOPLE} random people. The run holds a lock on OUT "
            "(a second run into it is refused) and marks OUT incomplete in OUT/run.json until "
            "model.pt is written."
        ),
    )
    p.add_argument("model", choices=MODELS, help="which model to train")
    p.add_argument(
        "--size",
        type=_image_size,
        default=32,
        help=f"side of the square faces in pixels, a power of two from 16 to "
        f"{limits.MAX_IMAGE_SIZE} (default: %(default)s)",
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
        type=_int_in(limits.MIN_BATCH, limits.MAX_TRAINING_FACES),
        default=4000,
        help="synthetic faces rendered for training, in total (deepfakes splits them evenly "
        f"between the identities; each decoder needs {limits.MIN_BATCH} at least): from "
        f"{limits.MIN_BATCH} to {limits.MAX_TRAINING_FACES:,}, and their float32 images "
        f"(N x 3 x size x size x 4 bytes) at most {limits.MAX_FACE_BYTES >> 30} GiB and "
        f"1/{limits.MEMORY_PER_FACE_BYTE} of the memory available (default: %(default)s)",
    )
    p.add_argument(
        "--latent-dim",
        type=_int_in(1, limits.MAX_LATENT_DIM),
        default=64,
        help=f"length of the latent vector z, from 1 to {limits.MAX_LATENT_DIM:,} "
        "(default: %(default)s)",
    )
    p.add_argument(
        "--batch-size",
        type=_int_in(limits.MIN_BATCH, limits.MAX_BATCH_SIZE),
        default=64,
        help="images drawn per step (deepfakes and multidecoder: per identity / class), from "
        f"{limits.MIN_BATCH} (BatchNorm needs two) to {limits.MAX_BATCH_SIZE:,} "
        "(default: %(default)s)",
    )
    p.add_argument(
        "--seed",
        type=_int_in(0, limits.MAX_SEED),
        default=0,
        help="seeds the faces, the initial weights and every batch draw, from 0 to "
        f"{limits.MAX_SEED:,} (default: %(default)s)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path("run"),
        help="output folder for model.pt (its SHA-256 in model.pt.sha256), history.json, the "
        "checkpoint last.pt and the record run.json (default: %(default)s)",
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
        help="fadernet and fadernet2 only: final weight of the adversarial latent loss, "
        "ramped up from 0 "
        f"over the first half of training; 0 trains a plain conditional autoencoder "
        f"(default: {DEFAULT_LAMBDA_MAX})",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue from OUT/last.pt if it exists instead of starting over; the flags "
        "that shape the data or the training (--size, --n-faces, --latent-dim, --batch-size, "
        "--seed, --identities, --lambda-max) must be those in OUT/run.json, and the "
        "checkpoint's weights must match their recorded SHA-256",
    )
    _add_overwrite(
        p,
        "an earlier run's model.pt, history.json or last.pt in OUT (they wait in "
        f"OUT/{EARLIER_RUN}/ until the new run has written its model.pt)",
    )
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
        "folder means FOLDER/model.pt); its SHA-256 (model.pt.sha256), class and config are "
        "checked before a model is built",
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
        "--n",
        type=_int_in(1, limits.MAX_FIGURE_FACES),
        default=8,
        help=f"number of faces to swap, from 1 to {limits.MAX_FIGURE_FACES} (default: %(default)s)",
    )
    p.add_argument(
        "--seed",
        type=_int_in(0, limits.MAX_SEED),
        default=1,
        help="seed of the synthetic input faces, from 0 to "
        f"{limits.MAX_SEED:,}; differs from the training seed 0 so the faces are new to the "
        "model (default: %(default)s)",
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
        "a folder means FOLDER/model.pt); its SHA-256 (model.pt.sha256), class and config are "
        "checked before a model is built",
    )
    _add_figure_out(p, "relight.png")
    p.add_argument(
        "--values",
        type=_y_value,
        nargs="+",
        metavar="Y",
        default=None,
        help="FaderNet only: the light values y, one column each (1 to "
        f"{limits.MAX_VALUES} values, each from {-limits.MAX_Y:g} to {limits.MAX_Y:g}); "
        "-1 = light from the image's left, 0 = front, 1 = right, beyond exaggerates "
        f"(default: {' '.join(f'{v:g}' for v in DEFAULT_VALUES)})",
    )
    p.add_argument(
        "--n",
        type=_int_in(1, limits.MAX_FIGURE_FACES),
        default=6,
        help=f"number of faces, one row each, from 1 to {limits.MAX_FIGURE_FACES} "
        "(default: %(default)s)",
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
        type=_int_in(0, limits.MAX_SEED),
        default=1,
        help="seed of the synthetic input faces (random people, expressions and lights), from "
        f"0 to {limits.MAX_SEED:,} (default: %(default)s)",
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


def _remove_temporary_files(folder: Path, names: Sequence[str]) -> None:
    """Delete the temporary files an interrupted atomic write of ``names`` left in ``folder``
    (``.model.pt.*.tmp``, ...; only while this run holds the folder's lock), with a note."""
    left = [
        path
        for path in folder.iterdir()
        if path.name.endswith(".tmp") and any(path.name.startswith(f".{name}.") for name in names)
    ]
    for path in left:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    if left:
        shown = ", ".join(path.name for path in left[:3]) + (" ..." if len(left) > 3 else "")
        _note(f"removed {len(left)} temporary file(s) of an interrupted write in {folder}: {shown}")


def _hold(out: Path, folder: bool) -> contextlib.AbstractContextManager[Path]:
    """The lock of the output ``out`` (a folder or a figure), held while a command runs."""
    return locks.hold(locks.lock_path(out, folder), f"--out {_short(out)}", _note)


def _free_bytes(folder: Path) -> int | None:
    """Free bytes on ``folder``'s disk (``None`` when the system cannot say)."""
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def _available_memory() -> int | None:
    """Bytes of memory available now (Linux ``MemAvailable``; ``None`` elsewhere)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


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
    _refuse_existing_figure(out, args)
    _writable_folder(out.parent, "--out", out)
    return out


def _refuse_existing_figure(out: Path, args: argparse.Namespace) -> None:
    if out.exists() and not args.overwrite:
        raise CLIError(
            f"--out {_short(out)} exists; pass --overwrite to replace it, or choose another --out"
        )


@contextlib.contextmanager
def _figure_place(out: Path, args: argparse.Namespace) -> Iterator[Path]:
    """Hold the figure's lock, then check again that ``out`` may be written (another run may
    have written it since :func:`_figure_file`), and clean its temporary files."""
    with _hold(out, folder=False):
        _refuse_existing_figure(out, args)
        _remove_temporary_files(out.parent, [out.name])
        yield out


def _save(fig: Any, out: Path) -> Path:
    """Save a matplotlib figure atomically to ``out`` (checked by :func:`_figure_file`): into
    a temporary file beside it, renamed over ``out`` once complete, so a full disk leaves no
    partial figure. The figure is closed."""
    import matplotlib.pyplot as plt

    from sepviz.utils import _umask  # one reading of the umask for every atomic write

    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    os.close(fd)
    try:
        fig.savefig(tmp, format=out.suffix[1:].lower(), dpi=120, bbox_inches="tight")
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, out)
    except ValueError as error:  # e.g. an unknown file ending
        raise CLIError(f"cannot save the figure to {_short(out)}: {error}") from None
    except OSError as error:
        fix = OS_FIXES.get(error.errno or 0, "check the path")
        raise CLIError(
            f"cannot save the figure to {_short(out)}: {error.strerror or error}; {fix} "
            "(nothing was written)"
        ) from None
    finally:
        plt.close(fig)
        if os.path.exists(tmp):
            os.remove(tmp)
    return out


# -- the device --------------------------------------------------------------------------------
def _check_device_env() -> None:
    """``SEPVIZ_DEVICE``, when set, must name a device this machine has: checked by
    :func:`sepviz.utils.pick_device` (which the training loop calls too), before any work, as
    a :class:`CLIError` instead of a failure deep in training for ``tpu``, an empty value, ..."""
    if os.environ.get("SEPVIZ_DEVICE") is None:
        return
    from sepviz.utils import pick_device

    try:
        pick_device()
    except ValueError as error:
        # pick_device lists the device types for a bad name; for one this machine lacks, say
        # which ones there are to choose from
        choose = "or " if "use cuda" in str(error) else "set it to cpu, cuda, cuda:N or mps, or "
        raise CLIError(f"{error}; {choose}unset it to pick the best device") from None


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
        if args.n_faces < limits.MIN_BATCH * len(names):
            raise CLIError(
                f"--n-faces {args.n_faces} is less than {limits.MIN_BATCH} faces per identity "
                f"({len(names)} identities): pass --n-faces {limits.MIN_BATCH * len(names)} "
                "or more"
            )
        options["identities"] = names
    return options


def _check_face_memory(args: argparse.Namespace) -> None:
    """The training faces' float32 images fit :data:`sepviz.limits.MAX_FACE_BYTES` and the
    memory available now (times :data:`sepviz.limits.MEMORY_PER_FACE_BYTE`): checked before a
    face is rendered."""
    per_face = 3 * args.size**2 * 4
    total = args.n_faces * per_face
    if total > limits.MAX_FACE_BYTES:
        raise CLIError(
            f"--n-faces {args.n_faces:,} at --size {args.size} makes {total / 2**30:.1f} GiB "
            f"of float32 images, more than the bound {limits.MAX_FACE_BYTES / 2**30:g} GiB; "
            f"pass --n-faces {limits.MAX_FACE_BYTES // per_face:,} or fewer at this size"
        )
    available = _available_memory()
    need = total * limits.MEMORY_PER_FACE_BYTE
    if available is not None and need > available:
        raise CLIError(
            f"--n-faces {args.n_faces:,} at --size {args.size} needs about {need / 2**30:.1f} "
            f"GiB of memory to train, and {available / 2**30:.1f} GiB are available now; "
            "pass a smaller --n-faces or --size"
        )


def _check_decoder_faces(entry: Any, faces: Any, model: SepvizModel, n_faces: int) -> None:
    """Every decoder of a multi-decoder model gets :data:`sepviz.limits.MIN_BATCH` training
    faces at least (a batch of one image has no BatchNorm statistics)."""
    import torch

    names = list(getattr(model, "names", None) or [])
    target = entry.target(faces)
    if not names or not isinstance(target, torch.Tensor) or target.is_floating_point():
        return
    counts = torch.bincount(target.long().flatten(), minlength=len(names)).tolist()
    for name, count in zip(names, counts):
        if count < limits.MIN_BATCH:
            raise CLIError(
                f"--n-faces {n_faces} gives the decoder {name!r} {count} training face(s); each "
                f"decoder needs {limits.MIN_BATCH} at least (BatchNorm normalises over a batch): "
                f"pass a larger --n-faces, e.g. {8 * len(names)}"
            )


def _check_free_space(out: Path, model: SepvizModel) -> None:
    """Refuse before training when ``out``'s disk cannot hold what the run writes: model.pt,
    and the checkpoint last.pt (the weights and Adam's two moments) twice while it is
    replaced."""
    weights = sum(t.numel() * t.element_size() for t in model.state_dict().values())
    need = 7 * weights + (1 << 20)
    free = _free_bytes(out)
    if free is not None and free < need:
        raise CLIError(
            f"--out {_short(out)}: {free / 1e6:.1f} MB free on its disk, and this run writes "
            f"about {need / 1e6:.1f} MB (model.pt, and the checkpoint last.pt with the "
            "optimiser's state, twice while it is replaced); free some disk space or choose "
            "another --out"
        )


def _read_record(out: Path, overwrite: bool = False) -> dict[str, Any] | None:
    """``out/run.json`` (the record of the run in ``out``), ``None`` if there is none; a
    damaged one is an error, or with ``overwrite`` the record of an unfinished run."""
    path = out / RUN_FILE
    if not path.exists():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        record = None
    if not isinstance(record, dict) or not isinstance(record.get("arguments", {}), dict):
        if overwrite:
            return {"status": "damaged"}
        raise CLIError(
            f"{_short(path)} is damaged (not the JSON record of a sepviz run); pass --overwrite "
            "to start over in that folder, or choose another --out"
        )
    return record


def _finished(record: dict[str, Any] | None) -> bool:
    """Whether a run record says its run wrote model.pt (no record: a run of an older sepviz,
    which wrote no record, is taken as finished)."""
    return record is None or record.get("status") == "complete"


def _check_earlier_run(args: argparse.Namespace, record: dict[str, Any] | None) -> bool:
    """Refuse, before any training, to replace the files of an earlier run in ``--out``;
    returns whether this run resumes one."""
    out: Path = args.out
    found = [name for name in RUN_FILES if name != SHA256_FILE and (out / name).exists()]
    unfinished = not _finished(record)
    resumable = CHECKPOINT_FILE in found or unfinished
    if found and not (args.resume and resumable) and not args.overwrite:
        resume = "--resume to continue it, " if resumable else ""
        what = "an unfinished run" if unfinished else "an earlier run"
        raise CLIError(
            f"--out {_short(out)} holds {', '.join(found)} of {what}; pass {resume}"
            "--overwrite to replace it, or choose another --out"
        )
    return args.resume and (out / CHECKPOINT_FILE).exists()


def _takes_lambda(entry: Any) -> bool:
    """Whether the recipe's model has FaderNet's ``lambda_max`` (``--lambda-max``)."""
    return "lambda_max" in {f.name for f in dataclasses.fields(entry.model_class().Config)}


def _run_arguments(
    args: argparse.Namespace, options: dict[str, Any], takes_lambda: bool
) -> dict[str, Any]:
    """What run.json records: every flag that shapes the data or the training
    (:data:`RESUMED_FLAGS`; ``lambda_max`` for a model that has it, given or not), and the
    steps."""
    arguments: dict[str, Any] = {
        "model": args.model,
        "size": args.size,
        "n_faces": args.n_faces,
        "latent_dim": args.latent_dim,
        "batch_size": args.batch_size,
        "seed": args.seed,
    }
    if "identities" in options:
        arguments["identities"] = list(options["identities"])
    if takes_lambda:  # fadernet and fadernet2: its default is recorded too
        lam = args.lambda_max if args.lambda_max is not None else DEFAULT_LAMBDA_MAX
        arguments["lambda_max"] = lam
    arguments["steps"] = args.steps
    return arguments


def _show(value: Any) -> str:
    """A recorded argument as it is written on the command line."""
    if isinstance(value, list):
        return " ".join(map(str, value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def _check_resume_arguments(
    out: Path, record: dict[str, Any] | None, arguments: dict[str, Any]
) -> None:
    """Refuse to resume the checkpoint of a run made with other data or training flags."""
    checkpoint = out / CHECKPOINT_FILE
    if record is None:
        return  # a run of an older sepviz: _check_resume says what it can check
    saved = record.get("arguments", {})
    for key, flag in RESUMED_FLAGS.items():
        if key in saved and key in arguments and saved[key] != arguments[key]:
            if key == "model":
                why = f"it trains a {saved[key]}, this run a {arguments[key]}"
            else:
                why = (
                    f"it was trained with {flag} {_show(saved[key])}, this run has {flag} "
                    f"{_show(arguments[key])}"
                )
            raise CLIError(
                f"cannot --resume from {_short(checkpoint)}: {why} (recorded in {RUN_FILE}); "
                "use the same flags to --resume, or another --out to start over"
            )


def _check_resume(
    model: SepvizModel, args: argparse.Namespace, record: dict[str, Any] | None
) -> dict[str, str]:
    """Refuse, before any training, to resume from a checkpoint of another run or a damaged
    one; returns the recorded weight digests to keep (step -> SHA-256)."""
    from sepviz.checkpoint import ModelFileError, read_model_file, weights_digest
    from sepviz.train import checkpoint_mismatch

    path = args.out / CHECKPOINT_FILE
    try:
        state = read_model_file(path).state
    except ModelFileError as error:
        raise CLIError(f"cannot --resume: {error}") from None
    if not {"model", "optimizers", "step"} <= set(state):
        raise CLIError(f"cannot --resume from {_short(path)}: it is not a training checkpoint")
    why = checkpoint_mismatch(state, model, args.seed, args.batch_size, args.steps)
    if why is not None:
        raise CLIError(
            f"cannot --resume from {path}: {why}; use the same flags to --resume, or another "
            "--out to start over"
        )
    if record is None:
        _note(
            f"{_short(args.out / RUN_FILE)} is missing (a run of an older sepviz?): only the "
            f"model, its config, the seed, the batch size and the step of {CHECKPOINT_FILE} "
            "were checked before resuming"
        )
        return {}
    digests = record.get("checkpoint_weights")
    step = str(state["step"])
    if not isinstance(digests, dict) or step not in digests:
        shown = sorted(map(int, digests)) if isinstance(digests, dict) else []
        raise CLIError(
            f"cannot --resume from {_short(path)}: it is at step {step}, but {RUN_FILE} records "
            f"the weights of steps {shown}: the checkpoint is not this run's; pass --overwrite "
            "to start over"
        )
    if weights_digest(state["model"]) != digests[step]:
        raise CLIError(
            f"cannot --resume from {_short(path)}: its weights at step {step} do not match the "
            f"SHA-256 recorded in {RUN_FILE}: the checkpoint is damaged; pass --overwrite to "
            "start over"
        )
    return {step: digests[step]}


def _write_record(out: Path, record: dict[str, Any]) -> None:
    from sepviz.checkpoint import atomic_write_text

    atomic_write_text(out / RUN_FILE, json.dumps(record, indent=1) + "\n")


def _begin_run(
    out: Path,
    record: dict[str, Any] | None,
    resuming: bool,
    arguments: dict[str, Any],
    digests: dict[str, str],
) -> dict[str, Any]:
    """Mark ``out`` incomplete (run.json) before anything is written. A finished earlier run's
    files move to ``out/earlier-run/`` (until this run writes its model.pt); an unfinished
    one's partial files are deleted unless this run resumes it. Returns the new record."""
    earlier = out / EARLIER_RUN
    # kept unless the record says its run was interrupted (a damaged record: kept, to be safe)
    finished = (out / MODEL_FILE).exists() and (record is None or record.get("status") != "running")
    replaced = [MODEL_FILE, SHA256_FILE, HISTORY_FILE]
    if not resuming:
        replaced += [CHECKPOINT_FILE, RUN_FILE]
    present = [name for name in replaced if (out / name).exists()]
    if present and finished:
        if earlier.exists():
            shutil.rmtree(earlier)
        earlier.mkdir()
        for name in present:
            os.replace(out / name, earlier / name)
    elif present and not resuming:
        for name in present:
            (out / name).unlink()
    new = {
        "sepviz": _version(),
        "status": "running",
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "pid": os.getpid(),
        "command": " ".join(sys.argv)[:1000],
        "arguments": arguments,
        "checkpoint_weights": dict(digests),
    }
    _write_record(out, new)
    return new


def _version() -> str:
    from sepviz import __version__

    return __version__


def _weights_recorder(
    out: Path, record: dict[str, Any], steps: int, every: int
) -> Callable[[Any, int, dict[str, float]], None]:
    """A ``fit`` callback that records, in run.json, the SHA-256 of the weights that the next
    checkpoint will hold (it runs after a step's update, before that step's checkpoint is
    written), keeping the digest of the checkpoint on disk beside it: a checkpoint and its
    digest are never out of step, whenever the run stops."""
    from sepviz.checkpoint import weights_digest

    def record_weights(model: Any, step: int, losses: dict[str, float]) -> None:
        saved = step + 1
        if saved % every and saved != steps:
            return
        kept = record["checkpoint_weights"]
        latest = max(map(int, kept), default=None)
        new = {str(saved): weights_digest(model.state_dict())}
        if latest is not None and latest != saved:
            new[str(latest)] = kept[str(latest)]
        record["checkpoint_weights"] = new
        _write_record(out, record)

    return record_weights


def _finish_run(out: Path, record: dict[str, Any]) -> None:
    """Mark ``out`` complete, then drop the earlier run it replaced."""
    record["status"] = "complete"
    record["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    _write_record(out, record)
    shutil.rmtree(out / EARLIER_RUN, ignore_errors=True)


def cmd_train(args: argparse.Namespace) -> int:
    """``sepviz train``: render faces, fit the model, save model.pt and history.json."""
    from sepviz.recipes import recipe

    _check_device_env()
    entry = recipe(args.model)
    if args.identities is not None and "identities" not in entry.face_options:
        raise CLIError(f"--identities applies to deepfakes only, not {args.model}")
    if args.lambda_max is not None and not _takes_lambda(entry):
        fader = " and ".join(kind for kind in MODELS if kind.startswith("fadernet"))
        raise CLIError(f"--lambda-max applies to {fader} only, not {args.model}")
    options = _face_options(args, entry)
    if args.lambda_max is not None:  # a setting of FaderNet's config
        options["lambda_max"] = args.lambda_max
    _check_face_memory(args)
    out: Path = args.out
    _writable_folder(out, "--out", out)
    with _hold(out, folder=True):
        _remove_temporary_files(out, RUN_FILES)
        return _train(args, entry, options)


def _train(args: argparse.Namespace, entry: Any, options: dict[str, Any]) -> int:
    """``sepviz train`` once ``--out`` is checked and locked."""
    from sepviz.checkpoint import atomic_write_text, write_sidecar
    from sepviz.utils import seed_everything

    out: Path = args.out
    record = _read_record(out, overwrite=args.overwrite and not args.resume)
    resuming = _check_earlier_run(args, record)
    arguments = _run_arguments(args, options, _takes_lambda(entry))
    if resuming:
        _check_resume_arguments(out, record, arguments)

    seed_everything(args.seed)  # the initial weights
    faces = entry.training_faces(args.n_faces, args.size, args.seed, **options)
    model = entry.build(args.size, **options)
    _check_decoder_faces(entry, faces, model, args.n_faces)
    digests = _check_resume(model, args, record) if resuming else {}
    _check_free_space(out, model)

    record = _begin_run(out, record, resuming, arguments, digests)
    fit_kwargs: dict[str, Any] = {
        "batch_size": args.batch_size,
        "seed": args.seed,
        "checkpoint_dir": out,
        "checkpoint_every": args.checkpoint_every,
        "resume": resuming,
        "progress": args.progress,
        "callbacks": [_weights_recorder(out, record, args.steps, args.checkpoint_every)],
    }
    history = entry.fit(model, faces, args.steps, **fit_kwargs).history

    model_path = model.save(out / MODEL_FILE)
    write_sidecar(model_path)
    atomic_write_text(out / HISTORY_FILE, json.dumps(history.state_dict(), indent=1) + "\n")
    _finish_run(out, record)
    last = ", ".join(f"{name} {values[-1]:.4g}" for name, values in history.losses.items())
    print(
        f"{type(model).__name__}: {model.n_parameters():,} parameters, {args.steps} steps in "
        f"{history.seconds:.1f} s; last losses: {last or 'none'}; saved {model_path}"
    )
    return 0


# -- swap and relight ------------------------------------------------------------------------
def load_model(path: Path) -> SepvizModel:
    """Load a model file (or ``FOLDER/model.pt``) once it is checked
    (:func:`sepviz.checkpoint.read_model_file`: its SHA-256, class, config bounds and
    tensors); a :class:`CLIError` says what is wrong, naming the file."""
    from sepviz.checkpoint import (
        DamagedFileError,
        ModelFileError,
        build_model,
        check_stored_digest,
        read_model_file,
        sidecar_of,
    )

    if path.is_dir():
        path = path / MODEL_FILE
    if not path.is_file():
        raise CLIError(f"no model file at {path} (train one with 'sepviz train')")
    _refuse_unfinished(path)
    try:
        checked = read_model_file(path)
        # read_model_file checks a model.pt's own SHA-256 and leaves a last.pt's to its reader
        sure = checked.verified or check_stored_digest(checked.state, checked.path)
    except DamagedFileError as error:
        raise CLIError(f"{error}; train it again with 'sepviz train', or restore a copy") from None
    except ModelFileError as error:
        raise CLIError(str(error)) from None
    if not sure:
        _note(
            f"{_short(path)} has no SHA-256 beside it ({sidecar_of(path).name}) nor in it (a "
            "file of an older sepviz?), so its weights are not checked"
        )
    return build_model(checked)


def _refuse_unfinished(path: Path) -> None:
    """A ``model.pt`` in a folder whose run.json says its run did not finish is refused."""
    if path.name != MODEL_FILE or not (path.parent / RUN_FILE).exists():
        return
    try:
        record = json.loads((path.parent / RUN_FILE).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        record = None
    if not isinstance(record, dict) or record.get("status") != "complete":
        raise CLIError(
            f"{_short(path.parent)} is marked incomplete in {RUN_FILE}: its training run was "
            "interrupted or is still running; finish it with 'sepviz train' and the same flags "
            "plus --resume, or use another model"
        )


def _input_images(folder: Path, size: int, n: int) -> torch.Tensor:
    """The first ``n`` images of ``folder`` (sorted by name), as (at most n, 3, size, size)
    float32 in [0, 1]; the files after them are not opened (a folder of 100,000 photos costs
    ``n`` reads)."""
    from sepviz.data.real import load_folder

    if not folder.exists():
        raise CLIError(f"--input {_short(folder)} does not exist")
    return load_folder(folder, size=size, pseudo_labels=False, n=n).images


def _recipe_of(model: SepvizModel) -> tuple[str | None, Any]:
    """The recipe kind and entry of a loaded model; ``(None, None)`` for a model no recipe
    trains (a PCA, an ErasedFaderNet of the book), which swap and relight refuse."""
    from sepviz.recipes import kind_of, recipe

    try:
        kind = kind_of(model)
    except ValueError:
        return None, None
    return kind, recipe(kind)


def _what(model: SepvizModel, kind: str | None) -> str:
    """The model's class (``"VAE"``), and its recipe where the class alone does not say why a
    command refuses it (``"FaderNet with attribute_dim 2 ('sepviz train fadernet2')"``)."""
    name = type(model).__name__
    if kind is None or kind == name.lower():
        return name
    dim = getattr(getattr(model, "config", None), "attribute_dim", None)
    extra = f" with attribute_dim {dim}" if dim is not None else ""
    return f"{name}{extra} ('sepviz train {kind}')"


def cmd_swap(args: argparse.Namespace) -> int:
    """``sepviz swap``: inputs in the top row, the same faces swapped to ``--to`` below."""
    import torch

    from sepviz.data.synthetic import PERSONS, make_faces
    from sepviz.viz import image_grid

    model = load_model(args.model)
    kind, entry = _recipe_of(model)
    if entry is None or not entry.swap:
        raise CLIError(
            f"swap needs a DeepFakes model, but {args.model} holds a {_what(model, kind)}; "
            "train one with 'sepviz train deepfakes'"
        )
    names = model.names
    if args.to not in names:
        raise CLIError(f"--to {args.to!r} is not an identity of this model; it has {names}")
    out = _figure_file(args, "swap.png")
    with _figure_place(out, args):
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
    from sepviz.viz import swap_grid

    if args.values is not None and len(args.values) > limits.MAX_VALUES:
        raise CLIError(
            f"--values has {len(args.values)} values; at most {limits.MAX_VALUES} columns fit "
            "a figure"
        )
    model = load_model(args.model)
    kind, entry = _recipe_of(model)
    how = entry.relight if entry is not None else None
    if how is None:
        raise CLIError(
            f"relight needs a FaderNet or MultiDecoder model, but {args.model} holds a "
            f"{_what(model, kind)}; train one with 'sepviz train fadernet' or "
            "'sepviz train multidecoder'"
        )
    if how == "decoders" and args.values is not None:
        raise CLIError(
            f"--values applies to FaderNet only; a {type(model).__name__} relights to its "
            f"decoders {model.names}"
        )
    out = _figure_file(args, "relight.png")
    with _figure_place(out, args):
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
    input, a path that cannot be used, an output another run is writing, a damaged model file,
    an unreadable or oversized image, a diverging run: printed as one line
    ``sepviz: error: ...``, no traceback), 130 when interrupted (Ctrl-C), 143 when terminated
    (SIGTERM: cleaned up like Ctrl-C). ``--help`` and flags that argparse rejects raise
    ``SystemExit`` as usual (status 0 and 2).
    """
    args = build_parser().parse_args(None if argv is None else list(argv))
    try:
        with _sigterm_as_interrupt(), _warnings_in_one_line():
            return int(args.func(args))
    except KeyboardInterrupt as error:
        word = "terminated" if isinstance(error, Terminated) else "interrupted"
        print(f"{PROG}: {word}{_interrupt_hint(args)}", file=sys.stderr)
        return EXIT_TERMINATED if isinstance(error, Terminated) else 130
    except Exception as error:
        if not isinstance(error, _expected_errors()):
            raise  # a bug: the traceback helps
        print(f"{PROG}: error: {_one_line(error)}", file=sys.stderr)
        return 2


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """While a command runs, SIGTERM raises :class:`Terminated` in the main thread (as Ctrl-C
    raises ``KeyboardInterrupt``), so temporary files are removed and locks released."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: Any) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


@contextlib.contextmanager
def _warnings_in_one_line() -> Iterator[None]:
    """While a command runs, a warning (files of --input skipped, ...) is one line
    ``sepviz: warning: ...``, not Python's source path and line of code."""
    import warnings

    def show(message: Any, category: Any, *args: Any, **kwargs: Any) -> None:
        text = " ".join(str(message).split())
        print(f"{PROG}: warning: {_short(text, 600)}", file=sys.stderr)

    with warnings.catch_warnings():  # puts Python's showwarning back
        warnings.showwarning = show
        yield


def _interrupt_hint(args: argparse.Namespace) -> str:
    """What an interrupted command left: for ``train``, how to continue and where the
    earlier run's files wait."""
    if args.command != "train":
        return ""
    hint = f" (rerun with --resume to continue; {_short(args.out)} is marked incomplete"
    if (args.out / EARLIER_RUN).is_dir():
        hint += f", the earlier run's files wait in {_short(args.out / EARLIER_RUN)}"
    return hint + ")"


def _expected_errors() -> tuple[type[Exception], ...]:
    """The failures :func:`main` reports in one line (PIL is imported only once one happened)."""
    import zipfile

    from PIL import Image

    return (
        CLIError,
        locks.OutputBusy,
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
