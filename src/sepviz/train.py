"""One training loop for every sepviz model.

A model (a :class:`sepviz.models.base.SepvizModel`) says *what* one step does
(``configure_optimizers`` and ``training_step``); :func:`fit` does the rest, the same way for
all models: device choice, seeds, batches drawn from tensors already on the device, AMP on
CUDA, a ``tqdm`` progress bar with the current losses, callbacks (previews), atomic
checkpoints every ``checkpoint_every`` steps, ``resume=True`` to continue an interrupted run
(a checkpoint of another model, config, seed or batch size is refused: see
:func:`checkpoint_mismatch`), and an error naming the step where a loss stops being finite.

Reproducibility: the batch indices and torch's global RNG (dropout, noise) of step ``s`` are
derived from ``(seed, s)`` alone, so a run resumed from a checkpoint draws exactly what the
uninterrupted run drew, and ends with the same weights on CPU.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from sepviz.checkpoint import DamagedFileError, ModelFileError, read_model_file, weights_digest
from sepviz.limits import MIN_BATCH
from sepviz.utils import atomic_save, pick_device

if TYPE_CHECKING:
    from sepviz.models.base import SepvizModel

Streams = Mapping[str, Mapping[str, torch.Tensor]]
"""Training data: named streams, each a dict of tensors sharing their first dimension.

Each stream is sampled on its own (DeepFakes draws a batch of A and a batch of B every step);
the tensors of one stream are sampled jointly (FaderNet draws images with their labels)."""

Callback = Callable[["SepvizModel", int, dict[str, float]], None]
CHECKPOINT_NAME = "last.pt"
DIGEST_KEY = "contents_sha256"
"""The key of a file's own SHA-256 (:func:`contents_digest`) in ``last.pt`` and ``model.pt``."""
SCHEDULES = ("constant", "cosine")
"""The learning-rate schedules of :func:`fit`."""


@dataclass
class History:
    """Losses recorded by :func:`fit`: ``losses[name][i]`` is the loss at ``steps[i]``."""

    steps: list[int] = field(default_factory=list)
    losses: dict[str, list[float]] = field(default_factory=dict)
    seconds: float = 0.0

    def append(self, step: int, losses: Mapping[str, float]) -> None:
        self.steps.append(step)
        for name, value in losses.items():
            self.losses.setdefault(name, []).append(float(value))

    def last(self, name: str, window: int = 50) -> float:
        """Mean of the last ``window`` recorded values of loss ``name``."""
        if name not in self.losses:
            raise KeyError(f"no loss named {name!r}; recorded: {sorted(self.losses)}")
        values = self.losses[name][-window:]
        return sum(values) / len(values)

    def state_dict(self) -> dict[str, Any]:
        return {"steps": list(self.steps), "losses": dict(self.losses), "seconds": self.seconds}

    @classmethod
    def from_state_dict(cls, state: Mapping[str, Any]) -> History:
        """The History of :meth:`state_dict`: ``steps`` (list of ints), ``losses`` (name ->
        list of numbers), ``seconds``; a ``ValueError`` names a missing or malformed key."""
        if not isinstance(state, Mapping):
            raise ValueError(f"a History state must be a mapping, got {type(state).__name__}")
        for key, kind, what in (
            ("steps", (list, tuple), "a list of steps"),
            ("losses", Mapping, "a mapping loss name -> list of numbers"),
            ("seconds", (int, float), "a number"),
        ):
            if key not in state:
                raise ValueError(
                    f"a History state needs the key {key!r} ({what}); it has "
                    f"{sorted(map(str, state))}"
                )
            if not isinstance(state[key], kind) or isinstance(state[key], bool):
                raise ValueError(
                    f"a History state's {key!r} must be {what}, got {type(state[key]).__name__}"
                )
        return cls(
            list(state["steps"]),
            {k: list(v) for k, v in state["losses"].items()},
            float(state["seconds"]),
        )


