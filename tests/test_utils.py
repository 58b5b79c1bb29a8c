"""sepviz.utils and FaceSet: device choice, budget, seeding, atomic checkpoints, checks."""

from __future__ import annotations

import os

import pytest
import torch

from sepviz.data import FaceSet
from sepviz.utils import atomic_save, budget, check_images, pick_device, safe_load, seed_everything


def test_pick_device_cpu_here_and_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEPVIZ_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else None
    device = pick_device()
    if expected:
        assert device.type == expected
    assert pick_device("cpu").type == "cpu"
    monkeypatch.setenv("SEPVIZ_DEVICE", "cpu")
    assert pick_device().type == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised without CUDA")
def test_pick_device_cuda_without_cuda_is_an_error() -> None:
    with pytest.raises(ValueError, match="CUDA is not available"):
        pick_device("cuda")


def test_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEPVIZ_BUDGET", raising=False)
    assert budget(torch.device("cpu")) == "quick"
    assert budget(torch.device("cuda")) == "full"
    monkeypatch.setenv("SEPVIZ_BUDGET", "full")
    assert budget(torch.device("cpu")) == "full"
    monkeypatch.setenv("SEPVIZ_BUDGET", "huge")
    with pytest.raises(ValueError, match="SEPVIZ_BUDGET"):
        budget()


def test_seed_everything_reproduces() -> None:
    g1 = seed_everything(3)
    a = torch.rand(4), torch.rand(4, generator=g1)
    g2 = seed_everything(3)
    b = torch.rand(4), torch.rand(4, generator=g2)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_atomic_save_round_trip_and_no_temp_left(tmp_path: os.PathLike[str]) -> None:
    state = {"w": torch.arange(6.0).reshape(2, 3), "step": 7, "names": ["a", "b"]}
    path = atomic_save(state, tmp_path / "sub" / "ckpt.pt")
    loaded = safe_load(path)
    assert torch.equal(loaded["w"], state["w"]) and loaded["step"] == 7
    assert sorted(p.name for p in path.parent.iterdir()) == ["ckpt.pt"]
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        safe_load(tmp_path / "missing.pt")


class Evil:
    """Any class: a pickle of it must not load under weights_only=True."""


def test_safe_load_refuses_arbitrary_pickles(tmp_path: os.PathLike[str]) -> None:
    torch.save({"obj": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(Exception, match="[Ww]eights only"):
        safe_load(tmp_path / "evil.pt")


@pytest.mark.parametrize(
    ("images", "match"),
    [
        (torch.rand(2, 3, 8), r"shape \(N, 3, H, W\)"),
        (torch.rand(2, 1, 8, 8), r"shape \(N, 3, H, W\)"),
        (torch.zeros(2, 3, 8, 8, dtype=torch.uint8), "float tensor"),
        (torch.rand(2, 3, 16, 16) * 2, r"\[0, 1\]"),
        (torch.rand(0, 3, 8, 8), "empty"),
        (torch.rand(2, 3, 8, 8), "16x16"),
    ],
)
def test_check_images_errors(images: torch.Tensor, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        check_images(images, "x", size=16)


def test_faceset_indexing_and_where() -> None:
    faces = FaceSet(
        torch.rand(6, 3, 4, 4),
        {"identity": torch.tensor([0, 1, 0, 1, 2, 2])},
        [f"f{i}" for i in range(6)],
    )
    sub = faces.where(identity=1)
    assert len(sub) == 2 and sub.names == ["f1", "f3"]
    assert torch.equal(sub.images, faces.images[[1, 3]])
    assert len(faces[2]) == 1 and faces[2].names == ["f2"]
    assert faces[-1].names == ["f5"]
    assert faces[1:3].names == ["f1", "f2"]
    with pytest.raises(KeyError, match="unknown factor 'light'"):
        faces.where(light=0)
    with pytest.raises(ValueError, match="factor 'identity' has 2 entries but there are 6"):
        FaceSet(torch.rand(6, 3, 4, 4), {"identity": torch.tensor([0, 1])})
