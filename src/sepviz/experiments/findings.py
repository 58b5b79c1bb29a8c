"""What we found: the closing chapter's two tables, computed from the chapters' own results.

Every chapter ends its question with a :class:`~sepviz.experiments.Result`: numbers with
their 95% intervals and a verdict computed from them. The closing chapter gathers the
headline results without computing anything again: each chapter calls
:func:`record` after its headline result (``findings.record("swap", swap, BUDGET)``), which
keeps a light copy of it on disk, and the closing chapter calls :func:`collect` and shows

- :class:`FactorMap` (:func:`factor_map`): for each factor of the faces (identity,
  expression, light, pose), whether it lives in each place a model keeps information (the
  shared latent and the decoders of DeepFakes, the latent and the attribute y of a
  FaderNet); and
- :class:`Claims` (:func:`claims`): the blog's claims, each with the number that decides it
  and whether it holds.

No cell is typed: each status comes from the very rule the chapter's own verdict uses on the
same numbers (:func:`~sepviz.experiments.reading`, :func:`~sepviz.experiments.removed`,
:func:`~sepviz.experiments.compare` and the chapters' bars), so a table can never say
something its chapter does not. A result not recorded yet (its chapter not run for this
budget) gives a cell "not measured" with a link to the chapter that measures it.
"""

from __future__ import annotations

import dataclasses
import enum
import io
import math
import os
import pickle
import tempfile
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import torch

from sepviz import zoo
from sepviz.data.synthetic import EXPRESSION_FACTORS
from sepviz.experiments import (
    DB_MARGIN,
    Estimate,
    Order,
    Reading,
    Result,
    compare,
    markdown_table,
    read_bar,
    reading,
    removed,
)
from sepviz.experiments.autoencoder_vs_pca import AutoencoderVsPCA
from sepviz.experiments.decoder_per_light import DesignComparison
from sepviz.experiments.deepfakes import (
    KEEPS,
    LOSES,
    PARTLY,
    POSE_KEPT,
    POSE_LOST,
    UNDECIDED,
    WORKS_DB,
    IdentityProbe,
    PoseTransfer,
    SwapQuality,
)
from sepviz.experiments.fadernet import PROBES, CrossTalk, FactorsKept, LightRemoval
from sepviz.experiments.generative import AE_PRIOR, FRECHET_RATIO, VAE, Generation
from sepviz.experiments.hidden_or_removed import Comparison, lambda_name
from sepviz.experiments.measures import MONOTONE, SliderCheck
from sepviz.experiments.real_faces import MONOTONE as REAL_MONOTONE
from sepviz.experiments.real_faces import LightResponse
from sepviz.experiments.relight_by_swap import IdeaOne
from sepviz.experiments.where_information_lives import (
    NEARER_BAR,
    DecoderIdentity,
    LatentProbes,
)

R = TypeVar("R", bound=Result)


# -- the registry of headline results ----------------------------------------------------------
class Recorded(NamedTuple):
    """What a recorded name stands for: the chapter (its notebook's stem) that computes it,
    the class of its result, and a short title."""

    chapter: str
    result_class: type[Result]
    title: str


RECORDS: dict[str, Recorded] = {
    "ae_vs_pca": Recorded("02_autoencoder_vs_pca", AutoencoderVsPCA, "autoencoder vs PCA"),
    "generation": Recorded("03_vae", Generation, "sampling a VAE"),
    "swap": Recorded("04_deepfakes", SwapQuality, "the swap A → B"),
    "identity_probe": Recorded("04_deepfakes", IdentityProbe, "identity in the shared latent"),
    "pose_transfer": Recorded("04_deepfakes", PoseTransfer, "what crosses the swap"),
    "light_removal": Recorded("05_fadernet", LightRemoval, "light in FaderNet's latent"),
    "factors_kept": Recorded("05_fadernet", FactorsKept, "other factors in FaderNet's latent"),
    "slider": Recorded("05_fadernet", SliderCheck, "the light slider"),
    "cross_talk": Recorded("05_fadernet", CrossTalk, "two faders: light and yaw"),
    "hidden_or_removed": Recorded("06_hidden_or_removed", Comparison, "hidden or removed"),
    "latent_probes": Recorded("07_probes", LatentProbes, "probes of the shared latent"),
    "decoder_identity": Recorded("07_probes", DecoderIdentity, "identity in the decoders"),
    "idea_one": Recorded("08_relight_by_swap", IdeaOne, "idea 1: relight by swapping"),
    "decoder_per_light": Recorded(
        "09_decoder_per_light", DesignComparison, "idea 2: one decoder per light"
    ),
    "real_light_response": Recorded("10_real_faces", LightResponse, "relighting real faces"),
}
"""Every headline result a chapter records, by name: ``name -> (chapter, class, title)``.
``latent_probes`` is chapter 7's probes of DeepFakes' shared latent (``shared=True``)."""

BUDGETS = ("quick", "full")
"""The book's compute budgets (:func:`sepviz.utils.budget`): results of one never stand in
for the other's."""

DEFAULT_FINDINGS = zoo.DEFAULT_CACHE.parent / "findings"
"""``data/cache/findings`` of the repository, beside the trained models' cache."""


def findings_dir() -> Path:
    """Where recorded results are kept: ``$SEPVIZ_FINDINGS``, else ``data/cache/findings``
    of the repository (beside :func:`sepviz.zoo.cache_dir`'s models), else
    ``~/.cache/sepviz/findings`` when sepviz is installed without the repository."""
    if os.environ.get("SEPVIZ_FINDINGS"):
        return Path(os.environ["SEPVIZ_FINDINGS"])
    if DEFAULT_FINDINGS.parent.parent.is_dir():
        return DEFAULT_FINDINGS
    return Path.home() / ".cache" / "sepviz" / "findings"


def _check(name: str, budget: str) -> None:
    if name not in RECORDS:
        raise ValueError(f"name must be one of {sorted(RECORDS)}, got {name!r}")
    if budget not in BUDGETS:
        raise ValueError(f"budget must be one of {BUDGETS}, got {budget!r}")


def _path(name: str, budget: str) -> Path:
    return findings_dir() / f"{budget}-{name}.pkl"


