"""Real-face loaders, offline: scikit-image's LFW crops, Yale B on generated files, LFW's
offline error, own photo folders, the lighting pseudo-label and the SHA-256 downloader."""

from __future__ import annotations

import hashlib
import math
import urllib.error
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from sepviz.data import FaceSet
from sepviz.data.download import download, sha256_of, verify_sha256
from sepviz.data.real import (
    SkippedFilesWarning,
    calibrate_threshold,
    image_to_tensor,
    light_class,
    lighting_pseudo_label,
    load_folder,
    load_lfw,
    load_skimage_faces,
    load_yale_b,
    parse_yale_name,
    read_folder,
    resize_square,
)

# Every skipped file is reported with a SkippedFilesWarning; tests that check a report use
# pytest.warns, the others need not repeat them in the output.
pytestmark = pytest.mark.filterwarnings("ignore::sepviz.data.real.SkippedFilesWarning")

# --------------------------------------------------------------------------- helpers


def render_lambert_faces(
    azimuth: torch.Tensor,
    elevation: torch.Tensor | None = None,
    size: int = 32,
    ambient: float = 0.25,
    seed: int = 0,
) -> torch.Tensor:
    """Test-local faces with a known light: a Lambert-shaded ellipsoid head with a nose bump,
    darker eyes and mouth, random skin tone, on a grey background. ``azimuth`` in sepviz's
    convention (negative = light from the image's left). Returns (N, 3, size, size) in [0, 1].
    """
    g = torch.Generator().manual_seed(seed)
    az = torch.as_tensor(azimuth, dtype=torch.float32)
    el = torch.zeros_like(az) if elevation is None else torch.as_tensor(elevation).float()
    c = (torch.arange(size) + 0.5) / size * 2 - 1
    y, x = torch.meshgrid(-c, c, indexing="ij")  # x right, y up
    a, b = 0.72, 0.9
    r2 = (x / a) ** 2 + (y / b) ** 2
    inside = r2 < 1
    nx, ny, nz = x / a**2, y / b**2, torch.sqrt((1 - r2).clamp_min(0))
    bump = 0.25 * torch.exp(-((x / 0.12) ** 2 + ((y + 0.05) / 0.25) ** 2))
    d_row, d_col = torch.gradient(bump, spacing=(2 / size, 2 / size))
    nx, ny = nx - d_col, ny + d_row  # rows run downwards, y upwards
    norm = torch.sqrt(nx**2 + ny**2 + nz**2).clamp_min(1e-6)
    nx, ny, nz = nx / norm, ny / norm, nz / norm
    azr, elr = torch.deg2rad(az), torch.deg2rad(el)
    lx = (torch.sin(azr) * torch.cos(elr))[:, None, None]
    ly = torch.sin(elr)[:, None, None]
    lz = (torch.cos(azr) * torch.cos(elr))[:, None, None]
    lambert = (nx * lx + ny * ly + nz * lz).clamp_min(0)
    albedo = torch.full((size, size), 0.8)
    albedo[(((x.abs() - 0.3) / 0.12) ** 2 + ((y - 0.2) / 0.07) ** 2) < 1] = 0.25  # eyes
    albedo[((x / 0.3) ** 2 + ((y + 0.5) / 0.06) ** 2) < 1] = 0.45  # mouth
    tone = 0.7 + 0.3 * torch.rand(len(az), 1, 1, generator=g)
    shade = albedo * tone * (ambient + (1 - ambient) * lambert)
    grey = torch.where(inside, shade, torch.full_like(shade, 0.5))
    tint = torch.tensor([1.0, 0.85, 0.75])[None, :, None, None]
    return (grey[:, None] * tint).clamp(0, 1).contiguous()


def side_lit(side: str, size: int = 32) -> torch.Tensor:
    """One (1, 3, size, size) image brighter on the image's ``side`` ('left'/'right'/'even')."""
    ramp = torch.linspace(0.9, 0.1, size) if side == "left" else torch.linspace(0.1, 0.9, size)
    if side == "even":
        ramp = torch.full((size,), 0.5)
    return ramp.expand(1, 3, size, size).clone()


