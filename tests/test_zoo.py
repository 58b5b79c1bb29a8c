"""The model zoo trains once, then loads from its cache; two callers at once train once."""

from __future__ import annotations

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
