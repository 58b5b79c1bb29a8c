"""The ``sepviz`` command line: help texts, tiny training runs, swap / relight figures, errors."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from PIL import Image

from sepviz import cli, recipes
from sepviz.cli import main
from sepviz.data.download import sha256_of
from sepviz.data.synthetic import class_azimuths
from sepviz.models.autoencoder import AutoEncoder
from sepviz.models.base import SepvizModel
from sepviz.models.deepfakes import DeepFakes
from sepviz.models.fadernet import FaderNet
from sepviz.models.multidecoder import MultiDecoder

# Tiny runs: 16-pixel faces, a few dozen images, a handful of steps (2 shared CPU cores).
TINY = ["--size", "16", "--latent-dim", "16", "--batch-size", "16", "--no-progress"]
TRAIN_FLAGS = [
    "--size",
    "--steps",
    "--n-faces",
    "--latent-dim",
    "--batch-size",
    "--seed",
    "--out",
    "--identities",
    "--lambda-max",
    "--resume",
    "--overwrite",
    "--checkpoint-every",
    "--no-progress",
]
SWAP_FLAGS = ["--model", "--to", "--from", "--out", "--input", "--n", "--seed", "--overwrite"]
RELIGHT_FLAGS = ["--model", "--out", "--values", "--n", "--input", "--seed", "--overwrite"]


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """Tiny models train fastest on one thread (on a busy machine, two can be 100x slower)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def deepfakes_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A DeepFakes model of persons A and C trained for 20 steps; (run folder, stdout)."""
    out = tmp_path_factory.mktemp("deepfakes")
    argv = ["train", "deepfakes", *TINY, "--steps", "20", "--n-faces", "64"]
    argv += ["--identities", "A", "C", "--checkpoint-every", "10", "--out", str(out)]
    capture = _Capture()
    with capture:
        assert main(argv) == 0
    return out, capture.stdout


@pytest.fixture(scope="module")
def fadernet_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A FaderNet model file trained for 4 steps."""
    out = tmp_path_factory.mktemp("fadernet")
    argv = ["train", "fadernet", *TINY, "--steps", "4", "--n-faces", "32", "--out", str(out)]
    with _Capture():
        assert main([*argv, "--lambda-max", "0.1"]) == 0
    return out / "model.pt"


class _Capture:
    """Capture stdout in a module-scoped fixture (``capsys`` is function-scoped)."""

    def __enter__(self) -> _Capture:
        import io

        self._old, self._buffer = sys.stdout, io.StringIO()
        sys.stdout = self._buffer
        return self

    def __exit__(self, *exc: object) -> None:
        sys.stdout = self._old
        self.stdout = self._buffer.getvalue()


def _png_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as image:
        assert image.format == "PNG"
        image.load()
        return image.size


def _error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run ``main(argv)``, assert the argparse-style failure, return stderr."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("sepviz: error: ")
    assert "Traceback" not in err
    return err


# -- help ------------------------------------------------------------------------------------
def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in ("train", "swap", "relight"):
        assert command in out


@pytest.mark.parametrize(
    ("command", "flags"),
    [("train", TRAIN_FLAGS), ("swap", SWAP_FLAGS), ("relight", RELIGHT_FLAGS)],
)
def test_subcommand_help_explains_every_flag(
    capsys: pytest.CaptureFixture[str], command: str, flags: list[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for flag in flags:
        assert flag in out, flag
    if command == "train":
        for kind in recipes.KINDS:
            assert kind in out


def test_module_runs_as_a_script() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sepviz.cli", "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "usage: sepviz" in result.stdout and "relight" in result.stdout


def test_bad_flag_values_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "deepfakes", "--size", "20"])
    assert exit_info.value.code == 2
    assert "power of two" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "gan"])
    assert exit_info.value.code == 2


def test_cli_models_are_the_recipe_kinds() -> None:
    """The constants the parser is built from (no torch at --help) match the recipe table."""
    assert cli.MODELS == recipes.KINDS
    assert cli.AUTOENCODER_PEOPLE == recipes.PEOPLE
    deepfakes = recipes.recipe("deepfakes").build(16, latent_dim=4)
    assert tuple(deepfakes.identities) == cli.DEFAULT_IDENTITIES


