"""Issue 15: never lose a trained model, never show a traceback.

One test (or a few) per item: the CLI checks its output places before any work and reports
expected failures in one line; resume checks the checkpoint against the run; encode / decode /
reconstruct / align_faces validate their inputs; image loading caps pixels and zip members and
refuses images too small for a face; saved files keep the user's umask.
"""

from __future__ import annotations

import functools
import os
import struct
import sys
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from PIL import Image

from sepviz import cli, recipes
from sepviz.cli import main
from sepviz.data.align import TEMPLATE_5, align_faces
from sepviz.data.real import SkippedFilesWarning, load_folder, load_yale_b, read_image
from sepviz.models import AutoEncoder, DeepFakes
from sepviz.models.base import SepvizModel
from sepviz.utils import atomic_save

TINY = ["--size", "16", "--latent-dim", "8", "--batch-size", "8", "--no-progress"]
LONG = "a" * 5000  # longer than any file name the system takes


@pytest.fixture(scope="module", autouse=True)
def single_thread() -> Iterator[None]:
    """Tiny models train fastest on one thread."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@pytest.fixture(scope="module")
def deepfakes_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DeepFakes run (persons A and B) of 2 steps."""
    out = tmp_path_factory.mktemp("df")
    argv = ["train", "deepfakes", *TINY, "--steps", "2", "--n-faces", "16", "--out", str(out)]
    assert main(argv) == 0
    return out


def _fails(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run ``main(argv)``: exit status 2 and one line on stderr, no traceback; return it."""
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("sepviz: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and len(err) < 600
    return err


def _png_header(path: Path, width: int, height: int) -> Path:
    """A PNG file that declares ``width`` x ``height`` pixels but holds only a few bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat))
    return path