class Optimize:
    """What ``training_step`` calls to apply a loss: ``optimize(loss, "ae")``.

    It zeroes the gradients, back-propagates (through the AMP grad scaler on CUDA), clips the
    gradient norm of the optimizer's parameters when ``clip`` is given, and steps.
    """

    def __init__(self, optimizers: Mapping[str, torch.optim.Optimizer], scaler: Any) -> None:
        self.optimizers = optimizers
        self.scaler = scaler

    def __call__(self, loss: torch.Tensor, name: str, clip: float | None = None) -> None:
        if name not in self.optimizers:
            raise KeyError(f"no optimizer named {name!r}; have {sorted(self.optimizers)}")
        optimizer = self.optimizers[name]
        optimizer.zero_grad(set_to_none=True)
        if self.scaler is None:
            loss.backward()
        else:
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(optimizer)
        if clip is not None:
            params = [p for group in optimizer.param_groups for p in group["params"]]
            torch.nn.utils.clip_grad_norm_(params, clip)
        if self.scaler is None:
            optimizer.step()
        else:
            self.scaler.step(optimizer)
            self.scaler.update()


def _step_seed(seed: int, step: int) -> int:
    # A fixed mixing of (seed, step): every step's randomness is reproducible on its own.
    return (seed * 1_000_003 + step * 7_919 + 12_345) % (2**63 - 1)