def _light(value: Any) -> Any:
    """``value`` without its tensors: a tensor, or a tuple / list / dict of tensors only, becomes
    an empty tuple / list / dict; dataclasses (nested results, ``per_run``) are rebuilt by
    :func:`dataclasses.replace` with their fields made light, containers item by item."""
    if isinstance(value, torch.Tensor):
        return ()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changed = {}
        for f in dataclasses.fields(value):
            old = getattr(value, f.name)
            new = _light(old)
            if new is not old:
                if not f.init:
                    raise TypeError(f"{type(value).__name__}.{f.name} holds a tensor")
                changed[f.name] = new
        return dataclasses.replace(value, **changed) if changed else value
    if type(value) in (tuple, list):
        if value and all(isinstance(v, torch.Tensor) for v in value):
            return type(value)()
        items = [_light(v) for v in value]
        same = all(new is old for new, old in zip(items, value))
        return value if same else type(value)(items)
    if isinstance(value, dict):
        if value and all(isinstance(v, torch.Tensor) for v in value.values()):
            return {}
        light = {k: _light(v) for k, v in value.items()}
        return value if all(light[k] is value[k] for k in value) else light
    return value


def record(name: str, result: Result, budget: str) -> Path:
    """Keep ``result``, the headline result ``name`` of its chapter, for the closing chapter.

    Its tensors (faces, grids: bulky, and nothing the tables read) are dropped, in nested
    results too; the rest is pickled to ``findings_dir()/"{budget}-{name}.pkl"`` through a
    temporary file in the same folder renamed over it, so that two chapters executed side by
    side never leave a half-written file.

    Args:
        name: a key of :data:`RECORDS`.
        result: an instance of the class :data:`RECORDS` registers for ``name``.
        budget: ``"quick"`` or ``"full"`` (:data:`BUDGETS`).

    Returns:
        the path of the file written.

    Raises:
        ValueError: ``name`` is not registered, or ``budget`` is not a budget.
        TypeError: ``result`` is not of the registered class.
    """
    if name not in RECORDS:
        raise ValueError(f"name must be one of {sorted(RECORDS)}, got {name!r}")
    expected = RECORDS[name].result_class
    if not isinstance(result, expected):
        raise TypeError(f"{name!r} records a {expected.__name__}, got {type(result).__name__}")
    _check(name, budget)
    payload = {
        "name": name,
        "budget": budget,
        "result": _light(result),
        "chapter": RECORDS[name].chapter,
    }
    path = _path(name, budget)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            pickle.dump(payload, handle, protocol=pickle.HIGHEST_PROTOCOL)
        mask = os.umask(0o022)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


_NUMPY = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    *(
        (f"numpy.{core}.{module}", name)
        for core in ("core", "_core")
        for module, name in (
            ("multiarray", "_reconstruct"),
            ("multiarray", "scalar"),
            ("numeric", "_frombuffer"),
        )
    ),
}
"""The numpy names a recorded result's arrays and scalars unpickle through."""


class _Unpickler(pickle.Unpickler):
    """Loads only what :func:`record` writes: the dataclasses and enums of
    ``sepviz.experiments`` and numpy arrays; any other global (a function to call, another
    package's class) makes the file unreadable rather than runs it."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _NUMPY:
            return super().find_class(module, name)
        if module.split(".")[:2] == ["sepviz", "experiments"]:
            found = super().find_class(module, name)
            if isinstance(found, type) and (
                dataclasses.is_dataclass(found) or issubclass(found, enum.Enum)
            ):
                return found
        raise pickle.UnpicklingError(f"a recorded result never holds {module}.{name}")


def recall(name: str, budget: str) -> Result | None:
    """The result ``name`` recorded for ``budget``, or None when none was recorded.

    A file that cannot be read (damaged, cut short, written by another version of sepviz, or
    holding anything but a result of the registered class) gives None and a warning naming
    the file: the closing chapter then says "not measured" instead of stopping.
    """
    _check(name, budget)
    path = _path(name, budget)
    if not path.is_file():
        return None
    try:
        payload = _Unpickler(io.BytesIO(path.read_bytes())).load()
        result = payload["result"]
        expected = RECORDS[name].result_class
        if payload["name"] != name or not isinstance(result, expected):
            raise TypeError(f"it holds no {expected.__name__} recorded as {name!r}")
        missing = [f.name for f in dataclasses.fields(result) if f.name not in vars(result)]
        if missing:
            raise TypeError(f"it was recorded by another version (no {', '.join(missing)})")
    except Exception as error:  # any damage: the chapter goes on without this result
        warnings.warn(
            f"{path}: cannot read this recorded result ({error}); run its chapter again",
            stacklevel=2,
        )
        return None
    return result


def collect(budget: str) -> dict[str, Result]:
    """Every result recorded for ``budget``, by name (the names not recorded are absent)."""
    found = {name: recall(name, budget) for name in RECORDS}
    return {name: result for name, result in found.items() if result is not None}


# -- the words of the tables -------------------------------------------------------------------
class Status(enum.Enum):
    """The word a cell of :class:`FactorMap` or a row of :class:`Claims` says: the map's
    cells say YES ... NOT_APPLICABLE, the claims HOLDS ... CANT_TELL; both say
    NOT_MEASURED."""

    YES = "yes"
    NO = "no"
    IN_PART = "in part"
    CANT_TELL = "can't tell"
    NOT_APPLICABLE = "—"
    NOT_MEASURED = "not measured"
    HOLDS = "holds"
    FAILS = "does not hold"


YES, NO, IN_PART, CANT_TELL = Status.YES, Status.NO, Status.IN_PART, Status.CANT_TELL
HOLDS, FAILS, NOT_MEASURED = Status.HOLDS, Status.FAILS, Status.NOT_MEASURED

HIDDEN, REMOVED = "hidden", "removed"
"""The qualifiers of a cell on the light in a latent: read by a stronger reader only
(hidden), or blind to every reader (removed)."""

_READS = {
    Reading.READS: YES,
    Reading.AT_CHANCE: NO,
    Reading.BELOW_CHANCE: NO,
    Reading.NOT_DISTINGUISHABLE: CANT_TELL,
}
"""Is the factor in the code, from what a reader of it says (:func:`reading`)."""

_CROSSES = {KEEPS: YES, PARTLY: IN_PART, LOSES: NO, UNDECIDED: CANT_TELL}
"""Does A's factor cross the swap (:meth:`PoseTransfer.kept`): it does only if the shared
latent carries it."""

_IMPOSED = {KEEPS: NO, PARTLY: IN_PART, LOSES: YES, UNDECIDED: CANT_TELL}
"""Does the decoder impose the factor, from the same share: a factor that crosses rides in
the latent (the decoder does not hold it); one that does not cross, the decoder draws its own
way."""

_CLAIM = {YES: HOLDS, NO: FAILS, IN_PART: IN_PART, CANT_TELL: CANT_TELL}
"""A claim that a factor is somewhere, from the status of that place."""


def combine(statuses: Sequence[Status]) -> Status:
    """One status for several parts (factors of a group, sizes, lamps): YES when every part
    says YES, NO when every part says NO, IN_PART when the decided parts already disagree
    (or one is IN_PART) whatever the undecided ones turn out to be, CANT_TELL otherwise."""
    if not statuses:
        raise ValueError("combine needs at least one status")
    said = set(statuses)
    if said == {YES}:
        return YES
    if said == {NO}:
        return NO
    if IN_PART in said or {YES, NO} <= said:
        return IN_PART
    return CANT_TELL


def chapter_number(chapter: str) -> int:
    """The number of a chapter from its notebook's stem: ``"04_deepfakes"`` -> 4."""
    return int(chapter.split("_", 1)[0])


