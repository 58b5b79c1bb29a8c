"""Trained models on demand: train once with a recipe, then load from a cache.

Several chapters study the same model (chapter 4 trains DeepFakes, chapters 7 and 8 probe
it). :func:`trained` trains it the first time with its recipe (:data:`sepviz.recipes.RECIPES`:
which faces, which target) and saves it under ``cache_dir``; later calls with the same
arguments load it in a second. Two processes asking for the same model at once (two chapters
executed side by side) train it once: the second waits on a lock file beside it.

A model's file name is a hash of its arguments and of the *training code*
(:func:`fingerprint`: the package modules a trained model depends on, comments and docstrings
left out), so a changed recipe or a changed model never loads a stale file.

**Pretrained models.** The quick budget's models ship with the repository in
``data/pretrained/`` (:data:`PRETRAINED`), each beside a ``.json`` card with its arguments and
its SHA-256, like the pretrained checkpoints of the UvA deep-learning tutorials: a chapter
loads them in a second instead of training for minutes, so the book builds and the tests run
on two CPU cores in minutes. They are only found while the training code is the code that
trained them (the fingerprint is in the name); ``make pretrained`` trains the missing ones
(:func:`prune_stale` first drops those the code no longer makes), and a test fails while any is
stale. A model not shipped is trained as before.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import hashlib
import inspect
import json
import os
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch

import sepviz.models
from sepviz.checkpoint import atomic_write_text, load_model_file
from sepviz.data.download import check_sha256, sha256_of
from sepviz.data.faceset import FaceSet
from sepviz.models.base import SepvizModel
from sepviz.recipes import recipe
from sepviz.utils import atomic_save

PACKAGE = Path(__file__).resolve().parent
DEFAULT_CACHE = PACKAGE.parents[1] / "data" / "cache" / "models"
PRETRAINED = PACKAGE.parents[1] / "data" / "pretrained"
"""The repository's pretrained models (absent when sepviz is installed without it)."""
TRAINING_CODE = (
    "models/base.py",
    "models/blocks.py",
    "train.py",
    "recipes.py",
    "erasure.py",
    "utils.py",
    "data/synthetic.py",
    "data/faceset.py",
)
"""The package files every trained model depends on. Each model also depends on its own class's
modules (:func:`model_code`: ``models/fadernet.py`` for a FaderNet), so changing one model
retrains that model only. ``data/pose.py`` is not here: frontal faces never run it."""


def model_code(model_class: str | None) -> tuple[str, ...]:
    """The package files of ``model_class`` (a name in :mod:`sepviz.models`): the modules of the
    classes it is made from (its MRO), e.g. ``("models/base.py", "models/fadernet.py")``;
    ``None``: every model module (``("models",)``)."""
    if model_class is None:
        return ("models",)
    klass = getattr(sepviz.models, model_class, None)
    if not (isinstance(klass, type) and issubclass(klass, SepvizModel)):
        raise ValueError(f"model_class must name a model of sepviz.models, got {model_class!r}")
    files = {
        Path(inspect.getfile(c)).resolve().relative_to(PACKAGE).as_posix()
        for c in klass.__mro__
        if c.__module__.startswith("sepviz.")
    }
    return tuple(sorted(files))


def cache_dir() -> Path:
    """Where trained models are kept: ``$SEPVIZ_CACHE`` or ``data/cache/models`` of the repo
    (``~/.cache/sepviz/models`` when sepviz is installed without the repository)."""
    if os.environ.get("SEPVIZ_CACHE"):
        return Path(os.environ["SEPVIZ_CACHE"])
    if DEFAULT_CACHE.parent.parent.is_dir():
        return DEFAULT_CACHE
    return Path.home() / ".cache" / "sepviz" / "models"


def _without_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]  # type: ignore[attr-defined]
    return tree


@functools.cache
def fingerprint(extra: tuple[str, ...] = ()) -> str:
    """A hash of the training code: the syntax trees of :data:`TRAINING_CODE` and of the
    ``extra`` package files (e.g. ``"experiments/decoder_per_light.py"``), docstrings and
    comments left out, so rewording them keeps every trained model valid. 16 hex digits."""
    digest = hashlib.sha256()
    for name in sorted({*TRAINING_CODE, *extra}):
        path = PACKAGE / name
        if not path.exists():
            raise ValueError(f"no such sepviz file or folder: {name!r} (under {PACKAGE})")
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            tree = _without_docstrings(ast.parse(file.read_text(encoding="utf-8")))
            digest.update(file.relative_to(PACKAGE).as_posix().encode())
            digest.update(ast.dump(tree).encode())
    return digest.hexdigest()[:16]


