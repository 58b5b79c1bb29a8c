"""Model files that prove themselves: bounds, SHA-256 records, and loading in sepviz's words.

A model file (``model.pt`` of ``sepviz train``, a cache entry of :mod:`sepviz.zoo`) is read by
:func:`read_model_file` before any model is built:

* its size is bounded (:data:`sepviz.limits.MAX_CHECKPOINT_BYTES`) before a byte is read;
* its bytes are read once and checked against the SHA-256 recorded beside it
  (:func:`recorded_sha256`: a ``model.pt.sha256`` in the format of ``sha256sum``, or the
  ``sha256`` of a zoo card), so a flipped byte is refused with the file's name;
* it is unpickled with ``weights_only=True`` only, and a failure is said in sepviz's words
  (never torch's advice to load with ``weights_only=False``);
* its class must be a sepviz model, every config field must lie within its bound
  (:mod:`sepviz.limits`), and the model is first built on PyTorch's ``meta`` device (no
  memory) so that its parameter count and every tensor's name and shape are checked against
  the file's before a real model is allocated.

A file may also carry the SHA-256 of its own contents (``SepvizModel.save`` and a ``last.pt``
store it under :data:`sepviz.train.DIGEST_KEY`): :func:`check_state` checks a model file's
whenever the file's bytes were not checked against a record beside it, so a ``model.pt``
copied without its ``.sha256`` is still checked, and a file of an older sepviz (no digest)
still loads. A ``last.pt``'s is checked by its reader (:func:`check_stored_digest`).

:func:`build_model` then builds the model from the checked state. :func:`weights_digest`
hashes a state dict's tensors (the weights of a training checkpoint, which ``sepviz train``
records per step in its ``run.json``, and a file's own contents digest).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from sepviz.limits import (
    CONFIG_BOUNDS,
    MAX_CHECKPOINT_BYTES,
    MAX_NAME_LENGTH,
    MAX_NAMES,
    MAX_PARAMETERS,
)
from sepviz.utils import _umask  # one reading of the umask for every atomic write

if TYPE_CHECKING:
    from sepviz.models.base import SepvizModel

SIDECAR_SUFFIX = ".sha256"
"""``model.pt`` -> ``model.pt.sha256``: ``"<64 hex digits>  model.pt"`` as ``sha256sum``
writes it (``sha256sum -c model.pt.sha256`` checks it by hand)."""

_HEX64 = re.compile(r"[0-9a-f]{64}")


class ModelFileError(ValueError):
    """A model file that cannot be used: unreadable, damaged, foreign or out of bounds.

    The message names the file and, where it applies, the field and its bound."""


class DamagedFileError(ModelFileError):
    """A file whose bytes (or weights) do not match the SHA-256 recorded for them."""


@dataclass(frozen=True)
class ModelState:
    """What :func:`read_model_file` found: the checked ``state`` (class, config, weights,
    history), the file, and whether a SHA-256 checked it (``verified``: its bytes matched the
    one recorded beside it, or its contents the one stored in it; False for a file that
    carries neither, e.g. of an older sepviz)."""

    state: dict[str, Any]
    path: Path
    verified: bool


# -- SHA-256 records -----------------------------------------------------------------------
def sha256_bytes(data: bytes) -> str:
    """The SHA-256 of ``data``, 64 lowercase hex digits."""
    return hashlib.sha256(data).hexdigest()


def sidecar_of(path: Path) -> Path:
    """``model.pt`` -> ``model.pt.sha256``."""
    return path.with_name(path.name + SIDECAR_SUFFIX)


def write_sidecar(path: Path) -> Path:
    """Hash ``path``'s bytes and write ``<path>.sha256`` atomically; returns the sidecar."""
    from sepviz.data.download import sha256_of

    return atomic_write_text(sidecar_of(path), f"{sha256_of(path)}  {path.name}\n")