def link(chapter: str) -> str:
    """A Markdown link to a chapter's notebook, ``[ch. 4](04_deepfakes.ipynb)``: Jupyter Book
    resolves links to the notebook files."""
    return f"[ch. {chapter_number(chapter)}]({chapter}.ipynb)"


def _run(chapters: Sequence[str]) -> str:
    return "not measured: run " + " or ".join(link(c) for c in dict.fromkeys(chapters))


def _and(words: Sequence[str]) -> str:
    words = list(words)
    if not words:
        return "none"
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _signed(e: Estimate) -> str:
    return f"+{e}" if e.value >= 0 else str(e)


def _level(value: float, unit: str) -> str:
    """A chance level or a bar in a score's unit: ``"50%"`` or ``"0.10"``."""
    return f"{value:.0%}" if unit == "%" else f"{value:.2f}"


def _score(e: Estimate) -> str:
    """A reader's score with its metric: ``"42% ± 3"`` (accuracy) or ``"R² 0.80 ± 0.05"``."""
    return str(e) if e.unit == "%" else f"R² {e}"


def _get(results: Mapping[str, Result], name: str, cls: type[R]) -> R | None:
    """``results[name]`` when it is there and of the class :data:`RECORDS` registers."""
    if RECORDS[name].result_class is not cls:
        raise TypeError(f"{name!r} records a {RECORDS[name].result_class.__name__}")
    found = results.get(name)
    return found if isinstance(found, cls) else None


# -- the factor map ----------------------------------------------------------------------------
FACTORS = ("identity", "expression", "light", "pose")
"""The rows of :class:`FactorMap`."""

Z, DECODERS, FADER_Z, Y = PLACES = (
    "shared latent z (DeepFakes)",
    "decoders (DeepFakes)",
    "latent E(x) (FaderNet, λ > 0)",
    "attribute y (FaderNet)",
)
"""The columns of :class:`FactorMap`: where a model may keep a factor."""

PLACE_WORDS = {
    Z: "the shared latent",
    DECODERS: "the decoders",
    FADER_Z: "FaderNet's latent",
    Y: "FaderNet's y",
}
"""The places as :attr:`FactorMap.verdict` names them in a sentence."""

PROBED = {"expression": ("smile",), "light": ("light class", "azimuth"), "pose": ("yaw",)}
"""The factors of each group that chapter 7's probes read (labels of
:data:`sepviz.experiments.where_information_lives.FACTORS`)."""

FOLLOWED = {"expression": "smile", "light": "azimuth", "pose": "yaw"}
"""The factor of each group whose crossing chapter 4 follows (keys of
:data:`sepviz.experiments.deepfakes.TRANSFER_FACTORS`)."""


@dataclass(frozen=True)
class Cell:
    """One cell of :class:`FactorMap`: a status, the number it comes from with its interval
    and the chance or bar it is read against (``detail``), and the chapter that measured it;
    a NOT_MEASURED cell names in ``run`` the chapters whose results would fill it, and a
    NOT_APPLICABLE one says why in ``detail`` (shown in a note under the table)."""

    status: Status
    detail: str = ""
    chapter: str = ""
    qualifier: str = ""  # HIDDEN or REMOVED: how a latent holds the light
    run: tuple[str, ...] = ()

    @property
    def word(self) -> str:
        """The status with its qualifier: ``"yes, hidden"``, ``"no (removed)"``, ``"yes"``."""
        if not self.qualifier:
            return self.status.value
        if self.status is NO:
            return f"{self.status.value} ({self.qualifier})"
        return f"{self.status.value}, {self.qualifier}"

    def __str__(self) -> str:
        if self.status is NOT_MEASURED:
            return _run(self.run)
        if self.status is Status.NOT_APPLICABLE:
            return self.status.value
        return f"{self.word}: {self.detail}; {link(self.chapter)}"


def _missing(*names: str) -> Cell:
    return Cell(NOT_MEASURED, run=tuple(RECORDS[n].chapter for n in names))


def _probe_cell(probes: LatentProbes, labels: Sequence[str]) -> Cell | None:
    """The linear probes of chapter 7 on ``labels`` (those the probes read; None: none)."""
    read = [label for label in labels if label in probes.factors]
    if not read:
        return None
    statuses, parts = [], []
    for label in read:
        k = probes.factors.index(label)
        e, chance = probes.linear[k], probes.chance[k]
        statuses.append(_READS[reading(e, chance)])
        parts.append(f"{label} {_score(e)} (chance {_level(chance, e.unit)})")
    detail = "linear probe: " + "; ".join(parts)
    return Cell(combine(statuses), detail, RECORDS["latent_probes"].chapter)


def _crossing(transfer: PoseTransfer, factor: str, words: Mapping[str, Status]) -> Cell:
    share = transfer.transfer(factor)
    detail = f"{share} of A's {factor} crosses the swap (bars {POSE_LOST:.0%}, {POSE_KEPT:.0%})"
    return Cell(words[transfer.kept(factor)], detail, RECORDS["pose_transfer"].chapter)


def _identity_in_z(results: Mapping[str, Result]) -> Cell:
    """Chapter 4's linear probe of identity on the shared latent (:meth:`IdentityProbe.state`),
    else chapter 7's two probes (the claim's rule of :class:`LatentProbes`: one reads -> yes,
    both blind -> no)."""
    held = _get(results, "identity_probe", IdentityProbe)
    if held is not None:
        k = held.factors.index("identity")
        e = held.latent[k]
        detail = f"linear probe {_score(e)} (chance {_level(held.chance[k], e.unit)})"
        return Cell(_READS[held.state(k)], detail, RECORDS["identity_probe"].chapter)
    probes = _get(results, "latent_probes", LatentProbes)
    if probes is not None and "identity" in probes.factors:
        k = probes.factors.index("identity")
        states = list(probes.readings("identity").values())
        status = YES if probes.read_by("identity") else NO if removed(states) else CANT_TELL
        detail = (
            f"linear probe {_score(probes.linear[k])}, MLP {_score(probes.mlp[k])} "
            f"(chance {_level(probes.chance[k], probes.linear[k].unit)})"
        )
        return Cell(status, detail, RECORDS["latent_probes"].chapter)
    return _missing("identity_probe", "latent_probes")


