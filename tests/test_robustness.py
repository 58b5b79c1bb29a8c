"""Issues 15 and 26: never lose a trained model, never show a traceback.

Issue 15, one test (or a few) per item: the CLI checks its output places before any work and
reports expected failures in one line; resume checks the checkpoint against the run; encode /
decode / reconstruct / align_faces validate their inputs; image loading caps pixels and zip
members and refuses images too small for a face; saved files keep the user's umask.

Issue 26, a test per category: one writer per output (two real processes, a stale lock, an
interrupted --overwrite), weights that prove themselves (flipped bytes, crafted files), limits
before allocation, resume against other data, a full disk, SIGTERM, the zoo's cache and cards,
and the library's own messages at its edges.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import struct
import subprocess
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


# -- 1. the CLI --------------------------------------------------------------------------------
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


# -- 2. resume checks the checkpoint -----------------------------------------------------------
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


# -- 3. encode / decode / reconstruct / align_faces validate -----------------------------------
DECODE_ARGS: dict[str, tuple[Any, ...]] = {
    "autoencoder": (),
    "deepfakes": ("A",),
    "fadernet": (torch.zeros(2, 1),),
    "fadernet2": (torch.zeros(2, 2),),  # the light and the head's yaw
    "multidecoder": (0,),
    "vae": (),
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


# -- 4. image loading --------------------------------------------------------------------------
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


# -- 5. saved files keep the umask -------------------------------------------------------------
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


# == Issue 26: one writer per output, weights that prove themselves, limits before allocation ==
def _copy_run(source: Path, out: Path) -> Path:
    """A copy of the run folder ``source`` (its files, not its sub-folders) at ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    for file in source.iterdir():
        if file.is_file():
            (out / file.name).write_bytes(file.read_bytes())
    return out


def _wait_for(condition: Any, seconds: float = 120.0) -> None:
    import time

    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def _sepviz(*argv: str) -> subprocess.Popen[str]:
    """``python -m sepviz.cli argv`` in a child process (one thread)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "SEPVIZ_DEVICE": "cpu"}
    return subprocess.Popen(
        [sys.executable, "-m", "sepviz.cli", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _holder_pid(lock: Path) -> int | None:
    try:
        return int(json.loads(lock.read_text())["pid"])
    except (OSError, ValueError, KeyError):
        return None


# -- 6. one writer per output ------------------------------------------------------------------
@pytest.mark.skipif(os.name != "posix", reason="SIGTERM and flock are POSIX")
def test_a_second_run_into_a_busy_out_is_refused_and_sigterm_leaves_it_marked_incomplete(
    deepfakes_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    argv = ["train", "autoencoder", *TINY, "--steps", "100000", "--n-faces", "16"]
    child = _sepviz(*argv, "--checkpoint-every", "5", "--out", str(out))
    try:
        lock = out / ".sepviz.lock"
        _wait_for(lambda: _holder_pid(lock) == child.pid and (out / "last.pt").exists())
        # a second train, a resume and an overwrite are all refused, naming the lock and pid
        for extra in ([], ["--resume"], ["--overwrite"]):
            err = _fails(capsys, [*argv[:-4], "--steps", "2", "--out", str(out), *extra])
            assert str(lock) in err and f"process {child.pid}" in err, err
        # the folder is marked incomplete: swap refuses its model while the run lasts
        (out / "model.pt").write_bytes((deepfakes_dir / "model.pt").read_bytes())
        err = _fails(capsys, ["swap", "--model", str(out), "--to", "B"])
        assert "marked incomplete" in err and "run.json" in err
        (out / "model.pt").unlink()
    finally:
        child.send_signal(signal.SIGTERM)
        _, stderr = child.communicate(timeout=120)
    assert child.returncode == 143, stderr
    assert "sepviz: terminated" in stderr and "--resume" in stderr and "Traceback" not in stderr
    left = sorted(p.name for p in out.iterdir())
    assert not [name for name in left if name.endswith(".tmp")], left  # no temporary file
    assert ".sepviz.lock" not in left  # released
    assert json.loads((out / "run.json").read_text())["status"] == "running"


def test_a_stale_lock_is_taken_over_with_a_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    out = tmp_path / "run"
    out.mkdir()
    (out / ".sepviz.lock").write_text(json.dumps({"pid": gone.pid, "started": "yesterday"}))
    capsys.readouterr()
    argv = ["train", "autoencoder", *TINY, "--steps", "2", "--n-faces", "8", "--out", str(out)]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "took over the stale lock" in err and f"process {gone.pid}" in err
    assert not (out / ".sepviz.lock").exists()


def test_a_figure_being_written_by_another_run_is_refused(
    deepfakes_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sepviz import locks

    png = tmp_path / "s.png"
    argv = ["swap", "--model", str(deepfakes_dir), "--to", "B", "--n", "2", "--out", str(png)]
    with locks.hold(locks.lock_path(png, folder=False), "test"):  # as a running swap holds it
        err = _fails(capsys, argv)
        err_overwrite = _fails(capsys, [*argv, "--overwrite"])
    for text in (err, err_overwrite):
        assert ".s.png.sepviz.lock" in text and f"process {os.getpid()}" in text
    assert not png.exists()
    assert main(argv) == 0 and png.is_file()  # released: the next run writes it
    assert not list(tmp_path.glob(".s.png*"))


def test_an_interrupted_overwrite_keeps_the_earlier_run_apart(
    deepfakes_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = _copy_run(deepfakes_dir, tmp_path / "run")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    record = cli._weights_recorder

    def interrupted(*args: Any) -> Any:
        callback = record(*args)

        def stop_at_step_3(model: Any, step: int, losses: Any) -> None:
            callback(model, step, losses)
            if step == 2:  # checkpoints of steps 1 and 2 are written
                raise KeyboardInterrupt

        return stop_at_step_3

    monkeypatch.setattr(cli, "_weights_recorder", interrupted)
    argv = ["train", "deepfakes", *TINY, "--steps", "6", "--n-faces", "16", "--out", str(out)]
    argv += ["--checkpoint-every", "1", "--seed", "4"]
    capsys.readouterr()
    assert main([*argv, "--overwrite"]) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "earlier-run" in err
    # never a mix: the old model.pt and history.json wait in earlier-run/, whole
    assert not (out / "model.pt").exists() and not (out / "history.json").exists()
    kept = {p.name: p.read_bytes() for p in (out / "earlier-run").iterdir()}
    assert kept == before
    assert json.loads((out / "run.json").read_text())["status"] == "running"
    err = _fails(capsys, ["swap", "--model", str(out / "model.pt"), "--to", "B"])
    assert "no model file" in err
    (out / "model.pt").write_bytes(before["model.pt"])  # even one put back is refused
    err = _fails(capsys, ["swap", "--model", str(out), "--to", "B"])
    assert "marked incomplete" in err
    (out / "model.pt").unlink()
    # the earlier run is whole and usable; --resume finishes the new one and drops it
    png = str(tmp_path / "old.png")
    assert main(["swap", "--model", str(out / "earlier-run"), "--to", "B", "--out", png]) == 0
    monkeypatch.setattr(cli, "_weights_recorder", record)
    assert main([*argv, "--resume"]) == 0
    assert json.loads((out / "run.json").read_text())["status"] == "complete"
    assert not (out / "earlier-run").exists()
    assert (out / "model.pt").read_bytes() != before["model.pt"]


# -- 7. weights that prove themselves ----------------------------------------------------------
def _flip(path: Path, count: int, seed: int = 0) -> None:
    """Invert ``count`` bytes of ``path`` at random places past its first 64."""
    import random

    data = bytearray(path.read_bytes())
    for i in random.Random(seed).sample(range(64, len(data)), count):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def test_a_model_file_with_flipped_bytes_is_refused(
    deepfakes_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sidecar = (deepfakes_dir / "model.pt.sha256").read_text()
    assert sidecar.split() == [sidecar.split()[0], "model.pt"] and len(sidecar.split()[0]) == 64
    out = _copy_run(deepfakes_dir, tmp_path / "run")
    _flip(out / "model.pt", 2000)
    png = tmp_path / "s.png"
    err = _fails(capsys, ["swap", "--model", str(out), "--to", "B", "--out", str(png)])
    assert str(out / "model.pt") in err and "SHA-256" in err and "model.pt.sha256" in err
    assert not png.exists()
    # without its record, an intact file is checked by the SHA-256 stored in it (section 15);
    # a damaged one is still refused
    intact = _copy_run(deepfakes_dir, tmp_path / "intact")
    (intact / "model.pt.sha256").unlink()
    capsys.readouterr()
    assert main(["swap", "--model", str(intact), "--to", "B", "--out", str(png)]) == 0
    assert "no SHA-256" not in capsys.readouterr().err
    (out / "model.pt").write_bytes((deepfakes_dir / "model.pt").read_bytes()[:5000])
    (out / "model.pt.sha256").unlink()
    err = _fails(capsys, ["swap", "--model", str(out), "--to", "B", "--out", str(png)])
    assert "not a complete torch file" in err


class Payload:
    """Stands for any Python object a malicious checkpoint could hold."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (print, ("this must never run",))


