"""What a model costs in memory: the weights, their training state and the activations of a step.

Memory is counted, not sampled, so it means the same on a CPU and a GPU: the weights, their
gradients and Adam's two moments (4 numbers per parameter), plus the peak of the activations that
autograd holds for backward passes during one training step (recorded with
``torch.autograd.graph.saved_tensors_hooks``, each storage counted once, released when its
graph is freed).
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import nn

from sepviz.train import Optimize


@dataclass
class TrainingMemory:
    """Bytes of one training step: ``weights`` + ``gradients`` + ``optimizer`` + ``activations``."""

    weights: int
    gradients: int
    optimizer: int
    activations: int

    @property
    def total(self) -> int:
        return self.weights + self.gradients + self.optimizer + self.activations

    def __str__(self) -> str:
        mib = 2.0**20
        return (
            f"{self.total / mib:.1f} MiB (weights {self.weights / mib:.1f}, gradients "
            f"{self.gradients / mib:.1f}, Adam {self.optimizer / mib:.1f}, activations "
            f"{self.activations / mib:.1f})"
        )


class _NoStep(Optimize):
    """An ``Optimize`` that back-propagates but leaves the weights alone."""

    def __init__(self) -> None:
        super().__init__({}, None)

    def __call__(self, loss: torch.Tensor, name: str, clip: float | None = None) -> None:
        loss.backward()


def training_memory(
    model: nn.Module, batch: Mapping[str, Mapping[str, torch.Tensor]]
) -> TrainingMemory:
    """Memory of one ``model.training_step(batch)``: see the module docstring.

    Args:
        model: a sepviz model (``training_step``, ``configure_optimizers``).
        batch: what :func:`sepviz.train.fit` would feed it, e.g. ``{"faces": {"x": x}}``
            (stream name -> tensors, on the model's device).

    The model is left as it was: no optimizer step is taken, gradients are cleared and the
    buffers (BatchNorm statistics, FaderNet's latent memory) are put back.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    weight_bytes = sum(p.numel() * p.element_size() for p in params)
    weight_ptrs = {p.untyped_storage().data_ptr() for p in params}
    live: dict[int, list[int]] = {}  # storage -> [bytes, saved tensors still holding it]
    total, peak = 0, 0

    def release(ptr: int) -> None:
        nonlocal total
        live[ptr][1] -= 1
        if live[ptr][1] == 0:
            total -= live.pop(ptr)[0]

    def pack(t: torch.Tensor) -> torch.Tensor:
        # Count each storage once while any saved tensor holds it; autograd drops the saved
        # tensors of a graph after its backward pass, and the finalizer then releases them.
        nonlocal total, peak
        ptr = t.untyped_storage().data_ptr()
        if ptr in weight_ptrs:
            return t
        if ptr not in live:
            live[ptr] = [t.untyped_storage().nbytes(), 0]
            total += live[ptr][0]
        live[ptr][1] += 1
        peak = max(peak, total)
        weakref.finalize(t, release, ptr)
        return t

    # A batch sliced from a training set is a view of the whole set's storage: copy it, so
    # that only the batch itself is counted (a slice of 3,000 faces counted 62 MiB, not 28).
    batch = {n: {k: t.clone() for k, t in stream.items()} for n, stream in batch.items()}
    buffers = {name: b.clone() for name, b in model.named_buffers()}  # BatchNorm statistics..
    was_training = model.training
    model.train()
    try:
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            model.training_step(batch, 0, _NoStep())
    finally:
        model.zero_grad(set_to_none=True)
        model.train(was_training)
        with torch.no_grad():
            for name, b in model.named_buffers():
                b.copy_(buffers[name])
    return TrainingMemory(weight_bytes, weight_bytes, 2 * weight_bytes, peak)