def _factor_in_z(results: Mapping[str, Result], factor: str) -> Cell:
    """Chapter 7's linear probes of the group's factors; for the pose, when chapter 7's faces
    had no turned heads, the share of A's yaw that crosses the swap of chapter 4 (the swap
    can keep A's yaw only if the latent carries it)."""
    probes = _get(results, "latent_probes", LatentProbes)
    cell = None if probes is None else _probe_cell(probes, PROBED[factor])
    if cell is not None:
        return cell
    transfer = _get(results, "pose_transfer", PoseTransfer)
    if factor == "pose":
        if transfer is not None:
            return _crossing(transfer, FOLLOWED["pose"], _CROSSES)
        return _missing(*(["latent_probes"] if probes is None else []), "pose_transfer")
    if probes is None:
        return _missing("latent_probes")
    return Cell(Status.NOT_APPLICABLE, f"chapter 7's probes read no {factor}")


def _identity_in_decoders(results: Mapping[str, Result]) -> Cell:
    """Chapter 7's decoders fed the other person's faces (the rule of
    :attr:`DecoderIdentity.verdict`), else chapter 4's swap: it works (gain above
    :data:`~sepviz.experiments.deepfakes.WORKS_DB`) only if decoder B draws B."""
    decoders = _get(results, "decoder_identity", DecoderIdentity)
    if decoders is not None:
        return Cell(
            _own_person(decoders), _own_detail(decoders), RECORDS["decoder_identity"].chapter
        )
    swap = _get(results, "swap", SwapQuality)
    if swap is not None:
        status = _swap_works(swap)
        detail = f"swap gain {_signed(swap.gain)} over {swap.baseline} (bar {WORKS_DB:g} dB)"
        return Cell(status, detail, RECORDS["swap"].chapter)
    return _missing("decoder_identity", "swap")


def _own_person(decoders: DecoderIdentity) -> Status:
    shares = [s for _, _, s in decoders.other_inputs()]
    if all(s.above(NEARER_BAR) for s in shares):
        return YES
    if all(s.below(NEARER_BAR) for s in shares):
        return NO
    if any(s.covers(NEARER_BAR) for s in shares):
        return CANT_TELL
    return IN_PART


def _own_detail(decoders: DecoderIdentity) -> str:
    shares = ", ".join(f"dec. {d} {s}" for d, _, s in decoders.other_inputs())
    return f"draws its own person: {shares} (bar {NEARER_BAR:.0%})"


def _swap_works(swap: SwapQuality) -> Status:
    if swap.gain.covers(WORKS_DB):
        return CANT_TELL
    return YES if swap.gain.above(WORKS_DB) else NO


def _factor_in_decoders(results: Mapping[str, Result], factor: str) -> Cell:
    """Chapter 4's share of A's factor that crosses the swap (:meth:`PoseTransfer.kept`):
    crosses (keeps) -> no, the decoder does not impose it; lost -> yes; between the bars ->
    in part."""
    transfer = _get(results, "pose_transfer", PoseTransfer)
    if transfer is None:
        return _missing("pose_transfer")
    if FOLLOWED[factor] not in transfer.factors:
        return Cell(Status.NOT_APPLICABLE, f"chapter 4 did not follow the {factor}")
    return _crossing(transfer, FOLLOWED[factor], _IMPOSED)


def _ladder_cell(
    names: Sequence[str],
    readings: Sequence[Reading],
    scores: Sequence[Estimate],
    chance: float,
    where: str,
    chapter: str,
) -> Cell:
    """The light on a ladder of readers, weakest first, by the chapters' rule: removed when
    every reader is blind (:func:`removed`); hidden when a weaker reader is blind below the
    first that reads; kept when some reader reads; can't tell when none reads and not all
    are blind."""
    bar = f"chance {chance:.0%}, {where}"
    if removed(readings):
        top = names[-1]
        return Cell(NO, f"{top} {scores[-1]} ({bar})", chapter, REMOVED)
    reading_at = [i for i, r in enumerate(readings) if r.reads]
    if not reading_at:
        return Cell(CANT_TELL, f"no reader reads it, not all blind ({bar})", chapter)
    low, top = reading_at[0], reading_at[-1]
    hidden = any(r.blind for r in readings[:low])
    detail = f"{names[top]} reads it at {scores[top]} ({bar})"
    return Cell(YES, detail, chapter, HIDDEN if hidden else "")


def adversary_index(comparison: Comparison) -> int | None:
    """The method of chapter 6 trained with the strongest adversary (the largest λ > 0,
    named by :func:`~sepviz.experiments.hidden_or_removed.lambda_name`), or None."""
    best: tuple[float, int] | None = None
    for i, method in enumerate(comparison.methods):
        try:
            lam = float(method.rsplit("=", 1)[1])
        except (IndexError, ValueError):
            continue
        if lam > 0 and lambda_name(lam) == method and (best is None or lam > best[0]):
            best = (lam, i)
    return None if best is None else best[1]


def _light_in_fader(results: Mapping[str, Result]) -> Cell:
    """Chapter 6's ladder of readers on the method with the strongest adversary, else chapter
    5's three probes at the largest λ (both by :func:`_ladder_cell`)."""
    comparison = _get(results, "hidden_or_removed", Comparison)
    i = None if comparison is None else adversary_index(comparison)
    if comparison is not None and i is not None:
        ladder = comparison.ladders[i]
        where = comparison.methods[i].split(", ", 1)[-1]
        chapter = RECORDS["hidden_or_removed"].chapter
        return _ladder_cell(
            ladder.readers, ladder.readings, ladder.scores, ladder.chance, where, chapter
        )
    removal = _get(results, "light_removal", LightRemoval)
    if removal is not None:
        where = f"λ = {removal.lambdas[-1]:g}"
        return _ladder_cell(
            PROBES,
            removal.readings(),
            removal.probes(),
            removal.chance,
            where,
            RECORDS["light_removal"].chapter,
        )
    return _missing("hidden_or_removed", "light_removal")


def _kept(kept: FactorsKept, k: int) -> Cell:
    """One factor of chapter 5's linear probes with and without the adversary, by its
    verdict's rule: within the margin of λ = 0 or above -> yes; dropped but back on whitened
    latents -> yes, hidden; dropped and not back (lost) -> in part while the whitened probe
    still reads it, no when it is blind; an undecided order -> can't tell."""
    order, back = kept.orders()[k], kept.recovered()[k]
    if order in (Order.EQUAL, Order.BETTER):
        return Cell(YES)
    if order is Order.WORSE and back in (Order.EQUAL, Order.BETTER):
        return Cell(YES, qualifier=HIDDEN)
    if order is Order.WORSE and back is Order.WORSE:
        state = _READS[reading(kept.whitened[k], 0.0)]
        return Cell(IN_PART if state is YES else state)
    return Cell(CANT_TELL)


