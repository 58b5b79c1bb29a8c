"""The model zoo trains once, then loads from its cache; two callers at once train once."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
import torch

from sepviz import zoo
from sepviz.recipes import Recipe

TINY = {"size": 16, "steps": 2, "n_faces": 16, "progress": False}


@pytest.fixture
def counted_fits(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[int]:
    """Models go to a fresh cache; every training run is counted (and takes 0.3 s at least,
    so two threads overlap)."""
    monkeypatch.setenv("SEPVIZ_CACHE", str(tmp_path / "models"))
    calls: list[int] = []
    fit = Recipe.fit

    def counted(self: Recipe, *args: object, **kwargs: object) -> object:
        calls.append(1)
        threading.Event().wait(0.3)
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(Recipe, "fit", counted)
    return calls


def test_trained_once_then_loaded_with_its_history(counted_fits: list[int]) -> None:
    first = zoo.trained("autoencoder", latent_dim=4, **TINY)
    again = zoo.trained("autoencoder", latent_dim=4, **TINY)
    assert len(counted_fits) == 1
    assert again.history is not None and again.history.steps == first.history.steps
    for a, b in zip(first.state_dict().values(), again.state_dict().values()):
        torch.testing.assert_close(a, b)
    zoo.trained("autoencoder", latent_dim=8, **TINY)  # another key: trained
    assert len(counted_fits) == 2
    assert len(list(zoo.cache_dir().glob("autoencoder-16px-*.pt"))) == 2


def test_two_callers_at_once_train_one_model(counted_fits: list[int]) -> None:
    models: list[object] = []
    threads = [
        threading.Thread(target=lambda: models.append(zoo.trained("autoencoder", **TINY)))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(models) == 2 and len(counted_fits) == 1


def test_settings_name_the_budgets() -> None:
    assert zoo.settings("quick")["size"] == 32
    with pytest.raises(ValueError, match=r"budget must be one of \['full', 'quick'\]"):
        zoo.settings("medium")


def _ship(cache: Path, shipped: Path) -> list[Path]:
    """Copy every model of ``cache`` with its card into ``shipped`` (what make pretrained does)."""
    shipped.mkdir(parents=True, exist_ok=True)
    copied = []
    for path in cache.glob("*.pt"):
        for file in (path, path.with_suffix(".json")):
            (shipped / file.name).write_bytes(file.read_bytes())
        copied.append(shipped / path.name)
    return copied


def test_a_shipped_model_is_loaded_not_trained(
    counted_fits: list[int], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    first = zoo.trained("autoencoder", latent_dim=4, **TINY)
    (shipped,) = _ship(zoo.cache_dir(), tmp_path / "pretrained")
    card = json.loads(shipped.with_suffix(".json").read_text())
    assert card["args"]["options"] == {"latent_dim": 4} and len(card["sha256"]) == 64
    monkeypatch.setattr(zoo, "PRETRAINED", tmp_path / "pretrained")
    monkeypatch.setenv("SEPVIZ_CACHE", str(tmp_path / "empty cache"))
    again = zoo.trained("autoencoder", latent_dim=4, **TINY)
    assert len(counted_fits) == 1  # loaded from the shipped file
    assert again.history is not None and again.history.steps == first.history.steps
    for a, b in zip(first.state_dict().values(), again.state_dict().values()):
        torch.testing.assert_close(a, b)
    assert zoo.stale(tmp_path / "pretrained") == []


def test_a_damaged_shipped_model_is_refused(
    counted_fits: list[int], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    zoo.trained("autoencoder", **TINY)
    (shipped,) = _ship(zoo.cache_dir(), tmp_path / "pretrained")
    data = bytearray(shipped.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte
    shipped.write_bytes(bytes(data))
    monkeypatch.setattr(zoo, "PRETRAINED", tmp_path / "pretrained")
    monkeypatch.setenv("SEPVIZ_CACHE", str(tmp_path / "empty cache"))
    with pytest.raises(ValueError, match=r"SHA-256"):
        zoo.trained("autoencoder", **TINY)
    assert zoo.stale(tmp_path / "pretrained") == [shipped]


def test_a_model_of_other_training_code_is_stale_and_pruned(
    counted_fits: list[int], tmp_path: Path
) -> None:
    zoo.trained("autoencoder", **TINY)
    zoo.trained("autoencoder", latent_dim=8, **TINY)
    fresh, old = _ship(zoo.cache_dir(), tmp_path / "pretrained")
    card = json.loads(old.with_suffix(".json").read_text())
    card["args"]["steps"] = 3  # as if the code that named it had trained 3 steps
    old.with_suffix(".json").write_text(json.dumps(card))
    assert zoo.stale(tmp_path / "pretrained") == [old]
    gone = json.loads(fresh.with_suffix(".json").read_text())
    fresh.with_suffix(".json").write_text(json.dumps({**gone, "code": ["removed.py"]}))
    assert zoo.stale(tmp_path / "pretrained") == sorted([fresh, old])
    fresh.with_suffix(".json").write_text(json.dumps(gone))
    assert zoo.prune_stale(tmp_path / "pretrained") == [old]
    assert sorted(p.name for p in (tmp_path / "pretrained").iterdir()) == sorted(
        [fresh.name, fresh.with_suffix(".json").name]
    )


def test_the_fingerprint_follows_code_not_docstrings_or_comments(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(zoo, "PACKAGE", tmp_path)
    monkeypatch.setattr(zoo, "TRAINING_CODE", ("model.py",))
    module = tmp_path / "model.py"

    def fingerprint(source: str) -> str:
        module.write_text(source)
        zoo.fingerprint.cache_clear()
        return zoo.fingerprint()

    try:
        base = fingerprint('"""A model."""\ndef f(x):\n    """Doubles."""\n    return 2 * x\n')
        reworded = fingerprint(
            '"""The model."""\ndef f(x):  # why\n    """Twice x."""\n    return 2 * x\n'
        )
        changed = fingerprint('"""A model."""\ndef f(x):\n    """Doubles."""\n    return 3 * x\n')
        (tmp_path / "extra.py").write_text("STEPS = 1\n")
        with_extra = zoo.fingerprint(("extra.py",))
        with pytest.raises(ValueError, match=r"no such sepviz file or folder: 'nowhere.py'"):
            zoo.fingerprint(("nowhere.py",))
    finally:
        zoo.fingerprint.cache_clear()
    assert base == reworded and len(base) == 16
    assert changed != base and with_extra != changed


def test_the_shipped_models_are_made_by_this_code() -> None:
    """The repository's pretrained models must be what the current code trains: change the
    training code and this fails until ``make pretrained`` has retrained them."""
    shipped = sorted(zoo.PRETRAINED.glob("*.pt"))
    assert len(shipped) >= 10, f"expected the quick budget's models in {zoo.PRETRAINED}"
    stale = [p.name for p in zoo.stale()]
    assert stale == [], f"stale pretrained models {stale}: run `make pretrained`"


def test_the_zoo_stores_half_precision_and_the_numbers_do_not_move(
    counted_fits: list[int], tmp_path: Path
) -> None:
    from sepviz.data.synthetic import make_faces
    from sepviz.metrics import psnr

    model = zoo.trained("deepfakes", size=16, steps=30, n_faces=64, progress=False)
    (path,) = zoo.cache_dir().glob("deepfakes-16px-*.pt")
    stored = torch.load(path, weights_only=True)["state_dict"]
    floats = [t for t in stored.values() if t.is_floating_point()]
    assert floats and all(t.dtype == zoo.STORED_DTYPE for t in floats)
    # the model returned by the first call computes what every later load computes
    again = zoo.trained("deepfakes", size=16, steps=30, n_faces=64, progress=False)
    assert len(counted_fits) == 1
    assert all(p.dtype == torch.float32 for p in again.parameters())
    faces = make_faces(32, size=16, identities=["A"], seed=5)
    torch.testing.assert_close(model.swap(faces.images, to="B"), again.swap(faces.images, to="B"))
    # against the same model in full precision: under 0.01 dB on the swap
    full = zoo.trained("deepfakes", size=16, steps=30, n_faces=64, progress=False, cache=False)
    truth = full.swap(faces.images, to="B")
    assert float(psnr(again.swap(faces.images, to="B"), truth).mean()) > 60  # dB: 0.1% error
    assert zoo.stale(zoo.cache_dir()) == []
    # the file proves itself outside the zoo too: its stored SHA-256 is of the half weights
    from sepviz.models import DeepFakes

    loaded = DeepFakes.load(path)
    torch.testing.assert_close(loaded.swap(faces.images, to="B"), again.swap(faces.images, to="B"))


def test_store_folder_half_rewrites_float32_models_and_their_cards(
    counted_fits: list[int], tmp_path: Path
) -> None:
    zoo.trained("autoencoder", latent_dim=4, **TINY)
    (path,) = zoo.cache_dir().glob("*.pt")
    state = torch.load(path, weights_only=True)
    state["state_dict"] = {k: v.float() for k, v in state["state_dict"].items()}
    torch.save(state, path)  # as shipped before the zoo stored half precision
    card = json.loads(path.with_suffix(".json").read_text())
    card["sha256"] = zoo.sha256_of(path)
    path.with_suffix(".json").write_text(json.dumps(card))
    size = path.stat().st_size
    assert zoo.store_folder_half(zoo.cache_dir()) == [path]
    assert path.stat().st_size < 0.6 * size
    assert zoo.stale(zoo.cache_dir()) == []  # the card follows the new bytes
    assert zoo.store_folder_half(zoo.cache_dir()) == []  # nothing left to halve
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ValueError, match="does not match the SHA-256"):
        zoo.store_folder_half(zoo.cache_dir())


def test_a_model_depends_on_its_own_class_and_posed_faces_on_the_warp(
    counted_fits: list[int],
) -> None:
    assert zoo.model_code("VAE") == ("models/base.py", "models/vae.py")
    assert "models/deepfakes.py" in zoo.model_code("MultiDecoder")  # its shared-encoder base
    assert zoo.model_code(None) == ("models",)
    with pytest.raises(ValueError, match="model_class must name a model"):
        zoo.model_code("ModelConfig")
    frontal = zoo.trained("autoencoder", latent_dim=4, **TINY)
    turned = zoo.trained("autoencoder", latent_dim=4, yaw=(-30.0, 30.0), **TINY)
    assert len(counted_fits) == 2  # the pose range names other faces: another model
    cards = {
        tuple(card["args"]["options"].get("yaw", ())): card
        for card in map(json.loads, map(Path.read_text, zoo.cache_dir().glob("*.json")))
    }
    assert "data/pose.py" in cards[(-30.0, 30.0)]["code"]
    assert "data/pose.py" not in cards[()]["code"]
    assert "models/autoencoder.py" in cards[()]["code"]
    assert frontal.latent_dim == turned.latent_dim == 4  # the pose range is no config field


def test_the_two_faders_recipe_turns_heads_and_reads_both() -> None:
    from sepviz.recipes import kind_of, recipe

    entry = recipe("fadernet2")
    assert entry.posed({}) and not recipe("fadernet").posed({})
    assert recipe("deepfakes").posed({"yaw": (-20, 20)})
    faces = entry.training_faces(64, 16, seed=0)
    y = entry.target(faces)
    assert y.shape == (64, 2) and float(y.abs().max()) <= 1
    torch.testing.assert_close(y[:, 1], faces.factors["yaw"] / 40)
    assert float(faces.factors["yaw"].abs().max()) > 20  # the whole yaw range, by default
    model = entry.build(16)
    assert model.attribute_dim == 2 and kind_of(model) == "fadernet2"
    assert kind_of(recipe("fadernet").build(16)) == "fadernet"
