"""sepviz.utils and FaceSet: device choice, budget, seeding, atomic checkpoints, checks."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from torch import nn

from sepviz.data import FaceSet
from sepviz.utils import (
    atomic_save,
    batched,
    budget,
    check_codes,
    check_images,
    pick_device,
    safe_load,
    seed_everything,
)


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
    with pytest.raises(ValueError, match="holds Python objects") as info:
        safe_load(tmp_path / "evil.pt")
    assert "weights_only" not in str(info.value)  # never torch's advice to unpickle it


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


def test_check_images_options() -> None:
    x = torch.rand(2, 3, 8, 8)
    assert check_images(x) is x
    assert check_images(4 * x, data_range=4.0) is not None
    assert check_images(x - 5, data_range=None) is not None  # any finite values
    with pytest.raises(ValueError, match="NaN"):
        check_images(torch.full((1, 3, 2, 2), float("nan")), data_range=None)
    grid = torch.rand(2, 4, 3, 8, 8)
    assert check_images(grid, grid=True) is grid
    with pytest.raises(ValueError, match=r"x must have shape \(N, 3, H, W\), got"):
        check_images(grid, "x")
    with pytest.raises(ValueError, match=r"or \(R, C, 3, H, W\)"):
        check_images(torch.rand(3, 8, 8), grid=True)
    with pytest.raises(ValueError, match="empty"):
        check_images(torch.rand(2, 0, 3, 8, 8), grid=True)
    faces = FaceSet(x, {"identity": torch.tensor([0, 1])})
    assert check_images(faces, convert=True) is x
    assert torch.equal(check_images(x.numpy(), convert=True), x)
    with pytest.raises(ValueError, match="must be a torch.Tensor, got FaceSet"):
        check_images(faces)


def test_check_codes() -> None:
    assert check_codes(torch.ones(4, 2, 3)).shape == (4, 6)
    assert check_codes(np.arange(5)).shape == (5, 1)
    assert check_codes([[1, 2], [3, 4]]).dtype == np.float64
    for bad, match in [(np.float64(1.0), "scalar"), (np.zeros((0, 2)), "empty")]:
        with pytest.raises(ValueError, match=match):
            check_codes(bad, "z")
    with pytest.raises(ValueError, match="codes holds NaN"):
        check_codes(np.array([[np.nan]]), "codes")


class Scale(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.tensor(2.0))
        self.seen: list[tuple[bool, bool, torch.dtype, int]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append((self.training, torch.is_grad_enabled(), x.dtype, x.shape[0]))
        return x * self.w


def test_batched_eval_mode_no_grad_and_batches() -> None:
    module = Scale().train()
    x = torch.arange(10, dtype=torch.float64)[:, None]
    out = batched(module, module, x, batch_size=4)
    assert out.dtype == torch.float32 and out.device.type == "cpu" and not out.requires_grad
    torch.testing.assert_close(out, 2 * x.float())
    assert module.seen == [(False, False, torch.float32, n) for n in (4, 4, 2)]
    assert module.training  # put back as it was
    module.eval()
    batched(module, module, x)
    assert not module.training and module.seen[-1][3] == 10
    ints = batched(module, lambda b: b * 3, torch.arange(3))  # non-float batches keep their dtype
    assert ints.tolist() == [0.0, 3.0, 6.0]


def test_batched_restores_the_mode_when_fn_raises_and_checks_arguments() -> None:
    module = Scale().train()

    def boom(batch: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        batched(module, boom, torch.ones(2, 1))
    assert module.training
    with pytest.raises(ValueError, match="batch_size must be an int >= 1"):
        batched(module, module, torch.ones(2, 1), batch_size=0)
    with pytest.raises(ValueError, match="x is empty"):
        batched(module, module, torch.ones(0, 1))


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