def _factor_in_fader(results: Mapping[str, Result], factor: str) -> Cell:
    """Identity and expression in FaderNet's latent: chapter 5's linear probes of the factors
    y does not carry, with the adversary (:func:`_kept`); the group's factors combined."""
    kept = _get(results, "factors_kept", FactorsKept)
    if kept is None:
        return _missing("factors_kept")
    group = EXPRESSION_FACTORS if factor == "expression" else (factor,)
    ks = [k for k, f in enumerate(kept.factors) if f in group]
    if not ks:
        return Cell(Status.NOT_APPLICABLE, f"chapter 5 does not probe the {factor}")
    cells = [_kept(kept, k) for k in ks]
    status = combine([c.status for c in cells])
    hidden = status is YES and any(c.qualifier == HIDDEN for c in cells)
    parts = ", ".join(f"{kept.factors[k].replace('_', ' ')} {kept.adversary[k]}" for k in ks)
    detail = f"linear R² at λ = {kept.lam:g}: {parts}"
    return Cell(status, detail, RECORDS["factors_kept"].chapter, HIDDEN if hidden else "")


def _slider(check: SliderCheck) -> tuple[Status, int]:
    """The rule of :attr:`SliderCheck.verdict`: the light rises (the share's interval above
    :data:`~sepviz.experiments.measures.MONOTONE`) and every target beats the input -> yes;
    no target beats it -> no; anything else -> in part. Returns the status and the wins."""
    wins = sum(o is Order.BETTER for o in check.orders())
    if check.monotone.above(MONOTONE) and wins == len(check.targets):
        return YES, wins
    return (NO if wins == 0 else IN_PART), wins


def _slider_detail(check: SliderCheck, wins: int) -> str:
    return (
        f"light follows y for {check.monotone} of faces (bar {MONOTONE:.0%}), beats the "
        f"input at {wins} of {len(check.targets)} y"
    )


def _light_in_y(results: Mapping[str, Result]) -> Cell:
    check = _get(results, "slider", SliderCheck)
    if check is None:
        return _missing("slider")
    status, wins = _slider(check)
    return Cell(status, _slider_detail(check, wins), RECORDS["slider"].chapter)


def _pose_in_y(results: Mapping[str, Result]) -> Cell:
    """Chapter 5's two faders: the yaw slider's effect on the measured yaw, as a share of the
    renderer's (:meth:`CrossTalk.own`: chance 0, perfect 1)."""
    talk = _get(results, "cross_talk", CrossTalk)
    if talk is None:
        return Cell(Status.NOT_APPLICABLE, "the one-fader FaderNet's y holds no pose")
    effect = talk.effect[3]
    detail = f"yaw slider moves yaw {effect} of the truth's (bar {read_bar(0.0):.2f})"
    return Cell(_READS[talk.own()[1]], detail, RECORDS["cross_talk"].chapter)


def factor_map(results: Mapping[str, Result]) -> FactorMap:
    """Where each factor lives, from the recorded ``results`` (:func:`collect`).

    Each cell measures, by its chapter's own rule:

    - identity × shared latent: chapter 4's linear probe of identity on DeepFakes' latent
      against chance (:func:`~sepviz.experiments.reading`), else chapter 7's two probes;
    - expression, light, pose × shared latent: chapter 7's linear probes of the smile, of the
      light class and azimuth, of the yaw (a group is yes when all read, no when all are
      blind: :func:`combine`); for the pose without turned heads in chapter 7, the share of
      A's yaw that crosses chapter 4's swap;
    - identity × decoders: chapter 7's share of the other person's faces a decoder draws
      nearer its own person (bar :data:`~sepviz.experiments.where_information_lives.NEARER_BAR`),
      else chapter 4's swap gain over the better baseline (bar
      :data:`~sepviz.experiments.deepfakes.WORKS_DB`);
    - expression, light, pose × decoders: the share of A's smile, azimuth, yaw that crosses
      the swap (chapter 4): all of it (above
      :data:`~sepviz.experiments.deepfakes.POSE_KEPT`) -> no, it rides in the latent;
      none (below :data:`~sepviz.experiments.deepfakes.POSE_LOST`) -> yes, the decoder
      imposes its own; between -> in part;
    - light × FaderNet's latent: chapter 6's ladder of readers on the strongest adversary
      (removed, hidden or read), else chapter 5's probes at the largest λ; identity and
      expression: chapter 5's linear probes with the adversary (:func:`_kept`);
    - light × y: chapter 5's slider check; pose × y: the yaw slider of chapter 5's two
      faders. The rest of y is not applicable: y holds only what it is trained to hold.
    """
    cells = {
        "identity": (
            _identity_in_z(results),
            _identity_in_decoders(results),
            _factor_in_fader(results, "identity"),
            Cell(Status.NOT_APPLICABLE, "y holds no identity"),
        ),
        "expression": (
            _factor_in_z(results, "expression"),
            _factor_in_decoders(results, "expression"),
            _factor_in_fader(results, "expression"),
            Cell(Status.NOT_APPLICABLE, "y holds no expression"),
        ),
        "light": (
            _factor_in_z(results, "light"),
            _factor_in_decoders(results, "light"),
            _light_in_fader(results),
            _light_in_y(results),
        ),
        "pose": (
            _factor_in_z(results, "pose"),
            _factor_in_decoders(results, "pose"),
            Cell(Status.NOT_APPLICABLE, "no chapter probes the pose in FaderNet's latent"),
            _pose_in_y(results),
        ),
    }
    two = _get(results, "cross_talk", CrossTalk) is not None
    held = ["the light"] + (["the yaw"] if two else [])
    notes = [
        f"y holds only {_and(held)}, by construction (what the FaderNet is given as y): "
        "identity and expression never enter it."
    ]
    for f in FACTORS:
        for place, cell in zip(PLACES, cells[f]):
            if cell.status is Status.NOT_APPLICABLE and place != Y:
                notes.append(f"{f} × {place}: {cell.detail}.")
    return FactorMap(FACTORS, PLACES, tuple(cells[f] for f in FACTORS), tuple(notes))


STATUS_COLOURS = {
    # yes green, in part amber, no blue-grey; undecided and inapplicable pale
    Status.YES: "#7fc97f",
    Status.IN_PART: "#fdc086",
    Status.NO: "#a6bddb",
    Status.CANT_TELL: "#f0f0f0",
    Status.NOT_APPLICABLE: "#fafafa",
    Status.NOT_MEASURED: "#ffffff",
}
"""The colour of each status in :meth:`FactorMap.plot`."""


