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
