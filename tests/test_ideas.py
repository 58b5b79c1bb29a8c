"""Idea 1, relight by face swap: retrieval in latent space, output shape, argument errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from sepviz.ideas import light_candidates, relight_by_swap, retrieve_by_latent
from sepviz.models import DeepFakes


class MeanColour(nn.Module):
    """A fake DeepFakes: the code is the mean colour (3,); decoder ``name`` paints it flat,
    times a per-name gain, so the output tells which bank image and which decoder were used."""

    def __init__(self) -> None:
        super().__init__()
        self.decoders = nn.ModuleDict({"A": nn.Identity(), "B": nn.Identity()})
        self.names = ["A", "B"]
        self.gain = {"A": 1.0, "B": 0.5}
        self.scale = nn.Parameter(torch.ones(()))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3)) * self.scale

    def decode(self, z: torch.Tensor, name: str) -> torch.Tensor:
        return (z * self.gain[name])[:, :, None, None].expand(-1, -1, 16, 16)


def flat(colours: torch.Tensor) -> torch.Tensor:
    """(N, 3) colours -> (N, 3, 16, 16) flat images."""
    return colours[:, :, None, None].expand(-1, -1, 16, 16).clone()


@pytest.fixture(scope="module")
def tiny_deepfakes() -> DeepFakes:
    torch.manual_seed(0)
    return DeepFakes(identities=["A", "B"], image_size=16, latent_dim=8).eval()


def test_retrieval_picks_the_exact_match_when_the_bank_holds_the_query(
    tiny_deepfakes: DeepFakes,
) -> None:
    g = torch.Generator().manual_seed(0)
    bank = torch.rand(30, 3, 16, 16, generator=g)
    light = torch.arange(30) % 3
    queries = bank[[2, 5, 29, 14]]  # classes 2, 2, 2, 2
    index = retrieve_by_latent(tiny_deepfakes, queries, bank, light, target_light=2)
    assert index.tolist() == [2, 5, 29, 14]
    # and only candidates of the wanted light are ever returned
    index = retrieve_by_latent(tiny_deepfakes, queries, bank, light, target_light=0)
    assert (light[index] == 0).all() and index.dtype == torch.int64


def test_retrieval_is_nearest_in_latent_space_among_candidates() -> None:
    model = MeanColour()
    bank = flat(torch.tensor([[0.1] * 3, [0.5] * 3, [0.9] * 3, [0.52] * 3]))
    azimuth = torch.tensor([-40.0, -40.0, 40.0, 40.0])
    query = flat(torch.tensor([[0.55] * 3, [0.0] * 3]))
    assert retrieve_by_latent(model, query, bank, azimuth, -40.0).tolist() == [1, 0]
    assert retrieve_by_latent(model, query, bank, azimuth, 40.0).tolist() == [3, 3]
    # an azimuth window: 35 is within 10 degrees of the 40-degree lamp only
    assert retrieve_by_latent(model, query, bank, azimuth, 35.0).tolist() == [3, 3]


def test_relight_by_swap_decodes_the_retrieved_code_with_the_chosen_decoder() -> None:
    model = MeanColour()
    bank = flat(torch.tensor([[0.2] * 3, [0.8] * 3, [0.6] * 3]))
    classes = torch.tensor([0, 1, 1])
    query = flat(torch.tensor([[0.65] * 3]))
    out = relight_by_swap(model, query, bank, classes, 1, to="A")
    torch.testing.assert_close(out, bank[[2]])
    out = relight_by_swap(model, query, bank, classes, 1, to="B")
    torch.testing.assert_close(out, 0.5 * bank[[2]])


def test_output_shape_and_mode(tiny_deepfakes: DeepFakes) -> None:
    tiny_deepfakes.train()
    x_a = torch.rand(5, 3, 16, 16)
    bank = torch.rand(12, 3, 16, 16)
    azimuth = torch.linspace(-60, 60, 12)
    out = relight_by_swap(tiny_deepfakes, x_a, bank, azimuth, 0.0, to="A", tolerance=20.0)
    assert out.shape == (5, 3, 16, 16) and out.dtype == torch.float32
    assert out.device.type == "cpu" and torch.isfinite(out).all()
    assert tiny_deepfakes.training  # put back as it was
    tiny_deepfakes.eval()


def test_light_candidates_classes_and_azimuths() -> None:
    assert light_candidates(torch.tensor([0, 1, 2, 1]), 1).tolist() == [False, True, False, True]
    mask = light_candidates(torch.tensor([-40.0, 0.0, 40.0, 5.0]), 0.0, tolerance=5.0)
    assert mask.tolist() == [False, True, False, True]
    assert light_candidates(torch.tensor([-40.0, 0.0]), -40, tolerance=0).tolist() == [True, False]


def test_errors(tiny_deepfakes: DeepFakes) -> None:
    x_a = torch.rand(2, 3, 16, 16)
    bank = torch.rand(6, 3, 16, 16)
    classes = torch.tensor([0, 0, 1, 1, 2, 2])
    with pytest.raises(ValueError, match="bank_images is empty"):
        relight_by_swap(tiny_deepfakes, x_a, bank[:0], classes[:0], 0)
    with pytest.raises(ValueError, match="bank_light is empty"):
        light_candidates(torch.tensor([]), 0.0)
    with pytest.raises(ValueError, match="no bank image has it"):
        relight_by_swap(tiny_deepfakes, x_a, bank, classes, 3)
    with pytest.raises(ValueError, match="no bank image within"):
        relight_by_swap(tiny_deepfakes, x_a, bank, classes.float() * 40 - 40, 20.0, tolerance=5)
    with pytest.raises(ValueError, match="to='C' is not a decoder"):
        relight_by_swap(tiny_deepfakes, x_a, bank, classes, 0, to="C")
    with pytest.raises(ValueError, match="bank_light has 5 entries"):
        relight_by_swap(tiny_deepfakes, x_a, bank, classes[:5], 0)
    with pytest.raises(ValueError, match="must be a class index"):
        relight_by_swap(tiny_deepfakes, x_a, bank, classes, 0.5)
    with pytest.raises(ValueError, match="target_light must be a number"):
        relight_by_swap(tiny_deepfakes, x_a, bank, classes, "left")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="tolerance"):
        light_candidates(torch.tensor([0.0]), 0.0, tolerance=-1)
    with pytest.raises(ValueError, match="bank_images must be 16x16"):
        relight_by_swap(tiny_deepfakes, x_a, torch.rand(6, 3, 32, 32), classes, 0)
    with pytest.raises(ValueError, match="x_a must have shape"):
        relight_by_swap(tiny_deepfakes, torch.rand(2, 16, 16), bank, classes, 0)
    with pytest.raises(ValueError, match="has no encode"):
        relight_by_swap(nn.Linear(2, 2), x_a, bank, classes, 0)