def _wrap(place: str) -> str:
    # "shared latent z (DeepFakes)" -> two lines under the column
    head, _, tail = place.partition(" (")
    return f"{head}\n({tail}" if tail else head


@dataclass(frozen=True)
class FactorMap(Result):
    """Where each factor of the faces lives: ``cells[i][j]`` says whether ``factors[i]``
    lives in ``places[j]`` (:func:`factor_map`); ``notes`` explain the cells marked "—"."""

    factors: tuple[str, ...]
    places: tuple[str, ...]
    cells: tuple[tuple[Cell, ...], ...]
    notes: tuple[str, ...] = ()
    title = "Where each factor lives"

    def cell(self, factor: str, place: str) -> Cell:
        """The cell of ``factor`` (a name of :data:`FACTORS`) at ``place`` (of :data:`PLACES`)."""
        return self.cells[self.factors.index(factor)][self.places.index(place)]

    def status(self, factor: str, place: str) -> Status:
        return self.cell(factor, place).status

    def _clause(self, i: int) -> str:
        def named(status: Status) -> list[str]:
            words = []
            for place, cell in zip(self.places, self.cells[i]):
                if cell.status is status:
                    said = PLACE_WORDS.get(place, place)
                    if cell.qualifier == HIDDEN:
                        said += " (hidden, not removed)"
                    elif cell.qualifier == REMOVED:
                        said += " (removed)"
                    words.append(said)
            return words

        parts = []
        for status, lead in ((YES, "lives in"), (IN_PART, "in part in"), (NO, "not in")):
            if named(status):
                parts.append(f"{lead} {_and(named(status))}")
        if named(CANT_TELL):
            parts.append(f"undecided in {_and(named(CANT_TELL))}")
        factor = self.factors[i]
        return f"{factor} {', '.join(parts)}" if parts else f"{factor} not measured"

    @property
    def verdict(self) -> str:
        clauses = "; ".join(self._clause(i) for i in range(len(self.factors)))
        text = f"{clauses[0].upper()}{clauses[1:]}."
        missing = [c for row in self.cells for c in row if c.status is NOT_MEASURED]
        if missing:
            chapters = dict.fromkeys(ch for c in missing for ch in c.run)
            text += (
                f" {len(missing)} of {sum(len(r) for r in self.cells)} cells are not measured "
                f"for this budget: run {', '.join(link(c) for c in chapters)}."
            )
        return text

    def plot(self) -> Any:
        """The map as a grid of coloured cells (factors down, places across), each with its
        word: the figure of the closing chapter."""
        import matplotlib.pyplot as plt
        from matplotlib.colors import to_rgba

        fig, ax = plt.subplots(
            figsize=(2.2 * len(self.places) + 1.5, 0.8 * len(self.factors) + 1.2)
        )
        for i, row in enumerate(self.cells):
            for j, cell in enumerate(row):
                face = to_rgba(STATUS_COLOURS[cell.status])
                ax.add_patch(plt.Rectangle((j, i), 1, 1, facecolor=face, edgecolor="white", lw=3))
                word = "not measured" if cell.status is NOT_MEASURED else cell.word
                ax.text(j + 0.5, i + 0.5, word, ha="center", va="center", fontsize=10)
        ax.set_xlim(0, len(self.places))
        ax.set_ylim(len(self.factors), 0)  # the first factor on top, as in the table
        ax.set_xticks([j + 0.5 for j in range(len(self.places))], [_wrap(p) for p in self.places])
        ax.set_yticks([i + 0.5 for i in range(len(self.factors))], list(self.factors))
        ax.tick_params(length=0)
        ax.set_xlabel("where a model may keep it")
        ax.set_ylabel("factor of the face")
        ax.set_title("Where each factor lives (each cell from its chapter's result)")
        for side in ax.spines.values():
            side.set_visible(False)
        fig.tight_layout()
        return fig

    def table(self) -> str:
        rows = [(f, *(str(c) for c in row)) for f, row in zip(self.factors, self.cells)]
        table = markdown_table(("factor", *self.places), rows)
        if not self.notes:
            return table
        return table + "\n" + "".join(f"- {note}\n" for note in self.notes)


# -- the blog's claims -------------------------------------------------------------------------
CLAIMS = (
    "An autoencoder reduces dimension better than PCA",
    "A constrained latent (a VAE) makes the autoencoder generative",
    "The shared latent holds only what A and B share (no identity)",
    "Each decoder stores its identity",
    "The swap keeps A's expression, pose and light",
    "The latent discriminator removes the light from the latent",
    "Moving y relights the face",
    "Idea 1: relight A by swapping from photos of B under every light",
    "Idea 2: one decoder per light class does as well as a FaderNet, at a cost",
    "The fader relights real photos",
)
"""The blog's claims, in its words (paraphrased), in the order of :class:`Claims`."""


@dataclass(frozen=True)
class Claim:
    """One row of :class:`Claims`: the claim, the chapter that decides it, the number with
    its interval and the baseline or bar it is read against (``figure``), the status and one
    computed sentence on what the numbers leave open (``why``); a NOT_MEASURED row names in
    ``run`` the chapters whose results would decide it."""

    number: int
    text: str
    chapter: str
    figure: str
    status: Status
    why: str = ""
    run: tuple[str, ...] = ()


def _claim(
    k: int, name: str, figure: str, status: Status, why: str = "", chapter: str = ""
) -> Claim:
    return Claim(k, CLAIMS[k - 1], chapter or RECORDS[name].chapter, figure, status, why)


def _unmeasured(k: int, *names: str) -> Claim:
    chapters = tuple(RECORDS[n].chapter for n in names)
    why = f"no result recorded for this budget: run {', '.join(link(c) for c in chapters)}"
    return Claim(k, CLAIMS[k - 1], chapters[0], "", NOT_MEASURED, why, chapters)