def model_file(name: str, args: dict[str, Any], code: tuple[str, ...] = ()) -> str:
    """The file name of model ``name`` trained with ``args`` by the current training code
    (plus the ``code`` files): ``"<name>-<16 hex digits>.pt"``."""
    key = json.dumps([name, args, fingerprint(tuple(code))], sort_keys=True, default=str)
    return f"{name}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.pt"


def data_digest(*tensors: torch.Tensor) -> str:
    """A hash naming a training set in :func:`cached`'s arguments: the exact bytes of every
    tensor (e.g. the faces and their labels). A machine whose resampling rounds a last bit
    otherwise names other faces, and trains its own model: nothing is loaded for the wrong
    data. 16 hex digits."""
    digest = hashlib.sha256()
    for tensor in tensors:
        t = tensor.detach().cpu().contiguous()
        digest.update(f"{t.dtype}{tuple(t.shape)}".encode())
        digest.update(t.numpy().tobytes())
    return digest.hexdigest()[:16]


def cached(
    name: str,
    args: dict[str, Any],
    train: Callable[[], SepvizModel],
    code: tuple[str, ...] = (),
    cache: bool = True,
    model_class: str | None = None,
) -> SepvizModel:
    """``train()``'s model, trained once: loaded from :func:`cache_dir` or :data:`PRETRAINED`
    when a file made with the same ``args`` by the same training code is there, else trained
    and saved to the cache with its card (a ``.json``: name, args, code, class, SHA-256).

    Every file is checked before it is used (:func:`sepviz.checkpoint.read_model_file`): its
    bytes against its card's SHA-256, its class against the card's and ``model_class``, its
    config against the bounds. A damaged cache entry (a flipped byte, a truncated file, a card
    that cannot be read, another class) is deleted with a :class:`ZooWarning` saying so, and
    the shipped copy is used instead, or the model is trained again.

    Args:
        name: the model's name in its file name, e.g. ``"fadernet-32px"``.
        args: everything ``train`` depends on besides the code (JSON-able).
        train: trains and returns the model.
        code: package files beyond :data:`TRAINING_CODE` and :func:`model_code` that ``train``
            runs (e.g. the experiment module that trains it).
        cache: ``False`` always trains and saves nothing.
        model_class: the class the model must be (e.g. ``"DeepFakes"``): its modules join the
            fingerprint (:func:`model_code`); ``None``: the card's class, and every model module
            in the fingerprint.

    Raises:
        ValueError: a damaged pretrained file (not matching its card's SHA-256, another
            class) or a card that cannot be read, naming the file: restore it with git.
    """
    if not cache:
        return train()
    code = tuple(dict.fromkeys((*code, *model_code(model_class))))
    filename = model_file(name, args, code)
    path = cache_dir() / filename
    with _lock(path):  # another process training this model: wait for it, then load
        _staging(path).unlink(missing_ok=True)  # a save interrupted before its rename
        shipped = PRETRAINED / filename
        if path.exists():
            try:
                return _load_checked(path, model_class)
            except ValueError as error:
                fallback = "the shipped copy" if shipped.exists() else "training it again"
                warnings.warn(
                    f"damaged model cache entry: {error}; deleted it, using {fallback}",
                    ZooWarning,
                    stacklevel=2,
                )
                path.unlink(missing_ok=True)
                path.with_suffix(".json").unlink(missing_ok=True)
        if shipped.exists() and shipped != path:
            try:
                return _load_checked(shipped, model_class)
            except ValueError as error:
                raise ValueError(
                    f"{error} (a Git LFS pointer or a damaged file?): restore it with git, or "
                    "delete it and its .json to retrain"
                ) from None
        model = train()
        _store(model, path, {"name": name, "args": args, "code": list(code)})
    return model


class ZooWarning(UserWarning):
    """A damaged cache entry was deleted and replaced (by the shipped copy or by training)."""


def read_card(card_path: Path) -> dict[str, Any]:
    """A model's card (``<model>.json``): a mapping with ``name``, ``args``, ``code`` and a
    ``sha256`` of 64 hex digits; a ``ValueError`` naming the card says what is wrong."""
    if not card_path.is_file():
        raise ValueError(f"{card_path} is missing: the card of {card_path.with_suffix('.pt')}")
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"the card {card_path} is not valid JSON ({error})") from None
    if not isinstance(card, dict):
        raise ValueError(f"the card {card_path} is not a JSON object")
    missing = [key for key in ("name", "args", "code", "sha256") if key not in card]
    if missing:
        raise ValueError(f"the card {card_path} has no {', '.join(map(repr, missing))}")
    if not isinstance(card["code"], list) or not isinstance(card["name"], str):
        raise ValueError(f"the card {card_path} has a malformed 'name' or 'code'")
    try:
        check_sha256(card["sha256"], f"the sha256 of the card {card_path}")
    except ValueError as error:
        raise ValueError(str(error)) from None
    return card