# -- train -----------------------------------------------------------------------------------
def test_train_deepfakes_saves_model_and_history(deepfakes_run: tuple[Path, str]) -> None:
    out, stdout = deepfakes_run
    model = SepvizModel.load(out / "model.pt")
    assert isinstance(model, DeepFakes)
    assert model.identities == ["A", "C"]
    assert model.image_size == 16 and model.config.latent_dim == 16
    assert (out / "last.pt").is_file()
    # beside them: the model's SHA-256 and the run's record (arguments, state, weight digests)
    assert sorted(p.name for p in out.iterdir()) == [
        "history.json",
        "last.pt",
        "model.pt",
        "model.pt.sha256",
        "run.json",
    ]
    digest, name = (out / "model.pt.sha256").read_text().split()
    assert name == "model.pt" and digest == sha256_of(out / "model.pt")
    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "complete" and record["arguments"]["identities"] == ["A", "C"]
    assert record["arguments"]["n_faces"] == 64 and set(record["checkpoint_weights"]) == {
        "10",
        "20",
    }

    history = json.loads((out / "history.json").read_text())
    assert history["steps"][0] == 0 and history["steps"][-1] == 19
    assert set(history["losses"]) == {"reconstruction_A", "reconstruction_C"}
    for values in history["losses"].values():
        assert len(values) == len(history["steps"])
        assert all(math.isfinite(v) and v > 0 for v in values)
        assert values[-1] < values[0]  # it learned something in 20 steps
    assert history["seconds"] > 0
    assert model.history is not None and model.history.state_dict() == history

    lines = stdout.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("DeepFakes: ")
    assert f"{model.n_parameters():,} parameters" in lines[0]
    assert "reconstruction_A" in lines[0] and "reconstruction_C" in lines[0]