def _claim_pca(results: Mapping[str, Result]) -> Claim:
    """Per latent size AE - PCA against the dB margin (:attr:`AutoencoderVsPCA.orders`):
    better -> yes, worse or equal -> no, not distinguishable -> can't tell; combined."""
    r = _get(results, "ae_vs_pca", AutoencoderVsPCA)
    if r is None:
        return _unmeasured(1, "ae_vs_pca")
    per_size = {Order.BETTER: YES, Order.WORSE: NO, Order.EQUAL: NO}
    statuses = [per_size.get(o, CANT_TELL) for o in r.orders]
    status = _CLAIM[combine(statuses)]
    figure = (
        f"AE − PCA {_signed(r.gain[-1])} at d = {r.sizes[-1]} (margin ±{DB_MARGIN:g} dB); "
        f"AE wins at {len(r.ae_wins)} of {len(r.sizes)} sizes"
    )
    unsure = [d for d, s in zip(r.sizes, statuses) if s is CANT_TELL]
    not_won = [d for d in r.sizes if d not in r.ae_wins and d not in unsure]
    why = (
        f"AE − PCA's interval covers the ±{DB_MARGIN:g} dB margin at d = "
        f"{', '.join(map(str, unsure))}"
        if status is CANT_TELL
        else f"the autoencoder wins at d = {', '.join(map(str, r.ae_wins)) or 'none'}, not "
        f"at d = {', '.join(map(str, not_won))}"
    )
    return _claim(1, "ae_vs_pca", figure, status, why)


def _claim_vae(results: Mapping[str, Result]) -> Claim:
    """The verdict's rule of :class:`Generation`: the VAE's faces nearer real faces than the
    plain autoencoder's from the same N(0, I) codes, by a ratio of Fréchet distances above
    :data:`~sepviz.experiments.generative.FRECHET_RATIO` (:meth:`Generation.order`)."""
    r = _get(results, "generation", Generation)
    if r is None:
        return _unmeasured(2, "generation")
    order = r.order(AE_PRIOR)
    status = {Order.BETTER: HOLDS, Order.NOT_DISTINGUISHABLE: CANT_TELL}.get(order, FAILS)
    vae, ae = (r.frechet[r.models.index(m)] for m in (VAE, AE_PRIOR))
    figure = (
        f"Fréchet distance: VAE {vae}, autoencoder from N(0, I) {ae} "
        f"(nearer: ratio > {FRECHET_RATIO:g})"
    )
    ratio = r.ratio(AE_PRIOR)
    why = (
        f"the log of the ratio of Fréchet distances, {ratio}, covers the margin "
        f"±log {FRECHET_RATIO:g} = ±{math.log(FRECHET_RATIO):.2f}"
    )
    return _claim(2, "generation", figure, status, why)


def _claim_identity_free(results: Mapping[str, Result]) -> Claim:
    """Identity in the shared latent (the cell of :func:`factor_map`): at chance -> holds,
    read -> does not hold, an interval over the bar -> can't tell."""
    cell = _identity_in_z(results)
    if cell.status is NOT_MEASURED:
        return _unmeasured(3, "identity_probe", "latent_probes")
    status = {YES: FAILS, NO: HOLDS}.get(cell.status, CANT_TELL)
    why = f"the probe's interval covers its reading bar: {cell.detail}"
    return Claim(3, CLAIMS[2], cell.chapter, cell.detail, status, why)


def _claim_decoders(results: Mapping[str, Result]) -> Claim:
    """Identity in the decoders (the cell of :func:`factor_map`): chapter 7's decoders fed
    the other person's faces, else chapter 4's swap."""
    cell = _identity_in_decoders(results)
    if cell.status is NOT_MEASURED:
        return _unmeasured(4, "decoder_identity", "swap")
    status = _CLAIM[cell.status]
    if status is IN_PART:
        why = f"only some decoders draw their own person: {cell.detail}"
    else:
        why = f"an interval covers its bar: {cell.detail}"
    return Claim(4, CLAIMS[3], cell.chapter, cell.detail, status, why)


def _claim_swap(results: Mapping[str, Result]) -> Claim:
    """Every factor chapter 4 follows crosses the swap (:meth:`PoseTransfer.kept`: keeps ->
    yes, loses -> no, between the bars -> in part), combined."""
    r = _get(results, "pose_transfer", PoseTransfer)
    if r is None:
        return _unmeasured(5, "pose_transfer")
    states = {f: _CROSSES[r.kept(f)] for f in r.factors}
    status = _CLAIM[combine(list(states.values()))]
    shares = ", ".join(f"{f} {r.transfer(f)}" for f in r.factors)
    figure = f"share of A's factor that crosses: {shares} (bars {POSE_LOST:.0%}, {POSE_KEPT:.0%})"
    crossed = [f for f, s in states.items() if s is YES]
    rest = [f for f, s in states.items() if s is not YES]
    open_ = [f for f, s in states.items() if s is CANT_TELL]
    if status is CANT_TELL:
        why = f"the share of {_and(open_)} covers a bar ({POSE_LOST:.0%} or {POSE_KEPT:.0%})"
    else:
        why = f"fully across: {_and(crossed) if crossed else 'none'}"
        why += f"; not fully: {_and(rest)}" if rest else ""
    return _claim(5, "pose_transfer", figure, status, why)


def _claim_removed(results: Mapping[str, Result]) -> Claim:
    """The light in FaderNet's latent (the cell of :func:`factor_map`): removed -> holds; read
    by some reader, hidden or not -> does not hold."""
    cell = _light_in_fader(results)
    if cell.status is NOT_MEASURED:
        return _unmeasured(6, "hidden_or_removed", "light_removal")
    status = {NO: HOLDS, YES: FAILS}.get(cell.status, CANT_TELL)
    figure = f"{cell.word}: {cell.detail}"
    why = f"no reader reads the light, yet not every reader is blind to it ({cell.detail})"
    return Claim(6, CLAIMS[5], cell.chapter, figure, status, why)


def _claim_slider(results: Mapping[str, Result]) -> Claim:
    """The rule of :attr:`SliderCheck.verdict` (:func:`_slider`)."""
    check = _get(results, "slider", SliderCheck)
    if check is None:
        return _unmeasured(7, "slider")
    status, wins = _slider(check)
    figure = _slider_detail(check, wins)
    why = (
        f"the light follows y for {check.monotone} of faces (bar {MONOTONE:.0%}) and the "
        f"relit face beats the input by {DB_MARGIN:g} dB at {wins} of {len(check.targets)} y"
    )
    return _claim(7, "slider", figure, _CLAIM[status], why)


def _claim_idea_one(results: Mapping[str, Result]) -> Claim:
    """The rule of :attr:`IdeaOne.verdict`: idea 1's gain over the input left alone against
    the dB margin: better and better than the mean face at every lamp -> holds (in part when
    it beats the mean face at fewer lamps, or when retrieval misses A's expression: its
    ``shortfall``); equal or worse -> does not hold."""
    r = _get(results, "idea_one", IdeaOne)
    if r is None:
        return _unmeasured(8, "idea_one")
    order = compare(r.gain_input_mean, DB_MARGIN)
    n = len(r.lamps)
    wins = sum(compare(g, DB_MARGIN) is Order.BETTER for g in r.gain_mean_face)
    shortfall = r.retrieval.shortfall() if r.retrieval is not None else ""
    if order is Order.BETTER:
        status = HOLDS if wins == n and not shortfall else IN_PART
    else:
        status = CANT_TELL if order is Order.NOT_DISTINGUISHABLE else FAILS
    figure = (
        f"gain over the input {_signed(r.gain_input_mean)} (margin ±{DB_MARGIN:g} dB); "
        f"beats the mean face at {wins} of {n} lamps"
    )
    if status is CANT_TELL:
        why = f"the gain over the input, {r.gain_input_mean}, covers ±{DB_MARGIN:g} dB"
    else:
        why = f"it beats the mean face at {wins} of {n} lamps"
        why += f"; the retrieval {shortfall}" if shortfall else ""
    return _claim(8, "idea_one", figure, status, why)