def _model_state(source: Path) -> dict[str, Any]:
    return torch.load(source / "model.pt", weights_only=True)


def _crafted(folder: Path, name: str, state: Any) -> Path:
    path = folder / name
    torch.save(state, path)
    return path


def test_model_files_are_checked_before_a_model_is_built(
    deepfakes_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import resource

    good = _model_state(deepfakes_dir)
    wide = {**good, "config": {**good["config"], "latent_dim": 600_000}}
    no_losses = {**good, "history": {"steps": [0], "seconds": 1.0}}
    missing = {**good, "state_dict": dict(list(good["state_dict"].items())[1:])}
    cases = {
        "wide.pt": (wide, ["latent_dim=600000", "[1, 4096]", "before building"]),
        "function.pt": ({**good, "class": "block_table"}, ["'block_table'", "not a sepviz"]),
        "config.pt": ({**good, "class": "ModelConfig"}, ["'ModelConfig'", "not a sepviz"]),
        "listclass.pt": ({**good, "class": ["x"]}, ["'list'", "not a sepviz"]),
        "history.pt": (no_losses, ["history", "'losses'"]),
        "missing.pt": (missing, ["missing 'shared_encoder", "DeepFakes"]),
        "names.pt": ({**good, "config": {**good["config"], "identities": ["a.b", "c"]}}, ["'.'"]),
        "pickle.pt": ({"state_dict": {}, "class": Payload()}, ["Python objects", "never runs"]),
    }
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for name, (state, words) in cases.items():
        path = _crafted(tmp_path, name, state)
        err = _fails(capsys, ["swap", "--model", str(path), "--to", "B"])
        assert str(path) in err and all(word in err for word in words), (name, err)
        assert "weights_only" not in err and "this must never run" not in err
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 500  # latent_dim=600000 would have built 7 GB
    # a relight of a file naming FaderNet with a DeepFakes config is refused too
    path = _crafted(tmp_path, "fader.pt", {**good, "class": "FaderNet"})
    err = _fails(capsys, ["relight", "--model", str(path)])
    assert "holds a FaderNet with a config it cannot take" in err and "identities" in err


def test_the_checkpoint_loader_never_repeats_torchs_unsafe_advice(tmp_path: Path) -> None:
    from sepviz.checkpoint import ModelFileError, read_model_file

    path = _crafted(tmp_path, "evil.pt", {"model": Payload()})
    with pytest.raises(ModelFileError) as info:
        read_model_file(path)
    assert "weights_only" not in str(info.value) and str(path) in str(info.value)


# -- 8. limits before allocation ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["swap", "--model", "m.pt", "--to", "B", "--n", "100000000"], ["1 to 64"]),
        (["swap", "--model", "m.pt", "--to", "B", "--seed", "-1"], ["0 to 4,294,967,295"]),
        (["relight", "--model", "m.pt", "--values", "1e39"], ["-10 to 10", "1e39"]),
        (["relight", "--model", "m.pt", "--values", "nan"], ["finite"]),
        (["relight", "--model", "m.pt", "--n", "3000"], ["1 to 64"]),
        (["swap", "--model", "m.pt", "--to", "B", "--n", "3000"], ["1 to 64"]),
        (["train", "autoencoder", "--latent-dim", "1000000000"], ["1 to 4,096"]),
        (["train", "autoencoder", "--n-faces", "1000000000"], ["2 to 200,000"]),
        (["train", "autoencoder", "--size", "512"], ["16 to 256"]),
        (["train", "autoencoder", "--batch-size", "1"], ["2 to 4,096"]),
    ],
)
def test_size_flags_are_bounded_by_argparse(
    argv: list[str], words: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and all(word in err for word in words), err


def test_the_bounds_are_in_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    for command, words in (
        ("train", ["16 to 256", "2 to 200,000", "1 to 4,096", "4 GiB", "--resume"]),
        ("swap", ["1 to 64"]),
        ("relight", ["1 to 64", "1 to 32 values", "-10 to 10"]),
    ):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        out = " ".join(capsys.readouterr().out.split())
        assert all(word in out for word in words), (command, out)


def test_training_sizes_are_checked_before_any_face_is_rendered(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = str(tmp_path / "run")

    def no_rendering(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("faces were rendered before the sizes were checked")

    monkeypatch.setattr(recipes.Recipe, "training_faces", no_rendering)
    train = ["train", "autoencoder", "--no-progress", "--out", out]
    err = _fails(capsys, [*train, "--n-faces", "200000", "--size", "256"])
    assert "--n-faces 200,000" in err and "GiB" in err and "5,461 or fewer" in err
    monkeypatch.setattr(cli, "_available_memory", lambda: 10 << 20)  # 10 MiB left
    err = _fails(capsys, [*train, "--n-faces", "4000", "--size", "32"])
    assert "available now" in err and "--n-faces" in err
    err = _fails(capsys, ["train", "deepfakes", *TINY, "--n-faces", "3", "--out", out])
    assert "--n-faces 3" in err and "2 faces per identity" in err and "--n-faces 4" in err
    err = _fails(capsys, ["relight", "--model", "m.pt", "--values", *["0"] * 33])
    assert "33 values" in err and "at most 32" in err
    assert not (tmp_path / "run").exists()


def test_every_decoder_needs_two_training_faces(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["train", "multidecoder", *TINY, "--steps", "2", "--n-faces", "2"]
    err = _fails(capsys, [*argv, "--out", str(tmp_path / "run")])
    assert "--n-faces 2 gives the decoder" in err and "at least" in err and "BatchNorm" in err
    assert not (tmp_path / "run" / "run.json").exists()  # refused before the run began


@pytest.mark.parametrize("value", ["tpu", "", "   ", "cuda:99", "mps"])
def test_a_bad_sepviz_device_is_named(
    value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    if value == "mps" and torch.backends.mps.is_available():
        pytest.skip("this machine has MPS")
    monkeypatch.setenv("SEPVIZ_DEVICE", value)
    argv = ["train", "autoencoder", *TINY, "--steps", "2", "--out", str(tmp_path / "run")]
    err = _fails(capsys, argv)
    assert f"SEPVIZ_DEVICE={value!r}" in err and "unset it to pick the best device" in err
    assert "cuda, cuda:N" in err and "mps" in err and "cpu" in err  # the choices
    assert not (tmp_path / "run").exists()


# -- 9. resume checks what it resumes ----------------------------------------------------------
@pytest.fixture(scope="module")
def fadernet_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A FaderNet run (lambda_max 0.1) of 2 steps, checkpoints at steps 1 and 2."""
    out = tmp_path_factory.mktemp("fader")
    argv = ["train", "fadernet", *TINY, "--steps", "2", "--n-faces", "16", "--out", str(out)]
    assert main([*argv, "--lambda-max", "0.1", "--checkpoint-every", "1"]) == 0
    return out


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (["--n-faces", "24"], ["--n-faces 16", "--n-faces 24"]),
        (["--lambda-max", "0.2"], ["--lambda-max 0.1", "--lambda-max 0.2"]),
        ([], ["--lambda-max 0.1", "--lambda-max 0.0003"]),  # the default is not 0.1
        (["--batch-size", "4"], ["--batch-size 8", "--batch-size 4"]),
        (["--size", "32"], ["--size 16", "--size 32"]),
    ],
)
def test_resume_refuses_other_data_or_training_flags(
    fadernet_dir: Path,
    tmp_path: Path,
    flags: list[str],
    words: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = _copy_run(fadernet_dir, tmp_path / "run")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    argv = ["train", "fadernet", *TINY, "--steps", "4", "--n-faces", "16", "--out", str(out)]
    if "--lambda-max" not in flags and flags:
        argv += ["--lambda-max", "0.1"]
    err = _fails(capsys, [*argv, *flags, "--resume"])
    assert "cannot --resume" in err and all(word in err for word in words), err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_a_damaged_run_record_is_named(
    fadernet_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _copy_run(fadernet_dir, tmp_path / "run")
    (out / "run.json").write_text('{"status": "comp')
    argv = ["train", "fadernet", *TINY, "--steps", "4", "--n-faces", "16", "--out", str(out)]
    argv += ["--lambda-max", "0.1"]
    err = _fails(capsys, [*argv, "--resume"])
    assert str(out / "run.json") in err and "damaged" in err and "--overwrite" in err
    err = _fails(capsys, ["relight", "--model", str(out), "--out", str(tmp_path / "r.png")])
    assert "marked incomplete" in err
    assert main([*argv, "--overwrite"]) == 0  # a damaged record is replaced
    assert json.loads((out / "run.json").read_text())["status"] == "complete"


def test_resume_refuses_a_checkpoint_whose_weights_changed(
    fadernet_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = json.loads((fadernet_dir / "run.json").read_text())
    assert record["status"] == "complete" and set(record["checkpoint_weights"]) == {"1", "2"}
    assert record["arguments"]["lambda_max"] == 0.1 and record["arguments"]["n_faces"] == 16
    out = _copy_run(fadernet_dir, tmp_path / "run")
    state = torch.load(out / "last.pt", weights_only=True)
    first = next(k for k, v in state["model"].items() if v.is_floating_point())
    state["model"][first] = state["model"][first] + 1e-3
    torch.save(state, out / "last.pt")
    argv = ["train", "fadernet", *TINY, "--steps", "4", "--n-faces", "16", "--out", str(out)]
    err = _fails(capsys, [*argv, "--lambda-max", "0.1", "--resume"])
    assert "step 2" in err and "SHA-256 recorded in run.json" in err and "damaged" in err
    # the intact checkpoint resumes, and leftovers of an interrupted write are cleaned up
    out = _copy_run(fadernet_dir, tmp_path / "again")
    (out / ".last.pt.k3j2.tmp").write_bytes(b"half a checkpoint")
    capsys.readouterr()
    assert main([*argv[:-1], str(out), "--lambda-max", "0.1", "--resume"]) == 0
    assert "removed 1 temporary file" in capsys.readouterr().err
    assert not (out / ".last.pt.k3j2.tmp").exists()
    # the digests of the checkpoint written (step 4) and of the one before it (step 2)
    assert set(json.loads((out / "run.json").read_text())["checkpoint_weights"]) == {"2", "4"}


# -- 10. a full disk ---------------------------------------------------------------------------
def test_a_full_disk_is_found_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "_free_bytes", lambda folder: 100_000)
    out = tmp_path / "run"
    argv = ["train", "autoencoder", *TINY, "--steps", "2", "--n-faces", "8", "--out", str(out)]
    err = _fails(capsys, argv)
    assert str(out) in err and "0.1 MB free" in err and "free some disk space" in err
    assert not (out / "run.json").exists()


def test_a_full_disk_while_saving_loses_nothing(
    deepfakes_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import errno

    from matplotlib.figure import Figure

    def full_disk(self: Any, path: Any, *args: Any, **kwargs: Any) -> None:
        Path(path).write_bytes(b"\x89PNG half")
        raise OSError(errno.ENOSPC, "No space left on device")

    folder = tmp_path / "figs"
    folder.mkdir()
    (folder / "swap.png").write_bytes(b"the earlier figure")
    monkeypatch.setattr(Figure, "savefig", full_disk)
    argv = ["swap", "--model", str(deepfakes_dir), "--to", "B", "--n", "2", "--out", str(folder)]
    err = _fails(capsys, [*argv, "--overwrite"])
    assert str(folder / "swap.png") in err and "No space left" in err and "free some" in err
    assert sorted(p.name for p in folder.iterdir()) == ["swap.png"]  # no partial file
    assert (folder / "swap.png").read_bytes() == b"the earlier figure"
    monkeypatch.undo()

    # the disk fills as model.pt is written: exit 2, the earlier run kept apart, resumable
    out = _copy_run(deepfakes_dir, tmp_path / "run")
    old_model = (out / "model.pt").read_bytes()

    def no_space(self: Any, path: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(SepvizModel, "save", no_space)
    argv = ["train", "deepfakes", *TINY, "--steps", "3", "--n-faces", "16", "--out", str(out)]
    err = _fails(capsys, [*argv, "--overwrite"])
    assert "No space left" in err and "model.pt" in err
    assert (out / "earlier-run" / "model.pt").read_bytes() == old_model
    assert json.loads((out / "run.json").read_text())["status"] == "running"
    monkeypatch.undo()
    assert main([*argv, "--resume"]) == 0 and not (out / "earlier-run").exists()


@pytest.mark.skipif(os.name != "posix", reason="signals are POSIX")
def test_sigterm_during_a_checkpoint_write_leaves_no_temporary_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    save = torch.save

    def killed_while_writing(obj: Any, path: Any, *args: Any, **kwargs: Any) -> None:
        if str(path).endswith(".tmp") and ".last.pt." in str(path):
            Path(path).write_bytes(b"half")
            os.kill(os.getpid(), signal.SIGTERM)  # the handler raises here
        save(obj, path, *args, **kwargs)

    monkeypatch.setattr(torch, "save", killed_while_writing)
    out = tmp_path / "run"
    argv = ["train", "autoencoder", *TINY, "--steps", "3", "--n-faces", "8", "--out", str(out)]
    capsys.readouterr()
    assert main(argv) == 143
    assert "terminated" in capsys.readouterr().err
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # put back


# -- 11. the model zoo -------------------------------------------------------------------------
ZOO_TINY = {"size": 16, "steps": 2, "n_faces": 16, "progress": False, "latent_dim": 4}


@pytest.fixture
def zoo_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """(cache, shipped): an empty cache, and a 'pretrained' folder holding one tiny model."""
    from sepviz import zoo

    shipped = tmp_path / "pretrained"
    monkeypatch.setenv("SEPVIZ_CACHE", str(shipped))
    zoo.trained("autoencoder", **ZOO_TINY)
    monkeypatch.setenv("SEPVIZ_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(zoo, "PRETRAINED", shipped)
    return tmp_path / "cache", shipped


def test_a_damaged_cache_entry_falls_back_to_the_shipped_copy(
    zoo_dirs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from sepviz import zoo

    cache, shipped = zoo_dirs
    (model,) = shipped.glob("*.pt")
    cache.mkdir()
    for file in (model, model.with_suffix(".json")):
        (cache / file.name).write_bytes(file.read_bytes())
    _flip(cache / model.name, 50)
    with pytest.warns(zoo.ZooWarning, match=r"damaged model cache entry.*SHA-256.*shipped copy"):
        again = zoo.trained("autoencoder", **ZOO_TINY)
    assert isinstance(again, AutoEncoder) and not (cache / model.name).exists()
    # a truncated entry without a shipped copy is trained again, with a warning
    monkeypatch.setattr(zoo, "PRETRAINED", cache / "nothing shipped")
    zoo.trained("autoencoder", **ZOO_TINY)
    (cache / model.name).write_bytes((cache / model.name).read_bytes()[:300])
    with pytest.warns(zoo.ZooWarning, match="training it again"):
        zoo.trained("autoencoder", **ZOO_TINY)
    zoo.trained("autoencoder", **ZOO_TINY)  # whole again: no warning (an error would show)


def test_a_card_must_name_the_files_class(zoo_dirs: tuple[Path, Path]) -> None:
    from sepviz import zoo

    _, shipped = zoo_dirs
    (model,) = shipped.glob("*.pt")
    card = json.loads(model.with_suffix(".json").read_text())
    assert card["class"] == "AutoEncoder"
    # a DeepFakes asked for, an AutoEncoder under its name: refused by the card, or by the
    # file itself where the card names no class (the shipped cards of older sepviz)
    with pytest.raises(ValueError, match="names a AutoEncoder, not a DeepFakes"):
        zoo._load_checked(model, "DeepFakes")
    del card["class"]
    model.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(ValueError, match=r"autoencoder-16px-\w+\.pt holds a AutoEncoder, not a"):
        zoo._load_checked(model, "DeepFakes")
    model.with_suffix(".json").write_text(json.dumps({**card, "class": "FaderNet"}))
    with pytest.raises(ValueError, match=r"names a FaderNet, not a AutoEncoder"):
        zoo.trained("autoencoder", **ZOO_TINY)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('{"name": "x", ', ["not valid JSON"]),
        ('{"name": "x", "args": {}, "code": []}', ["no 'sha256'"]),
        ('{"name": "x", "args": {}, "code": [], "sha256": "abc"}', ["64 hexadecimal"]),
        ("[1, 2]", ["not a JSON object"]),
    ],
)
def test_bad_cards_are_named_and_do_not_stop_stale(
    zoo_dirs: tuple[Path, Path], text: str, words: list[str]
) -> None:
    from sepviz import zoo

    _, shipped = zoo_dirs
    (model,) = shipped.glob("*.pt")
    other = shipped / "autoencoder-16px-0000000000000000.pt"  # a second model, card intact
    other.write_bytes(model.read_bytes())
    other.with_suffix(".json").write_text(model.with_suffix(".json").read_text())
    model.with_suffix(".json").write_text(text)
    with pytest.raises(ValueError) as info:
        zoo.trained("autoencoder", **ZOO_TINY)
    assert str(model.with_suffix(".json")) in str(info.value)
    assert all(word in str(info.value) for word in words)
    with pytest.warns(zoo.ZooWarning, match="counted as stale"):
        assert zoo.stale(shipped) == sorted([other, model])  # other: its name is not its hash


# -- 12. library checks at the edges -----------------------------------------------------------
def test_library_edges_refuse_bad_sizes_in_their_own_words(tmp_path: Path) -> None:
    from sepviz import widgets
    from sepviz.data.align import detect_faces_cascade
    from sepviz.export import to_onnx
    from sepviz.grids import relight_grid

    x = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))

    def fn(images: torch.Tensor, value: float) -> torch.Tensor:
        return images

    with pytest.raises(ValueError, match=r"values must hold finite numbers from -10 to 10"):
        relight_grid(fn, x, [0.0, 1e39])
    with pytest.raises(ValueError, match=r"fps must be a number above 0"):
        widgets.static_slider(fn, x, fps=0)
    with pytest.raises(ValueError, match=r"more than 101 frames"):
        widgets.static_slider(fn, x, values=[0.0] * 102)
    with pytest.raises(ValueError, match=r"scale must be an integer from 1 to 16"):
        widgets.fader_slider(fn, x, scale=10_000)
    with pytest.raises(ValueError, match=r"values must hold finite numbers"):
        widgets.fader_slider(fn, x, values=(-1.0, float("inf")))
    with pytest.raises(ValueError, match=r"scale_factor must be a number above 1"):
        detect_faces_cascade(x[0], scale_factor=1.0)
    Image.new("RGB", (40, 30)).save(tmp_path / "photo.png")
    with pytest.raises(ValueError, match=r"max_side must be None or an integer >= 1"):
        read_image(tmp_path / "photo.png", max_side=0)
    with pytest.raises(ValueError, match=r"max_side must be None or an integer >= 16"):
        align_faces(x, size=16, landmarks=[None, None], max_side=0)
    model = DeepFakes(image_size=16, latent_dim=4, identities=["a b", "a_b"])
    with pytest.raises(ValueError, match=r"'decoder_a b' and 'decoder_a_b'.*decoder_a_b\.onnx"):
        to_onnx(model, tmp_path / "onnx")
    assert not (tmp_path / "onnx").exists()


# -- 13. the library in its own words (issue 26, remaining items) ------------------------------
def test_decoder_names_are_distinct_strings_and_an_int_is_an_index() -> None:
    from sepviz.models import MultiDecoder

    for names, words in (
        (["a.b", "c"], r"identities: 'a\.b' cannot name a decoder \(no '\.'"),
        ([None, "B"], r"identities: every name must be a non-empty string .*got None"),
        ([1, 2], r"identities: every name must be a non-empty string .*got 1"),
        (["A", ""], r"identities: every name must be a non-empty string .*got ''"),
        (["A", "A"], r"identities: names must be distinct"),
        (["update", "B"], r"identities: 'update' cannot name a decoder"),  # a ModuleDict method
    ):
        with pytest.raises(ValueError, match=words):
            DeepFakes(image_size=16, latent_dim=4, identities=names)
    with pytest.raises(ValueError, match=r"classes: 'x\.y' cannot name a decoder"):
        MultiDecoder(image_size=16, latent_dim=4, classes=["x.y", "z"])
    # names that look like indices stay names; an int is always an index
    model = DeepFakes(image_size=16, latent_dim=4, identities=["1", "0"]).eval()
    x = torch.rand(3, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    assert torch.equal(model.swap(x, to=0), model.swap(x, to="1"))
    assert torch.equal(model.swap(x, to=1), model.swap(x, to="0"))
    assert not torch.allclose(model.swap(x, to=0), model.swap(x, to="0"))
    with pytest.raises(ValueError, match=r"to=2 is out of range: .*\[0, 2\) for \['1', '0'\]"):
        model.swap(x, to=2)
    with pytest.raises(ValueError, match=r"to='2' is not a decoder of this model; have \['1'"):
        model.swap(x, to="2")


def test_sepvizmodel_load_checks_the_file_before_building_a_model(tmp_path: Path) -> None:
    import re
    import resource

    from sepviz.checkpoint import DamagedFileError
    from sepviz.train import DIGEST_KEY, contents_digest

    model = DeepFakes(image_size=16, latent_dim=4)
    path = model.save(tmp_path / "m.pt")  # no .sha256 beside it: the digest inside it counts
    good = torch.load(path, weights_only=True)
    assert good[DIGEST_KEY] == contents_digest(good) and len(good[DIGEST_KEY]) == 64
    assert isinstance(SepvizModel.load(path), DeepFakes)
    changed = {**good, "state_dict": dict(good["state_dict"])}
    first = next(iter(changed["state_dict"]))
    changed["state_dict"][first] = changed["state_dict"][first] + 1e-3
    cases: dict[str, tuple[Any, str]] = {
        "changed.pt": (changed, "does not match the SHA-256 stored in it"),
        "wide.pt": (
            {**good, "config": {**good["config"], "latent_dim": 600_000}},
            r"latent_dim=600000 is outside the bound \[1, 4096\]; refused before building",
        ),
        "pickle.pt": ({**good, "class": Payload()}, "holds Python objects"),
    }
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for name, (state, words) in cases.items():
        crafted = _crafted(tmp_path, name, state)
        with pytest.raises(ValueError, match=words) as info:
            SepvizModel.load(crafted)
        assert str(crafted) in str(info.value) and "weights_only" not in str(info.value)
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024 < 500
    flipped = tmp_path / "flipped.pt"
    flipped.write_bytes(path.read_bytes())
    _flip(flipped, 20)
    with pytest.raises(ValueError, match=re.escape(str(flipped))):
        SepvizModel.load(flipped)
    flipped.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(ValueError, match=r"flipped\.pt is not a sepviz model file: it is not a"):
        DeepFakes.load(flipped)
    with pytest.raises(ValueError, match=r"m\.pt holds a DeepFakes, not a AutoEncoder"):
        AutoEncoder.load(path)
    changed.pop(DIGEST_KEY)  # a file of an older sepviz: loaded, unchecked
    assert isinstance(SepvizModel.load(_crafted(tmp_path, "old.pt", changed)), DeepFakes)
    assert issubclass(DamagedFileError, ValueError)


@pytest.mark.parametrize("value", ["tpu", "", "  ", "CPU", "cuda:x"])
def test_pick_device_names_sepviz_device_and_the_devices(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sepviz.utils import pick_device

    monkeypatch.setenv("SEPVIZ_DEVICE", value)
    with pytest.raises(ValueError, match=r"SEPVIZ_DEVICE=.* use cuda, cuda:N, mps or cpu"):
        pick_device()
    with pytest.raises(ValueError, match=r"^device='tpu' is not a device sepviz runs on"):
        pick_device("tpu")  # an argument wins over the variable, and is named itself
    monkeypatch.setenv("SEPVIZ_DEVICE", "cpu")
    assert pick_device() == torch.device("cpu")


def test_safe_load_never_repeats_torchs_unsafe_advice(tmp_path: Path) -> None:
    from sepviz.utils import safe_load

    path = _crafted(tmp_path, "evil.pt", {"model": Payload()})
    with pytest.raises(ValueError, match="holds Python objects") as info:
        safe_load(path)
    assert str(path) in str(info.value) and "weights_only" not in str(info.value)


def test_training_needs_two_faces_per_batch_and_stream() -> None:
    from sepviz.models import MultiDecoder
    from sepviz.train import History

    x = torch.rand(4, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    quiet = {"steps": 1, "progress": False}
    with pytest.raises(ValueError, match=r"batch_size must be an int >= 2 \(BatchNorm"):
        AutoEncoder(image_size=16, latent_dim=4).fit(x, batch_size=1, **quiet)
    with pytest.raises(ValueError, match=r"'faces' has 1 sample\(s\): training needs 2 faces"):
        AutoEncoder(image_size=16, latent_dim=4).fit(x[:1], **quiet)
    with pytest.raises(ValueError, match=r"'A': 1, 'B': 3: give more faces \(n_faces, or sepviz"):
        DeepFakes(image_size=16, latent_dim=4).fit({"A": x[:1], "B": x[1:]}, **quiet)
    with pytest.raises(
        ValueError,
        match=r"needs 2 training faces at least .*'left': 2, 'centre': 1, 'right': 0: give more "
        r"faces \(n_faces, or sepviz train --n-faces\)",
    ):
        MultiDecoder(image_size=16, latent_dim=4).fit(x[:3], [0, 0, 1], **quiet)
    with pytest.raises(ValueError, match=r"History state needs the key 'losses'"):
        History.from_state_dict({"steps": [0], "seconds": 1.0})
    with pytest.raises(ValueError, match=r"History state's 'steps' must be a list of steps"):
        History.from_state_dict({"steps": 3, "losses": {}, "seconds": 1.0})


def test_last_pt_carries_its_sha256_checked_on_resume(tmp_path: Path) -> None:
    import re

    from sepviz.checkpoint import DamagedFileError
    from sepviz.train import DIGEST_KEY, contents_digest

    x = torch.rand(6, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    run = {"batch_size": 4, "progress": False, "checkpoint_dir": tmp_path, "checkpoint_every": 1}
    AutoEncoder(image_size=16, latent_dim=4).fit(x, steps=2, **run)
    last = tmp_path / "last.pt"
    state = torch.load(last, weights_only=True)
    assert state[DIGEST_KEY] == contents_digest(state) and state["step"] == 2
    assert contents_digest({**state, "model": dict(state["model"])}) == state[DIGEST_KEY]
    intact = last.read_bytes()
    resumed = AutoEncoder(image_size=16, latent_dim=4).fit(x, steps=3, resume=True, **run)
    assert resumed.history is not None and resumed.history.steps[-1] == 2
    # a changed weight, a changed Adam moment: refused on resume and on load, naming the file
    moment = {**state, "optimizers": {"ae": dict(state["optimizers"]["ae"])}}
    adam = moment["optimizers"]["ae"]
    adam["state"] = {k: dict(v) for k, v in adam["state"].items()}
    adam["state"][0]["exp_avg"] = adam["state"][0]["exp_avg"] * 2
    weight = {**state, "model": dict(state["model"])}
    key = next(k for k, v in weight["model"].items() if v.is_floating_point())
    weight["model"][key] = weight["model"][key] + 1e-3
    for damaged in (weight, moment):
        torch.save(damaged, last)
        with pytest.raises(DamagedFileError, match="does not match the SHA-256 stored in it"):
            AutoEncoder(image_size=16, latent_dim=4).fit(x, steps=3, resume=True, **run)
        with pytest.raises(
            ValueError, match=rf"^{re.escape(str(last))} does not match the SHA-256"
        ):
            SepvizModel.load(last)
    last.write_bytes(intact[:3000])
    with pytest.raises(ValueError, match=rf"cannot resume: {re.escape(str(last))} is not a sepviz"):
        AutoEncoder(image_size=16, latent_dim=4).fit(x, steps=3, resume=True, **run)


def test_load_folder_stops_reading_after_n_images(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sepviz.data import real

    for k, name in enumerate("abc"):
        Image.new("RGB", (40, 40), (60 * k, 80, 120)).save(tmp_path / f"{name}.png")
    (tmp_path / "d.png").write_bytes(b"not a png: must not be opened when n=3")
    opened: list[str] = []
    read = real._read_image

    def counting(path: Path, *args: Any, **kwargs: Any) -> torch.Tensor:
        opened.append(Path(path).name)
        return read(path, *args, **kwargs)

    monkeypatch.setattr(real, "_read_image", counting)
    faces = load_folder(tmp_path, size=16, n=2)
    assert faces.names == ["a.png", "b.png"] and faces.images.shape == (2, 3, 16, 16)
    assert opened == ["a.png", "b.png"]
    assert len(load_folder(tmp_path, size=16, n=3)) == 3
    with pytest.raises(ValueError, match=r"d\.png"):
        load_folder(tmp_path, size=16)  # without n the broken file is read, and named
    with pytest.raises(ValueError, match=r"n must be None or an integer >= 1, got 0"):
        load_folder(tmp_path, size=16, n=0)


# -- 14. FaderNet's y: the attribute checked wherever it enters (issue 26) ---------------------

FADER_Y_SHAPE = r"\(3, 2\), \(2,\) or a float"


@functools.cache
def _two_fader() -> Any:
    from sepviz.models import FaderNet

    torch.manual_seed(0)
    return FaderNet(image_size=16, latent_dim=8, attribute_dim=2).eval()


@pytest.mark.parametrize(
    ("y", "error", "match"),
    [
        (torch.zeros(3, 3), ValueError, rf"y must have shape {FADER_Y_SHAPE}, got \(3, 3\)"),
        (torch.zeros(3), ValueError, rf"y must have shape {FADER_Y_SHAPE}, got \(3,\)"),
        (torch.zeros(4, 2), ValueError, r"y must have shape \(3, 2\).*got \(4, 2\)"),
        (torch.tensor([0.0, float("nan")]), ValueError, "y must be finite"),
        (torch.full((3, 2), float("inf")), ValueError, "y must be finite"),
        (float("-inf"), ValueError, "y must be finite"),
        ("left", TypeError, rf"y must be finite numbers of shape {FADER_Y_SHAPE}, got 'left'"),
        (None, TypeError, rf"y must be finite numbers of shape {FADER_Y_SHAPE}, got None"),
        (True, TypeError, "y must be finite numbers"),
        (torch.ones(3, 2, dtype=torch.bool), TypeError, "y must be finite numbers"),
    ],
)
@pytest.mark.parametrize("verb", ["decode", "relight", "reconstruct"])
def test_fader_y_is_checked_in_sepviz_words(verb: str, y: Any, error: type, match: str) -> None:
    model, x = _two_fader(), torch.rand(3, 3, 16, 16)
    call = {
        "decode": lambda: model.decode(torch.zeros(3, 8), y),
        "relight": lambda: model.relight(x, y),
        "reconstruct": lambda: model.reconstruct(x, y),
    }[verb]
    if verb == "reconstruct" and y is None:  # reconstruct's y=None means the centre, y = 0
        with torch.no_grad():
            torch.testing.assert_close(call(), model.reconstruct(x, 0.0))
        return
    with pytest.raises(error, match=match):
        call()


def test_fader_decode_broadcasts_y_like_relight() -> None:
    model, z = _two_fader(), torch.randn(3, 8)
    x = torch.rand(3, 3, 16, 16)
    with torch.no_grad():
        full = model.decode(z, torch.full((3, 2), 0.5))
        torch.testing.assert_close(model.decode(z, 0.5), full)  # a float: every face, every y
        torch.testing.assert_close(model.decode(z, torch.tensor([0.5, 0.5])), full)
        torch.testing.assert_close(model.decode(z, [0.5, 0.5]), full)
        assert not torch.allclose(model.decode(z, -0.5), full)
        z_x = model.encode(x)
        torch.testing.assert_close(model.relight(x, 0.5), model.decode(z_x, 0.5).cpu())
        torch.testing.assert_close(model.reconstruct(x), model.decode(z_x, 0.0))


# -- 15. the CLI and the checkpoint module: closing items of issue 26 --------------------------
def test_a_model_file_is_checked_by_the_sha256_stored_in_it(
    deepfakes_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import re

    from sepviz import zoo
    from sepviz.checkpoint import DamagedFileError, load_model_file, read_model_file
    from sepviz.data.download import sha256_of
    from sepviz.train import DIGEST_KEY

    out = _copy_run(deepfakes_dir, tmp_path / "run")
    (out / "model.pt.sha256").unlink()  # copied without its record: the digest in it counts
    path, png = out / "model.pt", tmp_path / "s.png"
    assert read_model_file(path).verified
    good = _model_state(out)
    changed = {**good, "state_dict": dict(good["state_dict"])}
    key = next(k for k, v in changed["state_dict"].items() if v.is_floating_point())
    changed["state_dict"][key] = changed["state_dict"][key] + 1e-3
    torch.save(changed, path)  # a whole torch file of the right shapes: only the digest tells
    err = _fails(capsys, ["swap", "--model", str(out), "--to", "B", "--out", str(png)])
    assert f"{path} does not match the SHA-256 stored in it" in err and "train it again" in err
    with pytest.raises(DamagedFileError, match=rf"^{re.escape(str(path))} does not match"):
        load_model_file(path)
    assert not png.exists()

    # a stored digest that is not one; sparse tensors (torch's own checks and the hashing
    # would fail in torch's words), among the weights or beside them: one line naming the file
    sparse = {**good, "state_dict": dict(good["state_dict"])}
    sparse["state_dict"][key] = sparse["state_dict"][key].to_sparse()
    beside = {**good, "notes": torch.eye(3).to_sparse(), DIGEST_KEY: "0" * 64}
    for state, words in (
        ({**good, DIGEST_KEY: "abc"}, "the SHA-256 stored in it is not 64 hex digits ('abc')"),
        (sparse, f"tensor {key!r} is stored as torch.sparse_coo, not as a plain tensor"),
        (beside, "its contents cannot be hashed to check the SHA-256 stored in it"),
    ):
        torch.save(state, path)
        err = _fails(capsys, ["swap", "--model", str(out), "--to", "B", "--out", str(png)])
        assert str(path) in err and words in err, err

    # a file of an older sepviz (no digest in it, none beside it) still loads, with a note
    torch.save({k: v for k, v in good.items() if k != DIGEST_KEY}, path)
    assert not read_model_file(path).verified
    capsys.readouterr()
    assert main(["swap", "--model", str(out), "--to", "B", "--n", "2", "--out", str(png)]) == 0
    err = capsys.readouterr().err
    assert "no SHA-256 beside it (model.pt.sha256) nor in it" in err and png.is_file()

    # a training checkpoint as --model: its digest is checked by the CLI (not by check_state,
    # which leaves it to the code that resumes it: "cannot resume" would change its error)
    last, figure = out / "last.pt", tmp_path / "last.png"
    capsys.readouterr()
    assert main(["swap", "--model", str(last), "--to", "B", "--n", "2", "--out", str(figure)]) == 0
    assert "SHA-256" not in capsys.readouterr().err and figure.is_file()  # checked: no note
    checkpoint = torch.load(last, weights_only=True)
    checkpoint["model"][key] = checkpoint["model"][key] + 1e-3
    torch.save(checkpoint, last)
    err = _fails(capsys, ["swap", "--model", str(last), "--to", "B", "--out", str(png)])
    assert f"{last} does not match the SHA-256 stored in it" in err

    # the zoo's files: rewritten in half precision after save, checked by their card's SHA-256
    half = DeepFakes(image_size=16, latent_dim=4).save(tmp_path / "zoo.pt")
    stored = zoo.store_half(half)
    assert stored is not None
    loaded = load_model_file(half, sha256_of(half), "DeepFakes")
    assert all(torch.equal(loaded.state_dict()[k], v.float()) for k, v in stored.items())


def test_the_cli_checks_sepviz_device_with_pick_device(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from sepviz import utils

    asked: list[Any] = []

    def pick_device(prefer: Any = None) -> torch.device:
        asked.append(prefer)
        raise ValueError("SEPVIZ_DEVICE='cuda:7' was asked for, but CUDA is not available")

    monkeypatch.setattr(utils, "pick_device", pick_device)  # one place decides
    monkeypatch.setenv("SEPVIZ_DEVICE", "cuda:7")
    out = tmp_path / "run"
    err = _fails(capsys, ["train", "autoencoder", *TINY, "--steps", "2", "--out", str(out)])
    assert asked == [None] and "'cuda:7' was asked for, but CUDA is not available" in err
    assert "set it to cpu, cuda, cuda:N or mps, or unset it" in err
    assert not out.exists()  # checked before any work


def test_swap_reads_only_the_first_n_input_images(
    deepfakes_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sepviz.data import real

    folder = tmp_path / "photos"
    folder.mkdir()
    for k, name in enumerate("abc"):
        Image.new("RGB", (40, 40), (60 * k, 80, 120)).save(folder / f"{name}.png")
    (folder / "d.png").write_bytes(b"not a png: never opened with --n 3 or fewer")
    (folder / "notes.txt").write_text("not an image: skipped with a warning")
    opened: list[str] = []
    read = real._read_image

    def counting(path: Path, *args: Any, **kwargs: Any) -> torch.Tensor:
        opened.append(Path(path).name)
        return read(path, *args, **kwargs)

    monkeypatch.setattr(real, "_read_image", counting)
    argv = ["swap", "--model", str(deepfakes_dir), "--to", "A", "--input", str(folder)]
    two, three = tmp_path / "two.png", tmp_path / "three.png"
    capsys.readouterr()
    assert main([*argv, "--n", "2", "--out", str(two)]) == 0
    assert opened == ["a.png", "b.png"]
    err = capsys.readouterr().err  # the warning in one line, not Python's source path
    assert (
        err.startswith("sepviz: warning: load_folder: 1 file(s) not loaded")
        and err.count("\n") == 1
    )
    assert "notes.txt" in err and "real.py" not in err
    assert main([*argv, "--n", "3", "--out", str(three)]) == 0
    with Image.open(two) as small, Image.open(three) as large:
        assert small.width < large.width  # one column per face read
    (folder / "notes.txt").unlink()
    err = _fails(capsys, [*argv, "--n", "4", "--out", str(tmp_path / "four.png")])
    assert "d.png" in err and not (tmp_path / "four.png").exists()


def test_fadernet2_trains_resumes_and_is_named_where_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sepviz.models import PCA

    assert cli.MODELS == recipes.KINDS and "fadernet2" in cli.MODELS
    out = tmp_path / "run"
    argv = ["train", "fadernet2", *TINY, "--n-faces", "16", "--out", str(out)]
    assert main([*argv, "--steps", "2", "--lambda-max", "0.1", "--checkpoint-every", "1"]) == 0
    record = json.loads((out / "run.json").read_text())
    assert record["arguments"]["lambda_max"] == 0.1  # recorded for every FaderNet recipe
    model = SepvizModel.load(out / "model.pt")
    assert type(model).__name__ == "FaderNet" and model.config.attribute_dim == 2
    assert model.config.lambda_max == 0.1
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    err = _fails(capsys, [*argv, "--steps", "4", "--lambda-max", "0.2", "--resume"])
    assert "--lambda-max 0.1" in err and "--lambda-max 0.2" in err and "cannot --resume" in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    # relight draws one attribute: the two faders' model is named with its recipe
    err = _fails(capsys, ["relight", "--model", str(out), "--out", str(tmp_path / "r.png")])
    assert "holds a FaderNet with attribute_dim 2 ('sepviz train fadernet2')" in err
    err = _fails(capsys, ["train", "autoencoder", *TINY, "--lambda-max", "0.1", "--out", "x"])
    assert "--lambda-max applies to fadernet and fadernet2 only, not autoencoder" in err
    # a model no recipe trains: its class, not "no recipe for a PCA"
    pca = PCA(image_size=16, latent_dim=4).save(tmp_path / "pca.pt")
    for command in (["swap", "--to", "A"], ["relight"]):
        err = _fails(capsys, [*command, "--model", str(pca), "--out", str(tmp_path / "p.png")])
        assert f"{pca} holds a PCA; train one with 'sepviz train" in err, err