def _load_checked(path: Path, model_class: str | None) -> SepvizModel:
    """The model at ``path`` once its card, SHA-256, class and config are checked."""
    card_path = path.with_suffix(".json")
    card = read_card(card_path)
    if model_class and card.get("class") not in (None, model_class):
        raise ValueError(f"the card {card_path} names a {card['class']}, not a {model_class}")
    expected = model_class or card.get("class")
    return load_model_file(path, card["sha256"], expected, recorded_in=card_path)


def _staging(path: Path) -> Path:
    return path.with_name(f".{path.name}.partial")


STORED_DTYPE = torch.float16
"""The zoo stores float32 weights in half precision: it halves ``data/pretrained/`` (the
repository ships it under 150 MB), and it moves no number of the book: rounding every weight
to 11 significant bits changed the chapters' headline PSNRs by under 0.01 dB and no probe
score (``tests/test_zoo.py`` measures it on a trained model). A model is loaded back in
float32 (``load_state_dict`` casts), so it computes in full precision."""


def store_half(path: Path) -> dict[str, torch.Tensor] | None:
    """Rewrite the model file at ``path`` with its float32 tensors in :data:`STORED_DTYPE`
    (atomically; other tensors, the config and the History unchanged). A tensor that would
    not survive the rounding (beyond float16's range) stays float32; the SHA-256 stored in the
    file (:data:`sepviz.train.DIGEST_KEY`) is computed again for the weights as stored. Returns
    the weights as stored when the file changed, else None."""
    from sepviz.checkpoint import load_weights_only

    state = load_weights_only(path.read_bytes(), path)
    weights = state.get("state_dict", state.get("model"))
    changed = False
    for key, tensor in list(weights.items()):
        if isinstance(tensor, torch.Tensor) and tensor.dtype == torch.float32:
            half = tensor.to(STORED_DTYPE)
            if torch.isfinite(half).all():
                weights[key] = half
                changed = True
    from sepviz.train import DIGEST_KEY, contents_digest

    if DIGEST_KEY in state and state[DIGEST_KEY] != contents_digest(state):
        # the SHA-256 stored in the file is of its contents: of the weights as stored now
        state[DIGEST_KEY] = contents_digest(state)
        changed = True
    if not changed:
        return None
    atomic_save(state, path)
    return weights


def _store(model: SepvizModel, path: Path, card: dict[str, Any]) -> None:
    """Save ``model`` at ``path`` with its card: the file is written under a staging name
    (weights in :data:`STORED_DTYPE`), hashed, its card written, and only then renamed to
    ``path``, so a model file never stands without its card. ``model`` takes the stored
    weights back, so it computes what every later load of the file computes."""
    staging = model.save(_staging(path))
    stored = store_half(staging)
    if stored is not None:
        model.load_state_dict(stored)
    card = {**card, "class": type(model).__name__, "sha256": sha256_of(staging)}
    text = json.dumps(card, indent=1, sort_keys=True, default=str)
    atomic_write_text(path.with_suffix(".json"), text + "\n")
    os.replace(staging, path)


def stale(folder: Path = PRETRAINED) -> list[Path]:
    """The model files in ``folder`` that the current training code would not make under
    their name (their card's arguments hash to another name, or it names a code file that is
    gone), or whose bytes do not match their card's SHA-256, or whose card is missing or
    cannot be read (a :class:`ZooWarning` names it; the other files are still checked)."""
    found = []
    for path in sorted(folder.glob("*.pt")):
        try:
            card = read_card(path.with_suffix(".json"))
        except ValueError as error:
            if path.with_suffix(".json").exists():
                warnings.warn(f"{error}: counted as stale", ZooWarning, stacklevel=2)
            found.append(path)
            continue
        try:
            name = model_file(card["name"], card["args"], tuple(card["code"]))
        except (ValueError, TypeError):  # its card names a code file the package no longer has
            name = None
        if name != path.name or sha256_of(path) != card["sha256"].lower():
            found.append(path)
    return found