def write_yale(folder: Path, subjects=(1, 2), lights=None, ambient=True, h=192, w=168) -> Path:
    """Generated PGM files that follow the real Extended Yale B names and sizes.

    Each image is brighter on the side the light comes from, in sepviz's convention (A+ is
    the subject's right = the image's left), so the pipeline can be checked end to end.
    """
    lights = lights or [(0, 0), (10, 0), (-10, 20), (35, -20), (-50, 10), (110, 15), (-130, 20)]
    for s in subjects:
        sub = folder / f"yaleB{s:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        for a, e in lights:
            cls = int(light_class(torch.tensor(-float(a))))  # sepviz azimuth = -A
            ramp = (0.2, 0.5, 0.8)[cls]
            cols = np.linspace(1 - ramp, ramp, w)
            img = np.tile(cols, (h, 1)) * (0.6 + 0.05 * s)
            img[: h // 8] = 0.2 + 0.01 * e  # elevation marked in the top rows
            name = f"yaleB{s:02d}_P00A{a:+04d}E{e:+03d}.pgm"
            Image.fromarray((img.clip(0, 1) * 255).astype(np.uint8), "L").save(sub / name)
        if ambient:
            dark = np.full((h, w), 12, dtype=np.uint8)
            Image.fromarray(dark, "L").save(sub / f"yaleB{s:02d}_P00_Ambient.pgm")
        (sub / f"yaleB{s:02d}_P00.info").write_text("list of the images\n")
    return folder


def zip_folder(folder: Path, dest: Path, prefix: str = "CroppedYale/") -> Path:
    with zipfile.ZipFile(dest, "w") as zf:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                zf.write(p, prefix + p.relative_to(folder).as_posix())
    return dest


@pytest.fixture()
def yale_dir(tmp_path: Path) -> Path:
    return write_yale(tmp_path / "CroppedYale")


# --------------------------------------------------------------------------- scikit-image LFW


def test_skimage_faces_offline_shapes_and_labels():
    faces = load_skimage_faces(size=32)
    assert isinstance(faces, FaceSet)
    assert faces.images.shape == (100, 3, 32, 32)
    assert faces.images.dtype == torch.float32
    assert 0.0 <= float(faces.images.min()) and float(faces.images.max()) <= 1.0
    assert float(faces.images.std()) > 0.1  # real pictures, not blank
    assert torch.equal(faces.images[:, 0], faces.images[:, 1])  # grey repeated to 3 channels
    assert faces.names[0] == "lfw_subset_000" and faces.names[-1] == "lfw_subset_099"
    assert faces.factors["light_class"].dtype == torch.int64
    assert faces.factors["light_score"].dtype == torch.float32
    assert set(faces.factors["light_class"].tolist()) <= {0, 1, 2}
    assert float(faces.factors["light_score"].abs().max()) <= 1.0
    assert load_skimage_faces(size=64).images.shape == (100, 3, 64, 64)
    with pytest.raises(ValueError, match="size"):
        load_skimage_faces(size=0)


# --------------------------------------------------------------------------- light labels


def test_light_class_bins():
    az = torch.tensor([-130.0, -60, -20.5, -20, 0, 20, 20.5, 60, 130])
    assert light_class(az).tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert light_class(az).dtype == torch.int64


def test_pseudo_label_sign_matches_azimuth():
    images = torch.cat([side_lit("left"), side_lit("even"), side_lit("right")])
    score, classes = lighting_pseudo_label(images)
    assert score[0] < -0.3 and abs(float(score[1])) < 1e-6 and score[2] > 0.3
    assert classes.tolist() == [0, 1, 2]
    assert score.dtype == torch.float32 and classes.dtype == torch.int64
    _, two = lighting_pseudo_label(images[[0, 2]], n_classes=2)
    assert two.tolist() == [0, 1]
    with pytest.raises(ValueError, match="n_classes"):
        lighting_pseudo_label(images, n_classes=5)
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        lighting_pseudo_label(images[:, 0])


def test_pseudo_label_agrees_with_true_light_on_synthetic_faces(capsys):
    """Agreement of the pseudo-label class with the true ``light_class`` on faces whose light
    is known (rendered with a Lambert model), with the library's default threshold."""
    g = torch.Generator().manual_seed(0)
    n = 1000
    az = torch.rand(n, generator=g) * 120 - 60
    el = torch.rand(n, generator=g) * 60 - 20
    images = render_lambert_faces(az, el, size=32, seed=1)
    truth = light_class(az)
    _, pseudo = lighting_pseudo_label(images)
    agree_all = float((pseudo == truth).float().mean())
    clear = (az.abs() <= 10) | (az.abs() >= 30)  # at least 10 degrees from a class border
    agree_clear = float((pseudo[clear] == truth[clear]).float().mean())
    best_t, best_agree = calibrate_threshold(images, truth)
    with capsys.disabled():
        print(
            f"\npseudo-label vs true light_class on {n} Lambert faces: "
            f"agreement {agree_all:.3f} (all), {agree_clear:.3f} (clear lights, "
            f"{int(clear.sum())} faces); calibrated threshold {best_t:.3f} -> {best_agree:.3f}"
        )
    assert agree_clear >= 0.9
    assert agree_all >= 0.8
    assert best_agree >= agree_all


def test_pseudo_label_on_the_synthetic_renderer(capsys):
    """The same agreement measured on sepviz's own synthetic faces, where the light is known."""
    from sepviz.data.synthetic import make_faces

    faces = make_faces(600, size=32, seed=0)
    az, truth = faces.factors["azimuth"], faces.factors["light_class"]
    _, pseudo = lighting_pseudo_label(faces.images)
    clear = (az.abs() <= 10) | ((az.abs() >= 30) & (az.abs() <= 60))
    agree_all = float((pseudo == truth).float().mean())
    agree_clear = float((pseudo[clear] == truth[clear]).float().mean())
    best_t, best_agree = calibrate_threshold(faces.images, truth)
    _, calibrated = lighting_pseudo_label(faces.images, threshold=best_t)
    calibrated_clear = float((calibrated[clear] == truth[clear]).float().mean())
    with capsys.disabled():
        print(
            f"\npseudo-label vs light_class on {len(faces)} make_faces faces: agreement "
            f"{agree_all:.3f} (all), {agree_clear:.3f} (clear lights); calibrated threshold "
            f"{best_t:.3f} -> {best_agree:.3f} (all), {calibrated_clear:.3f} (clear)"
        )
    assert calibrated_clear >= 0.8


# --------------------------------------------------------------------------- Yale B


def test_parse_yale_name_sign_convention():
    # A+ = light on the subject's right = the image's LEFT -> sepviz azimuth negative.
    assert parse_yale_name("yaleB01_P00A+010E+00.pgm") == ("yaleB01", -10.0, 0.0)
    assert parse_yale_name("yaleB39_P00A-130E+20.pgm") == ("yaleB39", 130.0, 20.0)
    parsed = parse_yale_name("some/dir/yaleB05_P00A+000E-35.pgm")
    assert parsed == ("yaleB05", 0.0, -35.0) and math.copysign(1, parsed[1]) == 1
    assert parse_yale_name("yaleB01_P00_Ambient.pgm") is None
    for bad in ("yaleB01_P00A10E00.pgm", "face.pgm", "yaleB01_P00A+010E+00.png", "yaleB01"):
        with pytest.raises(ValueError, match="naming scheme"):
            parse_yale_name(bad)


def test_load_yale_b_folder(yale_dir: Path):
    with pytest.warns(SkippedFilesWarning) as record:
        faces = load_yale_b(yale_dir, size=32)
    messages = " ".join(str(w.message) for w in record)
    assert "Ambient" in messages and "yaleB01_P00_Ambient.pgm" in messages
    assert "yaleB01_P00.info" in messages  # non-PGM files are reported, not silently dropped
    assert len(faces) == 14 and faces.images.shape == (14, 3, 32, 32)
    assert faces.images.dtype == torch.float32
    assert 0 <= float(faces.images.min()) and float(faces.images.max()) <= 1
    assert torch.equal(faces.images[:, 0], faces.images[:, 2])
    assert faces.names == sorted(faces.names)
    assert faces.factors["identity"].dtype == torch.int64
    assert faces.factors["identity"].tolist() == [0] * 7 + [1] * 7
    assert faces.factors["azimuth"].dtype == torch.float32
    assert faces.factors["elevation"].dtype == torch.float32
    i = faces.names.index("yaleB01_P00A+010E+00.pgm")
    assert float(faces.factors["azimuth"][i]) == -10.0
    j = faces.names.index("yaleB02_P00A-130E+20.pgm")
    assert float(faces.factors["azimuth"][j]) == 130.0
    assert float(faces.factors["elevation"][j]) == 20.0
    assert int(faces.factors["light_class"][j]) == 2
    assert torch.equal(faces.factors["light_class"], light_class(faces.factors["azimuth"]))
    # the generated files are brighter on the side of the light: the pseudo-label must agree
    _, pseudo = lighting_pseudo_label(faces.images)
    assert torch.equal(pseudo, faces.factors["light_class"])


def test_load_yale_b_zip_sha256_and_ambient(yale_dir: Path, tmp_path: Path):
    archive = zip_folder(yale_dir, tmp_path / "CroppedYale.zip")
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    with pytest.warns(SkippedFilesWarning):
        from_folder = load_yale_b(yale_dir, size=24)
    with pytest.warns(SkippedFilesWarning):
        from_zip = load_yale_b(archive, size=24, sha256=digest.upper())
    assert from_zip.names == from_folder.names
    assert torch.equal(from_zip.images, from_folder.images)
    for k in from_folder.factors:
        assert torch.equal(from_zip.factors[k], from_folder.factors[k])

    wrong = "0" * 64
    with pytest.raises(ValueError, match="SHA-256 mismatch") as err:
        load_yale_b(archive, sha256=wrong)
    assert wrong in str(err.value) and digest in str(err.value)
    with pytest.raises(ValueError, match="folder"):
        load_yale_b(yale_dir, sha256=digest)

    with pytest.warns(SkippedFilesWarning) as record:
        lit, amb = load_yale_b(archive, size=24, return_ambient=True)
    assert not any("ambient" in str(w.message).lower() for w in record)
    assert len(lit) == 14 and len(amb) == 2
    assert amb.names == ["yaleB01_P00_Ambient.pgm", "yaleB02_P00_Ambient.pgm"]
    assert amb.factors["identity"].tolist() == [0, 1]
    assert set(amb.factors) == {"identity"}


def test_load_yale_b_subjects_bad_files_and_errors(yale_dir: Path, tmp_path: Path):
    (yale_dir / "yaleB01" / "yaleB01_P00A+050E-40.pgm.bad").write_bytes(b"P5 junk")
    with pytest.warns(SkippedFilesWarning, match=r"\.bad"):
        faces = load_yale_b(yale_dir, size=16, subjects=[2])
    assert len(faces) == 7 and set(faces.factors["identity"].tolist()) == {0}
    assert all(n.startswith("yaleB02") for n in faces.names)
    with pytest.raises(ValueError, match="subjects"):
        load_yale_b(yale_dir, subjects=["bob"])
    with pytest.raises(ValueError, match=r"subjects \['yaleB07'\] are not in"):
        load_yale_b(yale_dir, subjects=[2, 7])

    # missing data: explains where it comes from
    with pytest.raises(FileNotFoundError, match="Extended Yale") as err:
        load_yale_b(tmp_path / "nowhere")
    assert "CroppedYale.zip" in str(err.value)
    # empty folder
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no Yale B images"):
        load_yale_b(tmp_path / "empty")
    # a file that is not a zip
    (tmp_path / "fake.zip").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a valid zip"):
        load_yale_b(tmp_path / "fake.zip")

    # a corrupted image is named in the error; errors='warn' skips and reports it
    broken = yale_dir / "yaleB02" / "yaleB02_P00A+035E-20.pgm"
    broken.write_bytes(b"P5\n168 192\n255\n" + b"\x00" * 100)  # truncated
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkippedFilesWarning)
        with pytest.raises(ValueError, match=r"yaleB02_P00A\+035E-20\.pgm"):
            load_yale_b(yale_dir, size=16)
    with pytest.warns(SkippedFilesWarning, match=r"unreadable.*yaleB02_P00A\+035E-20"):
        faces = load_yale_b(yale_dir, size=16, errors="warn")
    assert len(faces) == 13 and "yaleB02_P00A+035E-20.pgm" not in faces.names