def test_train_resume_continues_the_checkpoint(
    deepfakes_run: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    shutil.copytree(deepfakes_run[0], out)
    before = json.loads((out / "history.json").read_text())
    argv = ["train", "deepfakes", *TINY, "--steps", "24", "--n-faces", "64", "--out", str(out)]
    argv += ["--identities", "A", "C"]
    assert main([*argv, "--resume"]) == 0
    after = json.loads((out / "history.json").read_text())
    assert after["steps"][: len(before["steps"])] == before["steps"]
    assert after["steps"][-1] == 23
    capsys.readouterr()

    # resuming with other model flags is refused before any training
    err = _error(capsys, [*argv, "--latent-dim", "32", "--resume"])  # the last one wins
    assert "--latent-dim 16" in err and "--latent-dim 32" in err and "--resume" in err


def test_train_multidecoder_and_relight_by_class(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "md"
    argv = ["train", "multidecoder", *TINY, "--steps", "3", "--n-faces", "24", "--out", str(out)]
    assert main(argv) == 0
    model = SepvizModel.load(out / "model.pt")
    assert isinstance(model, MultiDecoder) and model.classes == ["left", "centre", "right"]
    assert set(json.loads((out / "history.json").read_text())["losses"]) == {
        "reconstruction_left",
        "reconstruction_centre",
        "reconstruction_right",
    }
    # the command trains what the recipe trains: its faces (8 people under the three class
    # lamps), its targets (the light class), the same seed -> the same weights
    entry = recipes.recipe("multidecoder")
    torch.manual_seed(0)
    expected = entry.build(16, latent_dim=16)
    faces = entry.training_faces(24, 16, seed=0)
    assert faces.factors["identity"].unique().tolist() == list(range(recipes.PEOPLE))
    assert set(faces.factors["azimuth"].tolist()) <= set(class_azimuths().tolist())
    entry.fit(expected, faces, 3, batch_size=16, seed=0, progress=False)
    state = model.state_dict()
    assert all(torch.equal(state[k], v) for k, v in expected.state_dict().items())
    assert model.history.losses == expected.history.losses

    png = tmp_path / "md.png"
    assert main(["relight", "--model", str(out), "--out", str(png), "--n", "2"]) == 0
    width, height = _png_size(png)
    assert width > 0 and height > 0
    capsys.readouterr()
    err = _error(capsys, ["relight", "--model", str(out), "--values", "0", "--out", str(png)])
    assert "--values" in err and "MultiDecoder" in err and "['left', 'centre', 'right']" in err
    err = _error(capsys, ["swap", "--model", str(out), "--to", "left", "--out", str(png)])
    assert "swap needs a DeepFakes model" in err and "MultiDecoder" in err


def test_train_autoencoder_which_neither_swaps_nor_relights(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "ae"
    argv = ["train", "autoencoder", *TINY, "--steps", "2", "--n-faces", "16", "--out", str(out)]
    assert main(argv) == 0
    assert capsys.readouterr().out.startswith("AutoEncoder: ")
    model = SepvizModel.load(out / "model.pt")
    assert isinstance(model, AutoEncoder) and model.config.latent_dim == 16
    assert list(json.loads((out / "history.json").read_text())["losses"]) == ["reconstruction"]
    png = str(tmp_path / "a.png")
    err = _error(capsys, ["swap", "--model", str(out), "--to", "A", "--out", png])
    assert "AutoEncoder" in err and "DeepFakes" in err
    err = _error(capsys, ["relight", "--model", str(out), "--out", png])
    assert "AutoEncoder" in err and "FaderNet or MultiDecoder" in err
    assert not Path(png).exists()


def test_train_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "x")
    err = _error(capsys, ["train", "deepfakes", *TINY, "--identities", "A", "Q", "--out", out])
    assert "'Q'" in err and "unknown identities" in err
    err = _error(capsys, ["train", "deepfakes", *TINY, "--lambda-max", "0.1", "--out", out])
    assert "--lambda-max" in err and "fadernet" in err
    err = _error(capsys, ["train", "fadernet", *TINY, "--identities", "A", "--out", out])
    assert "--identities" in err
    assert not (tmp_path / "x").exists()  # nothing trained, nothing written


# -- swap ------------------------------------------------------------------------------------
def test_swap_writes_a_png(
    deepfakes_run: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    png = tmp_path / "figs" / "swap.png"
    model = str(deepfakes_run[0] / "model.pt")
    assert main(["swap", "--model", model, "--to", "C", "--out", str(png), "--n", "3"]) == 0
    assert str(png) in capsys.readouterr().out
    width, height = _png_size(png)
    assert width > 0 and height > 0
    # more faces -> a wider figure (one column per face)
    wide = tmp_path / "wide.png"
    assert main(["swap", "--model", model, "--to", "C", "--out", str(wide), "--n", "6"]) == 0
    assert _png_size(wide)[0] > width


def test_swap_reads_an_input_folder(
    deepfakes_run: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    for k in range(3):  # different sizes and shapes: cropped and resized to the model's 16
        pixels = torch.rand(40 + 8 * k, 30, 3).mul(255).to(torch.uint8).numpy()
        Image.fromarray(pixels).save(folder / f"face{k}.png")
    png = tmp_path / "mine.png"
    argv = ["swap", "--model", str(deepfakes_run[0]), "--to", "A", "--input", str(folder)]
    assert main([*argv, "--out", str(png)]) == 0
    assert _png_size(png)[0] > 0
    capsys.readouterr()
    other = tmp_path / "other.png"
    err = _error(capsys, [*argv[:-1], str(tmp_path / "missing"), "--out", str(other)])
    assert "missing" in err and not other.exists()


def test_swap_errors(
    deepfakes_run: tuple[Path, str],
    fadernet_model: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    png = str(tmp_path / "s.png")
    err = _error(capsys, ["swap", "--model", str(fadernet_model), "--to", "B", "--out", png])
    assert "FaderNet" in err and "DeepFakes" in err

    missing = tmp_path / "nowhere" / "model.pt"
    err = _error(capsys, ["swap", "--model", str(missing), "--to", "B", "--out", png])
    assert str(missing) in err

    model = str(deepfakes_run[0] / "model.pt")
    err = _error(capsys, ["swap", "--model", model, "--to", "Z", "--out", png])
    assert "'Z'" in err and "['A', 'C']" in err

    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a model")
    err = _error(capsys, ["swap", "--model", str(junk), "--to", "B", "--out", png])
    assert "not a sepviz model file" in err
    assert not Path(png).exists()


# -- relight ---------------------------------------------------------------------------------
def test_relight_fadernet_writes_a_png(
    fadernet_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert isinstance(SepvizModel.load(fadernet_model), FaderNet)
    five = tmp_path / "five.png"  # the default values -1 -0.5 0 0.5 1
    assert main(["relight", "--model", str(fadernet_model), "--out", str(five), "--n", "2"]) == 0
    two = tmp_path / "two.png"
    argv = ["relight", "--model", str(fadernet_model), "--out", str(two), "--n", "2"]
    assert main([*argv, "--values", "-1", "1"]) == 0
    (w5, h5), (w2, h2) = _png_size(five), _png_size(two)
    assert w5 > w2 > 0 and h5 > 0 and h2 > 0  # one column per value


def test_relight_rejects_other_models(
    deepfakes_run: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    png = str(tmp_path / "r.png")
    err = _error(capsys, ["relight", "--model", str(deepfakes_run[0]), "--out", png])
    assert "DeepFakes" in err and "FaderNet or MultiDecoder" in err


def test_cli_lambda_default_is_the_models() -> None:
    import inspect

    from sepviz import cli
    from sepviz.models import fadernet

    assert cli.DEFAULT_LAMBDA_MAX == fadernet.DEFAULT_LAMBDA_MAX
    assert FaderNet().config.lambda_max == fadernet.DEFAULT_LAMBDA_MAX
    assert "lambda_max" not in inspect.signature(FaderNet.fit).parameters  # a config setting