def contents_digest(state: Mapping[str, Any]) -> str:
    """The SHA-256 of a checkpoint's or model file's contents (every tensor, number and string
    in it, :data:`DIGEST_KEY` left out), by :func:`sepviz.checkpoint.weights_digest`: stored
    in the file, it is checked when the file is read back (:func:`check_contents`)."""
    return weights_digest(_flatten({k: v for k, v in state.items() if k != DIGEST_KEY}))


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts and lists as one flat dict ``"a.b.0" -> leaf`` (what the digest hashes)."""
    if isinstance(value, Mapping):
        items: Iterator[tuple[Any, Any]] = iter(value.items())
        kind = "mapping"  # not the class: a dict and an OrderedDict of the same items agree
    elif isinstance(value, (list, tuple)):
        items, kind = enumerate(value), "sequence"
    else:
        return {prefix: value}
    flat: dict[str, Any] = {prefix: kind}  # an empty container counts too
    for key, item in items:
        flat.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def check_contents(state: Mapping[str, Any], path: Path) -> None:
    """A :class:`~sepviz.checkpoint.DamagedFileError` naming ``path`` when ``state`` does not
    match the SHA-256 stored in it (:data:`DIGEST_KEY`); files without one are not checked."""
    recorded = state.get(DIGEST_KEY)
    if recorded is None:
        return
    actual = contents_digest(state)
    if actual != recorded:
        raise DamagedFileError(
            f"{path} does not match the SHA-256 stored in it (expected {str(recorded)[:16]}..., "
            f"got {actual[:16]}...): the file is damaged or was changed"
        )


def _check_streams(streams: Streams) -> None:
    if not streams:
        raise ValueError("streams is empty: expected at least one named stream of tensors")
    for name, stream in streams.items():
        if not stream:
            raise ValueError(f"stream {name!r} holds no tensors")
        sizes = {key: int(t.shape[0]) for key, t in stream.items()}
        if len(set(sizes.values())) != 1:
            raise ValueError(f"tensors of stream {name!r} differ in length: {sizes}")
        if next(iter(sizes.values())) < MIN_BATCH:
            raise ValueError(
                f"stream {name!r} has {next(iter(sizes.values()))} sample(s): training needs "
                f"{MIN_BATCH} faces at least per stream (BatchNorm normalises over a batch); "
                "give more faces (n_faces)"
            )


def _batches(
    streams: Streams,
    batch_size: int,
    generator: torch.Generator,
) -> dict[str, dict[str, torch.Tensor]]:
    batch: dict[str, dict[str, torch.Tensor]] = {}
    for name, stream in streams.items():
        first = next(iter(stream.values()))
        n = first.shape[0]
        index = torch.randint(n, (min(batch_size, n),), generator=generator).to(first.device)
        batch[name] = {key: t.index_select(0, index) for key, t in stream.items()}
    return batch


def _amp(device: torch.device, enabled: bool) -> tuple[Callable[[], Any], Any]:
    """Autocast context and grad scaler: bf16 where the GPU has it, else fp16 with a scaler."""
    if not enabled or device.type != "cuda":
        return contextlib.nullcontext, None
    if torch.cuda.is_bf16_supported():
        return lambda: torch.autocast("cuda", dtype=torch.bfloat16), None
    scaler = torch.amp.GradScaler("cuda")
    return lambda: torch.autocast("cuda", dtype=torch.float16), scaler


def checkpoint_mismatch(
    state: Mapping[str, Any], model: SepvizModel, seed: int, batch_size: int, steps: int
) -> str | None:
    """What makes checkpoint ``state`` (of :func:`fit`) not a run of this one; ``None`` if fine.

    Compared: the model class, every config field, ``seed`` and ``batch_size`` (checkpoints
    older than these keys are not checked for them), and the step, which must not be beyond
    ``steps``. The answer reads like "checkpoint was saved with seed=1, this run has seed=0".
    """
    name = type(model).__name__
    if state.get("class", name) != name:
        return f"checkpoint was saved with class={state['class']}, this run has class={name}"
    saved: dict[str, Any] = dict(state.get("config") or {})
    saved.update({k: state[k] for k in ("seed", "batch_size") if k in state})
    now = {**model.config.as_dict(), "seed": seed, "batch_size": batch_size}
    for key in now:
        if key in saved and saved[key] != now[key]:
            return (
                f"checkpoint was saved with {key}={saved[key]!r}, this run has {key}={now[key]!r}"
            )
    step = int(state.get("step", 0))
    if step > steps:
        return f"checkpoint is at step {step}, beyond this run's steps={steps}"
    return None


def _resume(
    path: Path, model: SepvizModel, seed: int, batch_size: int, steps: int
) -> dict[str, Any]:
    """The checkpoint at ``path``, read by :func:`sepviz.checkpoint.read_model_file` (size,
    class, config bounds, tensor shapes), checked against the SHA-256 stored in it
    (:func:`check_contents`) and with :func:`checkpoint_mismatch` (``ValueError``); on the CPU
    (``load_state_dict`` copies it to the model's device)."""
    try:
        state = read_model_file(path).state  # the class is compared below, with the rest
    except ModelFileError as error:
        raise ValueError(f"cannot resume: {error}") from None
    if not {"model", "optimizers", "step"} <= set(state):
        raise ValueError(f"{path} is not a training checkpoint of sepviz.train.fit")
    check_contents(state, path)
    why = checkpoint_mismatch(state, model, seed, batch_size, steps)
    if why is not None:
        raise ValueError(
            f"cannot resume from {path}: {why}; resume with the same settings, or pass another "
            "checkpoint_dir to start over"
        )
    return state


def fit(
    model: SepvizModel,
    streams: Streams,
    *,
    steps: int,
    batch_size: int = 64,
    seed: int = 0,
    device: str | torch.device | None = None,
    amp: bool = True,
    checkpoint_dir: str | Path | None = None,
    checkpoint_every: int = 500,
    resume: bool = False,
    callbacks: Sequence[Callback] = (),
    progress: bool = True,
    log_every: int = 10,
    schedule: str = "constant",
) -> History:
    """Train ``model`` for ``steps`` optimisation steps and return the loss :class:`History`.

    Args:
        model: a :class:`~sepviz.models.base.SepvizModel`; it is moved to ``device``.
        streams: named streams of tensors (see :data:`Streams`); moved to ``device`` once.
        steps: total number of steps (a resumed run continues up to this number).
        batch_size: samples drawn per stream and step (with replacement), >= 2: BatchNorm
            normalises over a batch (:data:`sepviz.limits.MIN_BATCH`).
        seed: seeds the weights' initial state is *not* drawn from (the constructor did that);
            it seeds every batch draw and the global RNG of every step.
        device: ``None`` picks cuda, then mps, then cpu (:func:`sepviz.utils.pick_device`).
        amp: mixed precision on CUDA (bf16 if supported, else fp16 with a grad scaler).
        checkpoint_dir: where ``last.pt`` is written atomically every ``checkpoint_every``
            steps and at the end, with the SHA-256 of its contents (:func:`contents_digest`,
            checked on resume); ``None`` writes nothing.
        resume: continue from ``checkpoint_dir/last.pt`` if it exists; it must be a run of
            this one (:func:`checkpoint_mismatch`: same class, config, seed and batch size, a
            step not beyond ``steps``).
        callbacks: called as ``callback(model, step, losses)`` after every step.
        progress: show a ``tqdm`` bar with the latest losses.
        log_every: record (and display) the losses every ``log_every`` steps.
        schedule: the learning rate over the steps, one of :data:`SCHEDULES`: ``"constant"``,
            or ``"cosine"``: every optimizer's rate falls from its own to 0 along half a
            cosine (Loshchilov & Hutter 2017, without restarts), so the loss settles at the
            end of the run instead of still descending at the full rate.

    Raises:
        ValueError: ``steps``, ``batch_size``, ``log_every``, ``checkpoint_every`` or ``seed``
            not an int in range, ``resume`` without ``checkpoint_dir``, a checkpoint of
            another run (the message says what differs) or a damaged one (naming the file),
            or a stream of fewer than 2 samples.
        FloatingPointError: a loss became NaN or infinite (the message names the step).
    """
    from tqdm.auto import tqdm

    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < MIN_BATCH:
        raise ValueError(
            f"batch_size must be an int >= {MIN_BATCH} (BatchNorm normalises over a batch), "
            f"got {batch_size!r}"
        )
    for name, value, low in (
        ("steps", steps, 0),
        ("log_every", log_every, 1),
        ("checkpoint_every", checkpoint_every, 1),
        ("seed", seed, 0),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    if resume and checkpoint_dir is None:
        raise ValueError("resume=True needs checkpoint_dir: the folder of the run to continue")
    _check_streams(streams)
    device = pick_device(device)
    model.to(device)
    on_device = {n: {k: t.to(device) for k, t in s.items()} for n, s in streams.items()}
    optimizers = model.configure_optimizers()
    # the rates the schedule starts from (a checkpoint's optimizers hold decayed ones)
    base_lr = {n: [g["lr"] for g in o.param_groups] for n, o in optimizers.items()}
    autocast, scaler = _amp(device, amp)
    history, start = History(), 0

    ckpt_path = Path(checkpoint_dir) / CHECKPOINT_NAME if checkpoint_dir is not None else None
    if resume and ckpt_path is not None and ckpt_path.exists():
        state = _resume(ckpt_path, model, seed, batch_size, steps)
        model.load_state_dict(state["model"])
        for name, opt in optimizers.items():
            opt.load_state_dict(state["optimizers"][name])
        if scaler is not None and state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        history = History.from_state_dict(state["history"])
        start = int(state["step"])

    def save(step: int) -> None:
        if ckpt_path is None:
            return
        state = {
            "model": model.state_dict(),
            "optimizers": {n: o.state_dict() for n, o in optimizers.items()},
            "scaler": scaler.state_dict() if scaler is not None else {},
            "history": history.state_dict(),
            "step": step,
            "config": model.config.as_dict(),
            "class": type(model).__name__,
            "seed": seed,
            "batch_size": batch_size,
        }
        state[DIGEST_KEY] = contents_digest(state)
        atomic_save(state, ckpt_path)

    optimize = Optimize(optimizers, scaler)
    model.train()
    begin = time.perf_counter()
    # TQDM_DISABLE=1 (the book build sets it) switches the bar off: tqdm.notebook, which
    # tqdm.auto picks in a kernel, does not read the variable itself.
    quiet = os.environ.get("TQDM_DISABLE", "").lower() in ("1", "true", "yes")
    bar: Iterator[int] = tqdm(
        range(start, steps),
        initial=start,
        total=steps,
        desc=type(model).__name__,
        leave=False,
        disable=quiet or not progress,
    )
    for step in bar:
        if schedule == "cosine":  # a function of the step alone, so a resumed run agrees
            factor = 0.5 * (1 + math.cos(math.pi * step / steps))
            for name, opt in optimizers.items():
                for group, lr in zip(opt.param_groups, base_lr[name]):
                    group["lr"] = lr * factor
        torch.manual_seed(_step_seed(seed, step))
        generator = torch.Generator().manual_seed(_step_seed(seed, step))
        batch = _batches(on_device, batch_size, generator)
        with autocast():
            losses = model.training_step(batch, step, optimize)
        values = {k: float(v) for k, v in losses.items()}
        bad = {k: v for k, v in values.items() if not torch.isfinite(torch.tensor(v))}
        if bad:
            raise FloatingPointError(
                f"loss became non-finite at step {step}: {bad}; lower the learning rate or "
                "check the inputs"
            )
        if step % log_every == 0 or step == steps - 1:
            history.append(step, values)
            if progress:
                bar.set_postfix({k: f"{v:.4g}" for k, v in values.items()})  # type: ignore[attr-defined]
        for callback in callbacks:
            callback(model, step, values)
        if ckpt_path is not None and (step + 1) % checkpoint_every == 0:
            history.seconds += time.perf_counter() - begin
            begin = time.perf_counter()
            save(step + 1)
    history.seconds += time.perf_counter() - begin
    model.eval()
    if ckpt_path is not None and steps > start:
        save(steps)
    return history