def test_load_yale_b_reports_unnamed_pgm_and_resizes_odd_sizes(tmp_path: Path):
    folder = write_yale(tmp_path / "y", subjects=(3,), lights=[(0, 0), (25, 0)], h=100, w=60)
    Image.new("L", (30, 30)).save(folder / "notes.pgm")
    copy = folder / "copy"
    copy.mkdir()
    (copy / "yaleB03_P00A+025E+00.pgm").write_bytes(
        (folder / "yaleB03" / "yaleB03_P00A+025E+00.pgm").read_bytes()
    )
    with pytest.warns(SkippedFilesWarning) as record:
        faces = load_yale_b(folder, size=40)
    text = " ".join(str(w.message) for w in record)
    assert "notes.pgm" in text and "same name" in text and "yaleB03_P00A+025E+00.pgm" in text
    assert faces.images.shape == (2, 3, 40, 40)


def test_load_yale_b_damaged_zip_member_is_named(yale_dir: Path, tmp_path: Path):
    archive = zip_folder(yale_dir, tmp_path / "CroppedYale.zip")
    data = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as zf:
        info = zf.getinfo("CroppedYale/yaleB01/yaleB01_P00A+010E+00.pgm")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start + 200 : start + 260] = b"\xff" * 60  # corrupt the stored bytes: CRC fails
    archive.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"yaleB01_P00A\+010E\+00\.pgm"):
        load_yale_b(archive, size=16)