def _claim_decoder_per_light(results: Mapping[str, Result]) -> Claim:
    """Per number of lamps, one decoder per lamp minus FaderNet against the dB margin
    (:meth:`DesignComparison.winner`): equal or better -> as well, worse -> not, not
    distinguishable -> can't tell; combined. "At a cost": more parameters than the FaderNet
    at the most lamps; as well at no cost -> in part."""
    r = _get(results, "decoder_per_light", DesignComparison)
    if r is None:
        return _unmeasured(9, "decoder_per_light")
    as_well = {Order.BETTER: YES, Order.EQUAL: YES, Order.WORSE: NO}
    statuses = [as_well.get(r.winner(i), CANT_TELL) for i in range(len(r.lamps))]
    quality = combine(statuses)
    ratio = r.multi_parameters[-1] / r.fader_parameters[-1]
    status = _CLAIM[quality]
    if quality is YES and ratio <= 1:
        status = IN_PART
    figure = (
        f"{r.lamps[-1]} lamps: one per lamp − FaderNet {_signed(r.gain[-1])} (margin "
        f"±{DB_MARGIN:g} dB), {ratio:.1f}x the parameters"
    )
    per = ", ".join(f"{n} lamps {_signed(g)}" for n, g in zip(r.lamps, r.gain))
    why = f"one per lamp − FaderNet: {per} (margin ±{DB_MARGIN:g} dB)"
    if quality is YES:
        why = f"as good, but with {ratio:.1f}x the parameters it costs nothing more"
    return _claim(9, "decoder_per_light", figure, status, why)


def _claim_real(results: Mapping[str, Result]) -> Claim:
    """The rule of :meth:`LightResponse.right_way` for the FaderNet with the adversary: the
    measured light rises at every step of y for more than
    :data:`~sepviz.experiments.real_faces.MONOTONE` of the faces and moves."""
    r = _get(results, "real_light_response", LightResponse)
    if r is None:
        return _unmeasured(10, "real_light_response")
    right = r.right_way(r.adversary)
    status = {True: HOLDS, False: FAILS, None: CANT_TELL}[right]
    k = r.models.index(r.adversary)
    figure = (
        f"light rises for {r.monotone[k]} of faces (bar {REAL_MONOTONE:.0%}), moves {r.span[k]}"
    )
    why = f"an interval covers its bar: {figure}"
    return _claim(10, "real_light_response", figure, status, why)


_CLAIMED: tuple[Callable[[Mapping[str, Result]], Claim], ...] = (
    _claim_pca,
    _claim_vae,
    _claim_identity_free,
    _claim_decoders,
    _claim_swap,
    _claim_removed,
    _claim_slider,
    _claim_idea_one,
    _claim_decoder_per_light,
    _claim_real,
)


def claims(results: Mapping[str, Result]) -> Claims:
    """The blog's claims (:data:`CLAIMS`), each decided by its chapter's recorded result:

    1. autoencoder vs PCA: AE - PCA per latent size against the dB margin, holds when the
       autoencoder wins at every size;
    2. the VAE's Fréchet distance against the plain autoencoder's from N(0, I)
       (:meth:`Generation.order`);
    3. identity in the shared latent: holds when the probe is at chance;
    4. identity in the decoders (chapter 7's decoder swap, else chapter 4's swap gain);
    5. the share of A's smile, yaw and light that crosses the swap: holds when all cross;
    6. the light in the latent of the strongest adversary: holds only when removed;
    7. the light slider (:class:`SliderCheck`'s rule);
    8. idea 1's gain over the input and the mean face (:class:`IdeaOne`'s rule);
    9. one decoder per lamp against a FaderNet: as good at every number of lamps, with more
       parameters;
    10. the FaderNet's measured light on real faces (:meth:`LightResponse.right_way`).
    """
    return Claims(tuple(decide(results) for decide in _CLAIMED))


_OPEN = (IN_PART, CANT_TELL, NOT_MEASURED)
"""The statuses :meth:`Claims.open_questions` lists."""


@dataclass(frozen=True)
class Claims(Result):
    """The blog's claims and whether the chapters' numbers hold them (:func:`claims`)."""

    rows: tuple[Claim, ...]
    title = "The blog's claims, measured"

    def count(self, status: Status) -> int:
        """How many claims have ``status``."""
        return sum(row.status is status for row in self.rows)

    @property
    def verdict(self) -> str:
        n = len(self.rows)
        holds = self.count(HOLDS)
        head = f"**{holds} of {n} claim{'s' if n != 1 else ''} hold{'s' if holds == 1 else ''}**"
        fails = self.count(FAILS)
        counts = (
            (self.count(IN_PART), f"{self.count(IN_PART)} in part"),
            (fails, f"{fails} do{'es' if fails == 1 else ''} not hold"),
            (self.count(CANT_TELL), f"the data cannot tell for {self.count(CANT_TELL)}"),
            (self.count(NOT_MEASURED), f"{self.count(NOT_MEASURED)} not measured yet"),
        )
        rest = [words for k, words in counts if k]
        return f"{head}; {', '.join(rest)}." if rest else f"{head}."

    def table(self) -> str:
        rows = [
            (
                row.number,
                row.text,
                link(row.chapter),
                row.figure or "—",
                _run(row.run) if row.status is NOT_MEASURED else row.status.value,
            )
            for row in self.rows
        ]
        header = ("#", "claim", "chapter", "the number (and what it is read against)", "status")
        return markdown_table(header, rows)

    def open_questions(self) -> list[str]:
        """One sentence for each claim the numbers leave open (in part, can't tell, not
        measured): what its interval covers, or which chapter to run. Each starts with
        ``**Claim N**``, N its number in :meth:`table` (a bullet, not a numbered list item:
        Markdown would renumber the open claims 1, 2, 3)."""
        return [
            f"**Claim {row.number}**, {row.text[0].lower()}{row.text[1:]}: "
            f"{row.status.value}; {row.why}."
            for row in self.rows
            if row.status in _OPEN
        ]
