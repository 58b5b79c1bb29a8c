"""ONNX export: onnxruntime (Python) gives torch's outputs on random inputs, in small files."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch
from torch import nn

from sepviz.export import onnx_bytes, run_onnx, to_onnx
from sepviz.models import FaderNet, MultiDecoder

needs_onnx = pytest.mark.skipif(
    not all(importlib.util.find_spec(m) for m in ("onnx", "onnxruntime")),
    reason="needs onnx and onnxruntime (requirements.txt)",
)

TOL = 1e-5
MAX_BYTES = 1_000_000  # a 16 px model is a few hundred KB per file


def _close(a: object, b: torch.Tensor) -> float:
    return float((torch.as_tensor(a) - b).abs().max())


@needs_onnx
def test_fadernet_encoder_and_decoder_match_torch(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = FaderNet(image_size=16, latent_dim=8)
    model.train()  # the export uses eval mode and leaves the model's mode alone
    paths = to_onnx(model, tmp_path / "fader")
    assert set(paths) == {"encoder", "decoder"} and model.training
    for path in paths.values():
        assert path.exists() and 0 < path.stat().st_size < MAX_BYTES
    model.eval()
    for n in (1, 5):  # the batch axis is dynamic
        x = torch.rand(n, 3, 16, 16)
        y = torch.empty(n, 1).uniform_(-2, 2)  # beyond [-1, 1] too
        with torch.no_grad():
            z = model.encoder(x)
            out = model.decoder(z, y)
        assert _close(run_onnx(paths["encoder"], x=x.numpy()), z) < TOL
        assert _close(run_onnx(paths["decoder"], z=z.numpy(), y=y.numpy()), out) < TOL


@needs_onnx
def test_multidecoder_encoder_and_each_decoder_match_torch(tmp_path: Path) -> None:
    torch.manual_seed(1)
    model = MultiDecoder(image_size=16, latent_dim=8).eval()
    paths = to_onnx(model, tmp_path)
    assert list(paths) == ["encoder"] + [f"decoder_{c}" for c in model.classes]
    x = torch.rand(3, 3, 16, 16)
    with torch.no_grad():
        z = model.shared_encoder(x)
    assert _close(run_onnx(paths["encoder"], x=x.numpy()), z) < TOL
    for name in model.classes:
        path = paths[f"decoder_{name}"]
        assert path.name == f"decoder_{name}.onnx" and path.stat().st_size < MAX_BYTES
        with torch.no_grad():
            expected = model.decoders[name](z)
        assert _close(run_onnx(path, z=z.numpy()), expected) < TOL


@needs_onnx
def test_onnx_bytes_runs_from_memory() -> None:
    model = FaderNet(image_size=16, latent_dim=8).eval()
    files = onnx_bytes(model)
    z, y = torch.randn(2, 8), torch.full((2, 1), 0.5)
    with torch.no_grad():
        expected = model.decoder(z, y)
    assert _close(run_onnx(files["decoder"], z=z.numpy(), y=y.numpy()), expected) < TOL


def test_unsupported_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="FaderNet or a shared-encoder model"):
        to_onnx(nn.Linear(2, 2), tmp_path)


# -- tools/fetch_ort.py: onnxruntime-web for the site, checked by SHA-256 (no network here) ----
def _fetch_ort() -> object:
    path = Path(__file__).resolve().parents[1] / "tools" / "fetch_ort.py"
    spec = importlib.util.spec_from_file_location("fetch_ort", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fixture_tarball(path: Path, names: tuple[str, ...]) -> Path:
    """An npm-pack-like .tgz: package/dist/<name> holding b"<name>" for each name."""
    import io
    import tarfile

    with tarfile.open(path, "w:gz") as tar:
        for name in names:
            data = name.encode()
            info = tarfile.TarInfo(f"package/dist/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_fetch_ort_extracts_a_tarball_with_the_pinned_sha256(tmp_path: Path) -> None:
    fetch = _fetch_ort()
    tarball = _fixture_tarball(tmp_path / "ort.tgz", (*fetch.FILES, "ort.all.js"))
    digest = fetch.sha256(tarball)
    dest = tmp_path / "_extra" / "ort"
    written = fetch.extract(tarball, dest, expected=digest)
    assert sorted(p.name for p in written) == sorted(fetch.FILES)
    assert sorted(p.name for p in dest.iterdir()) == sorted(fetch.FILES)  # only those three
    assert (dest / "ort.wasm.min.js").read_bytes() == b"ort.wasm.min.js"
    assert fetch.have_files(dest)
    assert fetch.main(["--dest", str(dest)]) == 0  # present: nothing downloaded
    assert len(fetch.SHA256) == 64 and fetch.VERSION == "1.30.0"


def test_fetch_ort_refuses_a_tarball_with_another_sha256(tmp_path: Path) -> None:
    fetch = _fetch_ort()
    tarball = _fixture_tarball(tmp_path / "ort.tgz", fetch.FILES)
    dest = tmp_path / "ort"
    with pytest.raises(ValueError, match="SHA-256 .* != the pinned"):
        fetch.extract(tarball, dest)  # the real package's checksum: this fixture differs
    assert not dest.exists()
    partial = _fixture_tarball(tmp_path / "partial.tgz", fetch.FILES[:1])
    with pytest.raises(ValueError, match="has no package/dist/ort-wasm"):
        fetch.extract(partial, dest, expected=fetch.sha256(partial))
    assert not dest.exists()


def test_fetch_ort_without_npm_warns_and_succeeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fetch = _fetch_ort()
    monkeypatch.setattr(fetch.shutil, "which", lambda name: None)
    assert fetch.main(["--dest", str(tmp_path / "ort")]) == 0
    assert "npm is not installed" in capsys.readouterr().err
    assert not (tmp_path / "ort").exists()


# -- tools/fetch_mathjax.py: MathJax for the site, checked by SHA-256 (no network here) -------
def _tool(name: str) -> object:
    tools = Path(__file__).resolve().parents[1] / "tools"
    spec = importlib.util.spec_from_file_location(name, tools / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _mathjax_tarball(path: Path, names: tuple[str, ...]) -> Path:
    """An npm-pack-like .tgz: package/<name> holding b"<name>" for each name."""
    import io
    import tarfile

    with tarfile.open(path, "w:gz") as tar:
        for name in names:
            data = name.encode()
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


MATHJAX_FONTS = "es5/output/chtml/fonts/woff-v2"
MATHJAX_WANTED = (
    "es5/tex-chtml-full.js",
    f"{MATHJAX_FONTS}/MathJax_Main-Regular.woff",
    f"{MATHJAX_FONTS}/MathJax_Math-Italic.woff",
)
MATHJAX_OTHERS = (
    "es5/tex-chtml.js",
    "es5/input/tex/extensions/physics.js",
    "es5/output/chtml/fonts/tex.js",
    "ts/output/chtml/fonts/woff-v2/MathJax_Main-Regular.woff",
    "package.json",
)


def test_fetch_mathjax_extracts_the_component_and_its_fonts(tmp_path: Path) -> None:
    fetch = _tool("fetch_mathjax")
    tarball = _mathjax_tarball(tmp_path / "mj.tgz", MATHJAX_WANTED + MATHJAX_OTHERS)
    dest = tmp_path / "_extra" / "mathjax"
    written = fetch.extract(tarball, dest, expected=fetch.sha256(tarball))
    expected = sorted(name.removeprefix("es5/") for name in MATHJAX_WANTED)
    assert sorted(p.relative_to(dest).as_posix() for p in written) == expected
    on_disk = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    assert on_disk == expected  # the package's layout below es5/, nothing else
    assert (dest / "tex-chtml-full.js").read_bytes() == b"es5/tex-chtml-full.js"
    assert fetch.have_files(dest)
    assert fetch.main(["--dest", str(dest)]) == 0  # present: nothing downloaded
    assert len(fetch.SHA256) == 64 and fetch.VERSION == "3.2.2"


def test_fetch_mathjax_refuses_another_sha256_or_a_partial_tarball(tmp_path: Path) -> None:
    fetch = _tool("fetch_mathjax")
    tarball = _mathjax_tarball(tmp_path / "mj.tgz", MATHJAX_WANTED)
    dest = tmp_path / "mathjax"
    with pytest.raises(ValueError, match="SHA-256 .* != the pinned"):
        fetch.extract(tarball, dest)  # the real package's checksum: this fixture differs
    no_fonts = _mathjax_tarball(tmp_path / "no_fonts.tgz", MATHJAX_WANTED[:1])
    with pytest.raises(ValueError, match="has no fonts"):
        fetch.extract(no_fonts, dest, expected=fetch.sha256(no_fonts))
    no_script = _mathjax_tarball(tmp_path / "no_script.tgz", MATHJAX_WANTED[1:])
    with pytest.raises(ValueError, match="has no package/es5/tex-chtml-full.js"):
        fetch.extract(no_script, dest, expected=fetch.sha256(no_script))
    assert not dest.exists()


def test_fetch_mathjax_without_npm_warns_and_succeeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fetch = _tool("fetch_mathjax")
    monkeypatch.setattr(fetch.shutil, "which", lambda name: None)
    assert fetch.main(["--dest", str(tmp_path / "mathjax")]) == 0
    assert "npm is not installed" in capsys.readouterr().err
    assert not (tmp_path / "mathjax").exists()


def test_sepviz_site_local_mathjax_and_each_script_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """tools/sepviz_site.py (the book's Sphinx extension): `mathjax_path` points at the site's
    own MathJax only where it was fetched; a page's scripts are kept once each, the inline
    ones too (Sphinx 7.4 adds those twice, file name None and "")."""
    from types import SimpleNamespace

    from sphinx.builders.html._assets import _JavaScript

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "tools"))
    site = _tool("sepviz_site")
    app = SimpleNamespace(confdir=str(tmp_path))
    config = SimpleNamespace(mathjax_path="https://cdn.example/mathjax.js")
    site.use_local_mathjax(app, config)
    assert config.mathjax_path == "https://cdn.example/mathjax.js"  # not fetched: CDN kept
    fonts = tmp_path / "_extra" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2"
    fonts.mkdir(parents=True)
    (fonts / "MathJax_Main-Regular.woff").write_bytes(b"font")
    (tmp_path / "_extra" / "mathjax" / "tex-chtml-full.js").write_text("// mathjax")
    site.use_local_mathjax(app, config)
    assert config.mathjax_path == "../mathjax/tex-chtml-full.js"  # from _static/

    body = "const THEBE_JS_URL = 1"
    scripts = [
        _JavaScript("_static/a.js", priority=500),
        _JavaScript(None, body=body, priority=500),
        _JavaScript("", body=body, priority=500),
        _JavaScript("", body="var other = 1", priority=500),
        _JavaScript("_static/a.js", priority=500),
    ]
    context = {"script_files": scripts}
    site.each_script_once(None, "page", "page.html", context, None)
    assert context["script_files"] is scripts  # changed in place, as the template reads it
    assert [(s.filename, s.attributes.get("body")) for s in scripts] == [
        ("_static/a.js", None),
        (None, body),
        ("", "var other = 1"),
    ]