# --------------------------------------------------------------------------- LFW


def test_load_lfw_offline_gives_a_clear_error(tmp_path: Path):
    with pytest.raises(RuntimeError, match="LFW is not available") as err:
        load_lfw(data_home=tmp_path, download=False)
    message = str(err.value)
    assert "download=False" in message and "scikit-learn said" in message
    assert isinstance(err.value.__cause__, OSError)


def test_load_lfw_download_failure_and_conversion(monkeypatch, tmp_path: Path):
    import sklearn.datasets

    def offline(**kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(sklearn.datasets, "fetch_lfw_people", offline)
    with pytest.raises(RuntimeError, match="internet.*Colab"):
        load_lfw(data_home=tmp_path)

    seen = {}

    def fake(**kwargs):
        seen.update(kwargs)
        rng = np.random.default_rng(0)
        from sklearn.utils import Bunch

        images = rng.random((5, 85, 64, 3), dtype=np.float32)
        return Bunch(
            images=images,
            target=np.array([1, 0, 1, 1, 0]),
            target_names=np.array(["Ada Lovelace", "Alan Turing"]),
        )

    monkeypatch.setattr(sklearn.datasets, "fetch_lfw_people", fake)
    faces = load_lfw(size=48, data_home=tmp_path)
    assert seen["color"] is True and seen["download_if_missing"] is True
    assert faces.images.shape == (5, 3, 48, 48) and faces.images.dtype == torch.float32
    assert faces.factors["identity"].tolist() == [1, 0, 1, 1, 0]
    assert faces.names[:3] == ["Alan_Turing_0", "Ada_Lovelace_0", "Alan_Turing_1"]
    assert {"light_score", "light_class"} <= set(faces.factors)


# --------------------------------------------------------------------------- own photos


def test_load_folder_conversions(tmp_path: Path):
    rgb = np.zeros((40, 60, 3), dtype=np.uint8)
    rgb[:, :30] = 220  # left half bright
    Image.fromarray(rgb).save(tmp_path / "a_colour.jpg", quality=95)
    grey = np.tile(np.linspace(0, 255, 50).astype(np.uint8), (50, 1))
    Image.fromarray(grey, "L").save(tmp_path / "b_grey.png")
    deep = (np.tile(np.linspace(0, 65535, 20), (20, 1))).astype(np.uint16)
    Image.fromarray(deep).save(tmp_path / "c_16bit.png")
    Image.new("RGBA", (16, 16), (255, 0, 0, 0)).save(tmp_path / "d_alpha.PNG")
    (tmp_path / "notes.txt").write_text("not an image")

    with pytest.warns(SkippedFilesWarning, match="notes.txt"):
        faces = load_folder(tmp_path, size=32)
    assert faces.names == ["a_colour.jpg", "b_grey.png", "c_16bit.png", "d_alpha.PNG"]
    assert faces.images.shape == (4, 3, 32, 32) and faces.images.dtype == torch.float32
    assert 0 <= float(faces.images.min()) and float(faces.images.max()) <= 1
    g = faces.images[1]
    assert torch.equal(g[0], g[1]) and torch.equal(g[1], g[2])  # grey -> 3 equal channels
    assert float(g[0, :, -1].mean()) > 0.9 and float(g[0, :, 0].mean()) < 0.1
    deep_img = faces.images[2]
    assert float(deep_img.max()) > 0.95 and float(deep_img.min()) < 0.05  # 16-bit scaled
    assert torch.allclose(faces.images[3][0], torch.ones(32, 32), atol=1e-3)  # alpha dropped
    assert int(faces.factors["light_class"][0]) == 0  # bright left -> light from the left
    assert load_folder(tmp_path, size=16, pseudo_labels=False).factors == {}


def test_load_folder_errors(tmp_path: Path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no image files.*empty"):
        load_folder(tmp_path / "empty")
    with pytest.raises(FileNotFoundError):
        load_folder(tmp_path / "missing")

    photos = tmp_path / "photos"
    (photos / "sub").mkdir(parents=True)
    Image.new("RGB", (20, 20), (10, 200, 30)).save(photos / "sub" / "x.png")
    with pytest.raises(ValueError, match="recursive=True"):
        load_folder(photos)
    assert load_folder(photos, recursive=True, size=8).names == ["sub/x.png"]
    with pytest.raises(ValueError, match="must be a folder"):
        load_folder(photos / "sub" / "x.png")

    Image.new("RGB", (30, 20), (200, 10, 10)).save(photos / "good.png")
    rng = np.random.default_rng(0)
    (photos / "broken.png").write_bytes(rng.bytes(500))  # random bytes: not a PNG
    with pytest.raises(ValueError, match="broken.png"):
        load_folder(photos)
    with pytest.warns(SkippedFilesWarning, match="broken.png"):
        faces = load_folder(photos, size=8, errors="warn")
    assert faces.names == ["good.png"]
    with pytest.raises(ValueError, match="errors"):
        load_folder(photos, errors="ignore")
    with pytest.raises(ValueError, match="size"):
        load_folder(photos, size=2)

    images, names = read_folder(photos, errors="warn")  # full size, no resize
    assert names == ["good.png"] and images[0].shape == (3, 20, 30)


def test_image_to_tensor_applies_exif_orientation(tmp_path: Path):
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: "rotate 90 degrees clockwise to display"
    Image.new("RGB", (40, 20), (255, 255, 255)).save(tmp_path / "phone.jpg", exif=exif)
    with Image.open(tmp_path / "phone.jpg") as img:
        assert image_to_tensor(img, exif=False).shape == (3, 20, 40)
        assert image_to_tensor(img, exif=True).shape == (3, 40, 20)


def test_resize_square_centre_crops():
    x = torch.zeros(1, 3, 20, 40)
    x[..., 10:30] = 1.0  # the central square is white, the sides black
    out = resize_square(x, 10)
    assert out.shape == (1, 3, 10, 10) and torch.allclose(out, torch.ones_like(out))


# --------------------------------------------------------------------------- downloader


def test_download_file_url_checks_sha256(tmp_path: Path):
    src = tmp_path / "source.bin"
    payload = b"sepviz test payload " * 1000
    src.write_bytes(payload)
    good = hashlib.sha256(payload).hexdigest()
    dest = tmp_path / "cache" / "copy.bin"

    out = download(src.as_uri(), dest, sha256=good, progress=False)
    assert out == dest and dest.read_bytes() == payload
    assert sha256_of(dest) == good
    verify_sha256(dest, good)
    # already there with the right hash: no download (the URL does not even exist)
    assert download((tmp_path / "gone.bin").as_uri(), dest, sha256=good, progress=False) == dest

    bad_dest = tmp_path / "cache" / "bad.bin"
    wrong = "f" * 64
    with pytest.raises(ValueError, match="SHA-256 mismatch") as err:
        download(src.as_uri(), bad_dest, sha256=wrong, progress=True)
    assert wrong in str(err.value) and good in str(err.value)
    assert not bad_dest.exists()
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["copy.bin"]  # no .part

    with pytest.raises(ValueError, match="64 hexadecimal"):
        download(src.as_uri(), bad_dest, sha256="abc")
    with pytest.raises(OSError, match="could not download"):
        download((tmp_path / "missing.bin").as_uri(), bad_dest, sha256=good, progress=False)
    assert not bad_dest.exists()
    with pytest.raises(ValueError, match="mismatch"):
        verify_sha256(src, wrong)


def test_sha256_of_known_value(tmp_path: Path):
    p = tmp_path / "abc.txt"
    p.write_bytes(b"abc")
    assert sha256_of(p) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    with pytest.raises(FileNotFoundError):
        sha256_of(tmp_path / "nope")