# -- 1. the CLI ------------------------------------------------------------------------------
def test_train_never_replaces_an_earlier_model_without_overwrite(
    deepfakes_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    out.mkdir()
    for name in ("model.pt", "history.json"):
        (out / name).write_bytes((deepfakes_dir / name).read_bytes())
    before = {name: (out / name).read_bytes() for name in ("model.pt", "history.json")}
    argv = ["train", "autoencoder", *TINY, "--steps", "2", "--n-faces", "8", "--out", str(out)]
    err = _fails(capsys, argv)
    assert "model.pt" in err and "history.json" in err and "--overwrite" in err
    assert "--resume" not in err  # no checkpoint to continue
    assert {name: (out / name).read_bytes() for name in before} == before
    assert main([*argv, "--overwrite"]) == 0
    assert isinstance(SepvizModel.load(out / "model.pt"), AutoEncoder)
    # a checkpoint of an earlier run is kept too; --resume continues it without --overwrite
    err = _fails(capsys, argv)
    assert "last.pt" in err and "--resume" in err and "--overwrite" in err
    assert main([*argv, "--resume"]) == 0


def test_train_checks_the_output_place_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import sepviz.train

    def no_training(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("training started before the output place was checked")

    monkeypatch.setattr(sepviz.train, "fit", no_training)
    afile = tmp_path / "afile"
    afile.write_text("keep me")
    argv = ["train", "autoencoder", *TINY, "--steps", "2", "--n-faces", "8", "--out"]
    err = _fails(capsys, [*argv, str(afile / "sub")])
    assert str(afile) in err and "is a file, not a folder" in err and "--out" in err
    err = _fails(capsys, [*argv, str(afile)])
    assert "is a file, not a folder" in err
    assert afile.read_text() == "keep me"
    if sys.platform.startswith("linux"):  # no folder can be made in /proc, even by root
        err = _fails(capsys, [*argv, "/proc/sepviz-run"])
        assert "cannot write" in err and "/proc/sepviz-run" in err and "--out" in err


def test_cli_reports_os_errors_in_one_line(
    deepfakes_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train = ["train", "autoencoder", *TINY, "--steps", "2", "--out", str(tmp_path / LONG)]
    model, png = str(deepfakes_dir), str(tmp_path / "s.png")
    for argv in (
        train,
        ["swap", "--model", str(tmp_path / LONG), "--to", "B"],
        ["swap", "--model", model, "--to", "B", "--input", str(tmp_path / LONG), "--out", png],
        ["swap", "--model", model, "--to", "B", "--out", str(tmp_path / LONG / "x.png")],
    ):
        err = _fails(capsys, argv)
        assert "too long" in err and "shorter path" in err and "5,0" in err  # its length


def test_cli_reports_a_decompression_bomb_in_the_input_folder(
    deepfakes_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    _png_header(folder / "huge.png", 20_000, 20_000)  # 400 megapixels declared, 100 bytes
    argv = ["swap", "--model", str(deepfakes_dir), "--to", "B", "--input", str(folder)]
    err = _fails(capsys, [*argv, "--out", str(tmp_path / "s.png")])
    assert "huge.png" in err and "too large" in err
    assert not (tmp_path / "s.png").exists()


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (zipfile.BadZipFile("File is not a zip file: data.zip"), ["data.zip"]),
        (Image.DecompressionBombError("Image size exceeds limit: big.png"), ["big.png"]),
        (PermissionError(13, "Permission denied", "/srv/m.pt"), ["/srv/m.pt", "can write"]),
        (FloatingPointError("loss became non-finite at step 3\ndetails"), ["step 3"]),
    ],
)
def test_cli_turns_expected_failures_into_one_line(
    error: Exception,
    words: list[str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def fail(path: Path) -> None:
        raise error

    monkeypatch.setattr(cli, "load_model", fail)
    err = _fails(capsys, ["swap", "--model", "m.pt", "--to", "B"])
    assert all(word in err for word in words), err


def test_swap_output_paths(
    deepfakes_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["swap", "--model", str(deepfakes_dir), "--to", "B", "--n", "2", "--out"]
    capsys.readouterr()
    # no ending: .png is added, and the message names the file written
    assert main([*argv, str(tmp_path / "noext")]) == 0
    assert f"saved {tmp_path / 'noext.png'}" in capsys.readouterr().out
    assert (tmp_path / "noext.png").is_file() and not (tmp_path / "noext").exists()
    # an existing folder: the default file name inside it
    folder = tmp_path / "figs"
    folder.mkdir()
    assert main([*argv, str(folder)]) == 0
    assert f"saved {folder / 'swap.png'}" in capsys.readouterr().out
    # an existing figure is replaced only with --overwrite
    before = (folder / "swap.png").read_bytes()
    err = _fails(capsys, [*argv, str(folder), "--seed", "5"])
    assert str(folder / "swap.png") in err and "--overwrite" in err
    assert (folder / "swap.png").read_bytes() == before
    assert main([*argv, str(folder), "--seed", "5", "--overwrite"]) == 0
    assert (folder / "swap.png").read_bytes() != before
    # a file where a folder should be, an ending matplotlib cannot write: before any work
    (tmp_path / "afile").write_text("")
    err = _fails(capsys, [*argv, str(tmp_path / "afile" / "x.png")])
    assert "afile" in err and "is a file, not a folder" in err
    err = _fails(capsys, [*argv, str(tmp_path / "x.xyz")])
    assert ".xyz" in err and ".png" in err


# -- 2. resume checks the checkpoint ---------------------------------------------------------
@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, torch.Tensor]:
    """A folder with the last.pt of a 2-step AutoEncoder run (seed 0, batch size 8)."""
    folder = tmp_path_factory.mktemp("ckpt")
    x = torch.rand(8, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    AutoEncoder(image_size=16, latent_dim=8).fit(
        x, steps=2, batch_size=8, checkpoint_dir=folder, progress=False
    )
    return folder, x


@pytest.mark.parametrize(
    ("model", "kwargs", "words"),
    [
        ("same", {"seed": 1}, ["seed=0", "seed=1"]),
        ("same", {"batch_size": 4}, ["batch_size=8", "batch_size=4"]),
        ("same", {"steps": 1}, ["step 2", "steps=1"]),
        ("wider", {}, ["latent_dim=8", "latent_dim=16"]),
        ("deepfakes", {}, ["class=AutoEncoder", "class=DeepFakes"]),
    ],
)
def test_resume_refuses_a_checkpoint_of_another_run(
    checkpoint: tuple[Path, torch.Tensor], model: str, kwargs: dict[str, Any], words: list[str]
) -> None:
    folder, x = checkpoint
    before = (folder / "last.pt").read_bytes()
    net: SepvizModel = {
        "same": lambda: AutoEncoder(image_size=16, latent_dim=8),
        "wider": lambda: AutoEncoder(image_size=16, latent_dim=16),
        "deepfakes": lambda: DeepFakes(image_size=16, latent_dim=8),
    }[model]()
    y = torch.arange(8) % 2 if model == "deepfakes" else None
    options = {"steps": 2, "batch_size": 8, "seed": 0, **kwargs}
    with pytest.raises(ValueError, match="cannot resume") as info:
        net.fit(x, y, checkpoint_dir=folder, resume=True, progress=False, **options)
    for word in words:
        assert word in str(info.value)
    assert str(folder / "last.pt") in str(info.value)
    assert (folder / "last.pt").read_bytes() == before


def test_resume_continues_a_checkpoint_of_this_run(checkpoint: tuple[Path, torch.Tensor]) -> None:
    folder, x = checkpoint
    model = AutoEncoder(image_size=16, latent_dim=8)
    model.fit(x, steps=3, batch_size=8, checkpoint_dir=folder, resume=True, progress=False)
    assert model.history is not None and model.history.steps[-1] == 2
    with pytest.raises(ValueError, match="checkpoint_dir"):
        model.fit(x, steps=3, resume=True, progress=False)


def test_cli_resume_with_another_seed_is_refused_before_training(
    deepfakes_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    out.mkdir()
    for name in ("model.pt", "history.json", "last.pt"):
        (out / name).write_bytes((deepfakes_dir / name).read_bytes())
    argv = ["train", "deepfakes", *TINY, "--steps", "4", "--n-faces", "16", "--out", str(out)]
    err = _fails(capsys, [*argv, "--resume", "--seed", "3"])
    assert "seed=0" in err and "seed=3" in err and "last.pt" in err
    assert (out / "model.pt").read_bytes() == (deepfakes_dir / "model.pt").read_bytes()


# -- 3. encode / decode / reconstruct / align_faces validate ----------------------------------
DECODE_ARGS: dict[str, tuple[Any, ...]] = {
    "autoencoder": (),
    "deepfakes": ("A",),
    "fadernet": (torch.zeros(2, 1),),
    "multidecoder": (0,),
}


@pytest.mark.parametrize("kind", recipes.KINDS)
def test_encode_decode_reconstruct_validate_their_inputs(kind: str) -> None:
    model = recipes.recipe(kind).build(16, latent_dim=8).eval()
    x = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    assert model.encode(x).shape == (2, 8)
    for name in ("encode", "reconstruct", "swap"):  # those the model has
        if not hasattr(model, name):
            continue
        method = getattr(model, name)
        if name == "swap":
            method = functools.partial(method, to=0)
        with pytest.raises(ValueError, match=r"x must lie in \[0, 1\]"):
            method(x * 255)
    with pytest.raises(ValueError, match="x must be 16x16"):
        model.encode(torch.rand(2, 3, 32, 32))
    extra = DECODE_ARGS[kind]
    assert model.decode(torch.zeros(2, 8), *extra).shape == (2, 3, 16, 16)
    with pytest.raises(ValueError, match="z must be finite"):
        model.decode(torch.full((2, 8), float("nan")), *extra)
    with pytest.raises(ValueError, match=r"z must have shape \(N, 8\) \(latent_dim = 8\)"):
        model.decode(torch.zeros(2, 7), *extra)


def test_align_faces_rejects_images_outside_0_1() -> None:
    five = TEMPLATE_5 * 32 - 0.5
    photos = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match=r"images must lie in \[0, 1\]"):
        align_faces(photos * 255, size=16, landmarks=[five, five])
    with pytest.raises(ValueError, match=r"images\[1\] must lie in \[0, 1\]"):
        align_faces([photos[0], photos[1] * 255], size=16, landmarks=[five, five])
    faces, missing = align_faces(photos, size=16, landmarks=[five, five])
    assert missing == [] and faces.images.shape == (2, 3, 16, 16)


# -- 4. image loading ------------------------------------------------------------------------
def test_load_folder_caps_the_pixel_count(tmp_path: Path) -> None:
    Image.new("RGB", (40, 30), (200, 10, 10)).save(tmp_path / "photo.png")
    Image.new("RGB", (60, 60), (10, 10, 200)).save(tmp_path / "large.png")
    with pytest.raises(ValueError, match=r"large\.png has 60 x 60 = 3,600 pixels.*max_pixels"):
        load_folder(tmp_path, size=16, max_pixels=2000)
    with pytest.warns(SkippedFilesWarning, match=r"too large.*large\.png"):
        faces = load_folder(tmp_path, size=16, max_pixels=2000, errors="warn")
    assert faces.names == ["photo.png"]
    assert len(load_folder(tmp_path, size=16, max_pixels=None)) == 2
    with pytest.raises(ValueError, match="max_pixels"):
        read_image(tmp_path / "large.png", max_pixels=100)


def test_load_folder_names_a_decompression_bomb_and_can_skip_it(tmp_path: Path) -> None:
    Image.new("RGB", (40, 30), (200, 10, 10)).save(tmp_path / "photo.png")
    _png_header(tmp_path / "bomb.png", 20_000, 20_000)  # past PIL's own limit too
    with pytest.raises(ValueError, match=r"bomb\.png is too large"):
        load_folder(tmp_path, size=16)
    with pytest.warns(SkippedFilesWarning, match=r"bomb\.png"):
        faces = load_folder(tmp_path, size=16, errors="warn")
    assert faces.names == ["photo.png"]


def test_load_folder_never_stretches_a_tiny_image(tmp_path: Path) -> None:
    Image.new("RGB", (40, 30), (200, 10, 10)).save(tmp_path / "photo.png")
    Image.new("RGB", (500, 1)).save(tmp_path / "strip.png")
    with pytest.raises(ValueError, match=r"strip\.png is 500 x 1 pixels, below min_side=16"):
        load_folder(tmp_path, size=32)
    with pytest.warns(SkippedFilesWarning, match=r"too small.*strip\.png"):
        assert load_folder(tmp_path, size=32, errors="warn").names == ["photo.png"]
    assert len(load_folder(tmp_path, size=32, min_side=1)) == 2


def test_load_folder_reduces_a_large_photo_before_resizing(tmp_path: Path) -> None:
    rows = torch.linspace(0, 1, 600)[:, None] * torch.linspace(0.2, 1, 800)[None, :]
    pixels = (rows[..., None].expand(-1, -1, 3) * 255).round().to(torch.uint8).numpy()
    Image.fromarray(pixels).save(tmp_path / "photo.png")
    faces = load_folder(tmp_path, size=16, pseudo_labels=False)  # 600 px -> 32 px, then 16
    from sepviz.data.real import resize_square

    direct = resize_square(read_image(tmp_path / "photo.png")[None], 16)
    assert (faces.images - direct).abs().max() < 0.02


def _pgm(width: int, height: int) -> bytes:
    return f"P5 {width} {height} 255\n".encode() + bytes(width * height)


def test_load_yale_b_caps_the_zip_member_size(tmp_path: Path) -> None:
    archive = tmp_path / "CroppedYale.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("yaleB01/yaleB01_P00A+000E+00.pgm", _pgm(20, 20))
        zf.writestr("yaleB01/yaleB01_P00A+010E+00.pgm", _pgm(200, 200))  # 40 KB, zips small
    with pytest.raises(ValueError, match=r"yaleB01_P00A\+010E\+00\.pgm.*max_member_bytes"):
        load_yale_b(archive, size=16, max_member_bytes=10_000)
    with pytest.warns(SkippedFilesWarning, match=r"yaleB01_P00A\+010E\+00\.pgm"):
        faces = load_yale_b(archive, size=16, max_member_bytes=10_000, errors="warn")
    assert faces.names == ["yaleB01_P00A+000E+00.pgm"]
    with pytest.raises(ValueError, match=r"yaleB01_P00A\+000E\+00\.pgm.*max_pixels"):
        load_yale_b(archive, size=16, max_pixels=100)


# -- 5. saved files keep the umask -----------------------------------------------------------
@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_saved_files_keep_the_users_umask(tmp_path: Path, umask: int) -> None:
    old = os.umask(umask)
    try:
        path = atomic_save({"x": 1}, tmp_path / "a.pt")
        model = AutoEncoder(image_size=16, latent_dim=4)
        saved = model.save(tmp_path / "model.pt")
        model.fit(torch.rand(4, 3, 16, 16), steps=1, checkpoint_dir=tmp_path, progress=False)
    finally:
        os.umask(old)
    for file in (path, saved, tmp_path / "last.pt"):
        assert file.stat().st_mode & 0o777 == 0o666 & ~umask, file