def recorded_sha256(path: Path) -> tuple[str, Path] | None:
    """The SHA-256 recorded for ``path`` and where: its ``.sha256`` sidecar, else the
    ``sha256`` of a zoo card (``<stem>.json``) beside it; ``None`` when neither exists.

    Raises:
        ModelFileError: a record that exists but cannot be read (naming it).
    """
    sidecar = sidecar_of(path)
    if sidecar.is_file():
        text = _small_text(sidecar)
        digest = text.split()[0].lower() if text.split() else ""
        if not _HEX64.fullmatch(digest):
            raise ModelFileError(
                f"{sidecar} does not hold a SHA-256 (64 hex digits first): it is damaged; "
                f"delete it to use {path.name} unchecked, or retrain"
            )
        return digest, sidecar
    card = path.with_suffix(".json")
    if card.is_file():
        try:
            data = json.loads(_small_text(card))
        except json.JSONDecodeError:
            return None  # not a zoo card (a history.json is not read here)
        if isinstance(data, dict) and "sha256" in data and "args" in data:
            digest = str(data["sha256"]).lower()
            if not _HEX64.fullmatch(digest):
                raise ModelFileError(f"the card {card} has no valid sha256 (64 hex digits)")
            return digest, card
    return None


def _small_text(path: Path, limit: int = 1 << 20) -> str:
    """A record's text (at most ``limit`` bytes: a record is a line or a small JSON)."""
    size = path.stat().st_size
    if size > limit:
        raise ModelFileError(f"{path} is {size:,} bytes, too large for a record (max {limit:,})")
    return path.read_text(encoding="utf-8", errors="replace")


def weights_digest(state_dict: Mapping[str, Any]) -> str:
    """A SHA-256 of a state dict's tensors: names, dtypes, shapes and exact bytes, in name
    order (the same on any device). 64 hex digits."""
    digest = hashlib.sha256()
    for key in sorted(state_dict):
        value = state_dict[key]
        digest.update(key.encode())
        if isinstance(value, torch.Tensor):
            t = value.detach().cpu().contiguous()
            digest.update(f"{t.dtype}{tuple(t.shape)}".encode())
            digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
        else:
            digest.update(repr(value).encode())
    return digest.hexdigest()


# -- atomic text files ---------------------------------------------------------------------
def atomic_write_text(path: Path, text: str) -> Path:
    """Write ``text`` to a temporary file beside ``path``, then rename it over ``path``: a
    reader sees the old or the new text, never a part. The file gets the user's umask."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


# -- loading -------------------------------------------------------------------------------
def load_weights_only(data: bytes, path: Path) -> Any:
    """``torch.load`` of a file's ``data`` with ``weights_only=True`` on the CPU; every failure
    becomes a :class:`ModelFileError` in sepviz's words, naming ``path``."""
    try:
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        why = (
            "it holds Python objects besides tensors, numbers and strings; sepviz loads only "
            "plain weights and never runs such a file (it may be malicious)"
        )
    except Exception as error:  # torch's zip reader, a bad seek, an unknown storage, ...
        why = (
            "it is not a complete torch file (truncated, damaged, or another kind of file; "
            f"{type(error).__name__})"
        )
    raise ModelFileError(f"{path} is not a sepviz model file: {why}")