def store_folder_half(folder: Path = PRETRAINED) -> list[Path]:
    """:func:`store_half` every model of ``folder`` still holding float32 weights, and write
    its card's new SHA-256 (the card's other fields unchanged); returns the files changed.
    ``make pretrained`` runs it, so models shipped before the zoo stored half precision
    shrink too, under the same names (the names hash arguments and code, not bytes)."""
    changed = []
    for path in sorted(folder.glob("*.pt")):
        card_path = path.with_suffix(".json")
        card = read_card(card_path)
        if sha256_of(path) != card["sha256"].lower():
            raise ValueError(f"{path} does not match the SHA-256 of {card_path}: not rewritten")
        if store_half(path) is not None:
            card["sha256"] = sha256_of(path)
            text = json.dumps(card, indent=1, sort_keys=True, default=str)
            atomic_write_text(card_path, text + "\n")
            changed.append(path)
    return changed


def prune_stale(folder: Path = PRETRAINED) -> list[Path]:
    """Delete :func:`stale` model files of ``folder`` and their cards; returns them."""
    gone = stale(folder)
    for path in gone:
        path.unlink()
        path.with_suffix(".json").unlink(missing_ok=True)
    return gone


SETTINGS: dict[str, dict[str, int]] = {
    # quick: 2 CPU cores, a few minutes per chapter; full: a Colab GPU
    "quick": {"size": 32, "steps": 1500, "n_faces": 4000},
    "full": {"size": 64, "steps": 8000, "n_faces": 20000},
}


def settings(budget: str) -> dict[str, int]:
    """Image size, training steps and training-set size of a budget (``"quick"``/``"full"``),
    as keyword arguments for :func:`trained`. Chapters that pass the same settings share one
    trained model through the cache."""
    if budget not in SETTINGS:
        raise ValueError(f"budget must be one of {sorted(SETTINGS)}, got {budget!r}")
    return dict(SETTINGS[budget])


def training_faces(
    kind: str, size: int, n: int = 4000, seed: int = 0, identities: tuple[str, ...] = ("A", "B")
) -> FaceSet:
    """The synthetic training set of ``kind``'s recipe: ``n`` faces at ``size`` px."""
    return recipe(kind).training_faces(n, size, seed, identities=identities)


def trained(
    kind: str,
    size: int = 32,
    steps: int = 1500,
    seed: int = 0,
    n_faces: int = 4000,
    fit: dict[str, Any] | None = None,
    cache: bool = True,
    progress: bool = True,
    model: str | None = None,
    **options: Any,
) -> SepvizModel:
    """A model of ``kind`` trained with its recipe, loaded from the cache when it is there.

    Args:
        kind: one of :data:`sepviz.recipes.KINDS`.
        size: image side (a power of two >= 16).
        steps: training steps.
        seed: seeds the weights, the faces and the batches.
        n_faces: size of the synthetic training set.
        fit: extra arguments for the model's ``fit`` (FaderNet's ``{"source": ...}``).
        cache: load / save under :func:`cache_dir`; ``False`` always trains.
        progress: show the training progress bar.
        model: a subclass of the recipe's model to build instead, by its name in
            :mod:`sepviz.models` (``"ErasedFaderNet"``); ``None``: the recipe's.
        options: constructor arguments (e.g. ``latent_dim=32``, ``lambda_max=0.3``,
            ``identities=["A", "C"]``).

    Returns:
        The model in eval mode; ``model.history`` holds its training History (saved with it
        in the cache).
    """
    entry = recipe(kind)
    fit = dict(fit or {})
    klass = entry.model_class() if model is None else getattr(sepviz.models, model, None)
    if not (isinstance(klass, type) and issubclass(klass, entry.model_class())):
        raise ValueError(
            f"model must name a subclass of {entry.model} in sepviz.models, got {model!r}"
        )

    def train() -> SepvizModel:
        torch.manual_seed(seed)
        built = klass(image_size=size, **entry.config_options(options))
        faces = entry.training_faces(n_faces, size, seed, **options)
        entry.fit(built, faces, steps, seed=seed, progress=progress, **fit)
        return built

    args = {"steps": steps, "seed": seed, "n_faces": n_faces, "fit": fit, "options": options}
    if model is not None:  # the recipe's own model keeps its cache key
        args["model"] = model
    code = ("data/pose.py",) if entry.posed(options) else ()  # turned heads run the warp
    return cached(f"{kind}-{size}px", args, train, code, cache, klass.__name__)


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    """Hold ``<path>.lock`` exclusively (POSIX ``flock``; elsewhere no lock, and at worst a
    model is trained twice)."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
