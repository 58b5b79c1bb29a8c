"""sepviz.cost: training memory is counted exactly and leaves the model unchanged."""

from __future__ import annotations

import torch
from torch import nn

from sepviz.cost import training_memory
from sepviz.models import AutoEncoder, FaderNet
from sepviz.train import Optimize


class Linear(nn.Module):
    """y = W x with a squared loss: autograd saves exactly x (and W itself)."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Linear(100, 10, bias=False)

    def training_step(self, batch: dict, step: int, optimize: Optimize) -> dict:
        loss = self.w(batch["s"]["x"]).pow(2).sum()
        optimize(loss, "w")
        return {"loss": loss.detach()}


def test_memory_of_a_linear_layer_is_exact() -> None:
    memory = training_memory(Linear(), {"s": {"x": torch.randn(32, 100)}})
    assert memory.weights == 100 * 10 * 4
    assert memory.gradients == memory.weights and memory.optimizer == 2 * memory.weights
    # saved for backward: the input x (32 x 100 floats) and the output (for pow): 32 x 10
    assert memory.activations == 32 * 100 * 4 + 32 * 10 * 4
    assert memory.total == 4 * memory.weights + memory.activations
    assert "MiB" in str(memory)


def test_activations_grow_with_the_batch_and_the_model_is_unchanged() -> None:
    torch.manual_seed(0)
    model = AutoEncoder(image_size=16, latent_dim=8)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    small = training_memory(model, {"faces": {"x": torch.rand(8, 3, 16, 16)}})
    large = training_memory(model, {"faces": {"x": torch.rand(32, 3, 16, 16)}})
    assert large.activations > 3 * small.activations
    assert large.weights == small.weights == 4 * model.n_parameters()
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert all(p.grad is None for p in model.parameters())


def test_fadernet_memory_counts_its_step_and_restores_its_buffers() -> None:
    torch.manual_seed(0)
    model = FaderNet(image_size=16, attribute_dim=1, latent_dim=8, lambda_max=0.1)
    count = model.memory_count.clone()
    x = torch.rand(8, 3, 16, 16)
    memory = training_memory(model, {"faces": {"x": x, "y": torch.zeros(8, 1), "seen": x}})
    assert memory.activations > 0
    assert torch.equal(model.memory_count, count)


class TwoSteps(nn.Module):
    """Two separate graphs, one after the other: the second starts after the first is freed."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Linear(100, 10, bias=False)

    def training_step(self, batch: dict, step: int, optimize: Optimize) -> dict:
        for _ in range(2):
            optimize(self.w(batch["s"]["x"] * 2).pow(2).sum(), "w")
        return {}


def test_memory_is_the_peak_not_the_sum_of_sequential_graphs() -> None:
    one = training_memory(Linear(), {"s": {"x": torch.randn(32, 100)}})
    two = training_memory(TwoSteps(), {"s": {"x": torch.randn(32, 100)}})
    assert two.activations == one.activations  # each graph holds (2x) and its output, in turn


def test_a_batch_sliced_from_a_training_set_counts_only_the_batch() -> None:
    torch.manual_seed(0)
    model = AutoEncoder(image_size=16, latent_dim=8)
    faces = torch.rand(2000, 3, 16, 16)  # 6 MiB behind the slice below
    sliced = training_memory(model, {"faces": {"x": faces[:32]}})
    copied = training_memory(model, {"faces": {"x": faces[:32].clone()}})
    assert sliced.activations == copied.activations
    assert sliced.activations < faces.nbytes / 4