def read_model_file(
    path: str | os.PathLike[str],
    sha256: str | None = None,
    model_class: str | None = None,
    recorded_in: Path | None = None,
) -> ModelState:
    """Read and check a model file written by ``SepvizModel.save`` (or a ``last.pt``
    checkpoint), building nothing but a ``meta``-device copy of the model.

    Args:
        path: the file.
        sha256: the SHA-256 its bytes must have; ``None``: the one recorded beside it
            (:func:`recorded_sha256`), if any.
        model_class: the class it must hold (e.g. ``"DeepFakes"``); ``None``: any model.
        recorded_in: where ``sha256`` comes from (a card), named in the messages.

    Returns:
        The checked :class:`ModelState`; :func:`build_model` turns it into the model.

    Raises:
        FileNotFoundError: no file at ``path``.
        DamagedFileError: its bytes do not match the SHA-256 (both named), or a model file's
            contents the SHA-256 stored in it.
        ModelFileError: anything else wrong, in one sentence naming the file and, for a
            config field, its bound.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {path}")
    size = path.stat().st_size
    if size > MAX_CHECKPOINT_BYTES:
        raise ModelFileError(
            f"{path} is {size:,} bytes, more than any sepviz model file can be "
            f"({MAX_CHECKPOINT_BYTES:,} bytes at {MAX_PARAMETERS:,} parameters)"
        )
    record = (sha256.lower(), recorded_in) if sha256 is not None else recorded_sha256(path)
    data = path.read_bytes()
    if record is not None:
        actual = sha256_bytes(data)
        if actual != record[0]:
            where = f"recorded in {record[1]}" if record[1] is not None else "expected"
            raise DamagedFileError(
                f"{path} does not match the SHA-256 {where} (expected {record[0][:16]}..., got "
                f"{actual[:16]}...): the file is damaged or was changed"
            )
    state = load_weights_only(data, path)
    check_state(state, path, model_class, bytes_checked=record is not None)
    return ModelState(state, path, record is not None or _digest_checked_here(state))


def check_state(
    state: Any, path: Path, model_class: str | None = None, bytes_checked: bool = False
) -> None:
    """Check a loaded model file: its structure, its class, its config bounds, its tensor
    shapes (the model is built on the ``meta`` device: no memory), then the SHA-256 of its
    contents stored in it (:data:`sepviz.train.DIGEST_KEY`, when present and ``bytes_checked``
    is False). A :class:`ModelFileError` (:class:`DamagedFileError` for a digest that does not
    match) names the file and what is wrong.

    ``bytes_checked``: the file's bytes already matched a SHA-256 recorded beside it (a
    ``.sha256`` or a zoo card), which covers everything the stored digest covers; the stored
    one is then not computed again. (The zoo rewrites its files in half precision after
    ``save``, so the digest stored in a zoo file is that of its float32 weights: only the
    card's SHA-256 checks it.)

    A training checkpoint's digest (``last.pt``: it holds ``optimizers``) is left to the code
    that reads it (:func:`sepviz.train.check_contents`: resuming, ``SepvizModel.load``, ``sepviz
    swap``), which raises :class:`DamagedFileError` itself rather than "cannot resume".
    """
    if not isinstance(state, dict) or not isinstance(
        state.get("state_dict", state.get("model")), dict
    ):
        raise ModelFileError(f"{path} is not a sepviz model file (no weights in it)")
    name = state.get("class")
    klass = model_class_named(name)
    if klass is None:
        shown = name if isinstance(name, str) else type(name).__name__
        raise ModelFileError(
            f"{path} names the class {_clip(shown)!r}, which is not a sepviz model"
        )
    if model_class is not None and name != model_class:
        raise ModelFileError(f"{path} holds a {name}, not a {model_class}")
    config = state.get("config")
    if not isinstance(config, dict):
        raise ModelFileError(f"{path} has no config (the {name}'s constructor arguments)")
    check_config(config, path)
    if "history" in state:
        check_history(state["history"], path)
    expected = _meta_state(klass, config, path)
    _compare_tensors(state.get("state_dict", state.get("model")), expected, path, name)
    # last, as SepvizModel.load has always done it: a crafted file is named for what is wrong
    # with it (its class, a bound), a file right in every other way for the digest
    if not bytes_checked and _digest_checked_here(state):
        check_stored_digest(state, path)


def _digest_checked_here(state: Any) -> bool:
    """Whether :func:`check_state` checks the digest stored in ``state``: a model file's (what
    ``SepvizModel.save`` writes), not a training checkpoint's (see :func:`check_state`)."""
    return _stored_digest(state) is not None and "optimizers" not in state


def _stored_digest(state: Any) -> Any:
    """The SHA-256 a file stores of its own contents, ``None`` when it has none."""
    from sepviz.train import DIGEST_KEY

    return state.get(DIGEST_KEY) if isinstance(state, dict) else None


def check_stored_digest(state: Mapping[str, Any], path: Path) -> bool:
    """Check the SHA-256 a loaded file stores of its own contents (:data:`sepviz.train.
    DIGEST_KEY`, by :func:`sepviz.train.check_contents`, the one definition of it); returns
    False when the file stores none (a file of an older sepviz), True when it matched.

    Raises:
        DamagedFileError: the contents do not match it (naming ``path``).
        ModelFileError: it is not a SHA-256, or the contents cannot be hashed (a sparse
            tensor, a list nested too deep, ...), in sepviz's words.
    """
    from sepviz.train import check_contents

    stored = _stored_digest(state)
    if stored is None:
        return False
    if not isinstance(stored, str) or not _HEX64.fullmatch(stored):
        raise ModelFileError(
            f"{path} is damaged: the SHA-256 stored in it is not 64 hex digits "
            f"({_clip(repr(stored), 40)})"
        )
    try:
        check_contents(state, path)
    except ModelFileError:
        raise
    except (RuntimeError, TypeError, ValueError, RecursionError) as error:
        raise ModelFileError(
            f"{path} is not a sepviz model file: its contents cannot be hashed to check the "
            f"SHA-256 stored in it ({type(error).__name__})"
        ) from None
    return True


def model_class_named(name: Any) -> type[SepvizModel] | None:
    """The sepviz model class called ``name`` (``"DeepFakes"``...), or ``None``."""
    import sepviz.models
    from sepviz.models.base import SepvizModel

    if not isinstance(name, str) or name not in sepviz.models.__all__ or name == "SepvizModel":
        return None
    klass = getattr(sepviz.models, name)
    if isinstance(klass, type) and issubclass(klass, SepvizModel):
        return klass
    return None


def check_config(config: Mapping[str, Any], path: Path | str) -> None:
    """Every integer field of :data:`CONFIG_BOUNDS` within its bound, decoder names (
    ``identities``, ``classes``) valid: a :class:`ModelFileError` naming ``path``, the field
    and the bound."""
    for field, (low, high) in CONFIG_BOUNDS.items():
        if field not in config:
            continue
        value = config[field]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ModelFileError(
                f"{path}: config field {field}={_clip(repr(value))} is outside the bound "
                f"[{low}, {high}]; refused before building the model"
            )
    for field in ("identities", "classes"):
        if field in config:
            problem = names_problem(config[field])
            if problem:
                raise ModelFileError(f"{path}: config field {field}: {problem}")


def names_problem(names: Any) -> str | None:
    """Why ``names`` cannot name a model's decoders, or ``None``: a list of 1 to
    :data:`MAX_NAMES` distinct non-empty strings of at most :data:`MAX_NAME_LENGTH`
    characters, each a valid ``nn.ModuleDict`` key (no ``"."``, not an attribute of it)."""
    from torch import nn

    if isinstance(names, str) or not isinstance(names, (list, tuple)):
        return f"expected a list of names such as ['A', 'B'], got {_clip(repr(names))}"
    if not 1 <= len(names) <= MAX_NAMES:
        return f"expected 1 to {MAX_NAMES} names, got {len(names)}"
    reserved = set(dir(nn.ModuleDict()))
    for name in names:
        if not isinstance(name, str) or not name or len(name) > MAX_NAME_LENGTH:
            return (
                f"every name must be a non-empty string of at most {MAX_NAME_LENGTH} "
                f"characters, got {_clip(repr(name))}"
            )
        if "." in name or name in reserved:
            return f"{name!r} cannot name a decoder (no '.', and not a name torch reserves)"
    if len(set(names)) != len(names):
        return f"names must be distinct, got {_clip(repr(list(names)))}"
    return None


def check_history(history: Any, path: Path) -> None:
    """A saved training History: ``steps`` (list of ints), ``losses`` (name -> list of
    numbers), ``seconds`` (a number); a :class:`ModelFileError` says what is missing."""
    if not isinstance(history, dict):
        raise ModelFileError(f"{path} has a damaged training history (not a mapping)")
    for key, kind in (("steps", list), ("losses", dict), ("seconds", (int, float))):
        if not isinstance(history.get(key), kind):
            raise ModelFileError(
                f"{path} has a damaged training history: no {key!r} "
                f"({'a list' if kind is list else 'a mapping' if kind is dict else 'a number'})"
            )
    for name, values in history["losses"].items():
        if not isinstance(values, list) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in values
        ):
            raise ModelFileError(
                f"{path} has a damaged training history: loss {_clip(repr(name))} is not a "
                "list of numbers"
            )


def _meta_state(klass: type[SepvizModel], config: Mapping[str, Any], path: Path) -> dict:
    """The state dict a ``klass(**config)`` has, built on the ``meta`` device (shapes only)."""
    try:
        with torch.device("meta"):
            model = klass(**config)
    except (TypeError, ValueError, KeyError, RuntimeError, AttributeError) as error:
        raise ModelFileError(
            f"{path} holds a {klass.__name__} with a config it cannot take: "
            f"{_clip(_first_line(error))}"
        ) from None
    count = sum(p.numel() for p in model.parameters())
    if count > MAX_PARAMETERS:
        raise ModelFileError(
            f"{path}: its config makes a {klass.__name__} of {count:,} parameters, more than "
            f"the bound {MAX_PARAMETERS:,}; refused before building the model"
        )
    return model.state_dict()


def _compare_tensors(found: Mapping[str, Any], expected: Mapping[str, Any], path: Path, name: str):
    missing = [k for k in expected if k not in found]
    extra = [k for k in found if k not in expected]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing {_few(missing)}")
        if extra:
            parts.append(f"unexpected {_few(extra)}")
        raise ModelFileError(
            f"{path} does not hold the weights of a {name} of its config: " + "; ".join(parts)
        )
    for key, want in expected.items():
        have = found[key]
        if isinstance(have, torch.Tensor) and have.layout != torch.strided:
            # sparse and other layouts: torch's own checks below would fail in its words
            raise ModelFileError(
                f"{path}: tensor {key!r} is stored as {have.layout}, not as a plain tensor"
            )
        if not isinstance(have, torch.Tensor) or tuple(have.shape) != tuple(want.shape):
            shape = tuple(have.shape) if isinstance(have, torch.Tensor) else type(have).__name__
            raise ModelFileError(
                f"{path}: tensor {key!r} has shape {shape}, a {name} of its config needs "
                f"{tuple(want.shape)}"
            )
        if have.is_floating_point() and not torch.isfinite(have).all():
            raise ModelFileError(f"{path}: tensor {key!r} holds NaN or infinite values")


def build_model(checked: ModelState) -> SepvizModel:
    """The model of a :class:`ModelState` (its weights and training History), in eval mode,
    on the CPU: what ``SepvizModel.load`` returns for the same file."""
    from sepviz.train import History

    state = checked.state
    klass = model_class_named(state["class"])
    assert klass is not None  # checked by read_model_file
    model = klass(**state["config"])
    model.load_state_dict(state.get("state_dict", state.get("model")))
    if isinstance(state.get("history"), dict):
        model.history = History.from_state_dict(state["history"])
    model.eval()
    return model


def load_model_file(
    path: str | os.PathLike[str],
    sha256: str | None = None,
    model_class: str | None = None,
    recorded_in: Path | None = None,
) -> SepvizModel:
    """:func:`read_model_file` then :func:`build_model`: a checked model, or an error naming
    the file."""
    return build_model(read_model_file(path, sha256, model_class, recorded_in))


# -- helpers -------------------------------------------------------------------------------
def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _few(keys: list[str], shown: int = 3) -> str:
    more = f" and {len(keys) - shown} more" if len(keys) > shown else ""
    return ", ".join(repr(k) for k in keys[:shown]) + more


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__
