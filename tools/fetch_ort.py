"""Bring onnxruntime-web into `_extra/ort/` for the book's live sliders (`make ort`).

`npm pack onnxruntime-web@VERSION` in a temporary folder, check the tarball's SHA-256 against
the pinned one below, and extract the three files the wasm backend needs: the script
(`ort.wasm.min.js`, defines the global `ort`), the wasm binary and its loader module. Sphinx
copies `_extra/` to the site's root (`html_extra_path` in `_config.yml`), so the pages load
them from `ort/` on their own server: no CDN at read time. (Not `_static/`: Jupyter Book adds
every script there to every page.)

Where npm is missing or fails, this prints a warning and exits 0: the book then builds with
the precomputed (static) sliders only. A tarball whose SHA-256 differs is refused (exit 1).
Nothing is downloaded when the files are already there.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEST = ROOT / "_extra" / "ort"
VERSION = "1.30.0"
PACKAGE = f"onnxruntime-web@{VERSION}"
# sha256 of onnxruntime-web-1.30.0.tgz as the npm registry serves it (its sha512 integrity
# q0y+JrrtukXSzsBWEMccVfqX25LRmosXHF+CaRJmg8pZClzcV7svNc4rKY3jL02Vb7QmRMDs1SigqR4CXAfKYQ==
# was checked against the same file when this was written).
SHA256 = "d2228df7e4616bc3348bf504ee888f3bec43789a273f0a63f3e68d203ce3bf71"
FILES = ("ort.wasm.min.js", "ort-wasm-simd-threaded.wasm", "ort-wasm-simd-threaded.mjs")


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def have_files(dest: Path = DEST) -> bool:
    return all((dest / name).is_file() and (dest / name).stat().st_size > 0 for name in FILES)


def extract(tarball: Path, dest: Path = DEST, expected: str = SHA256) -> list[Path]:
    """Check ``tarball``'s SHA-256, then copy ``package/dist/<FILES>`` into ``dest``.

    Raises:
        ValueError: the checksum differs, or a file is missing from the tarball (nothing is
            written then).
    """
    got = sha256(tarball)
    if got != expected:
        raise ValueError(f"{tarball.name}: SHA-256 {got} != the pinned {expected}; refused")
    with tarfile.open(tarball, "r:gz") as tar:
        members = {}
        for name in FILES:
            try:
                member = tar.getmember(f"package/dist/{name}")
            except KeyError:
                raise ValueError(f"{tarball.name} has no package/dist/{name}") from None
            if not member.isfile():
                raise ValueError(f"{tarball.name}: package/dist/{name} is not a regular file")
            members[name] = member
        dest.mkdir(parents=True, exist_ok=True)
        written = []
        for name, member in members.items():
            source = tar.extractfile(member)
            assert source is not None
            part = dest / f".{name}.part"
            with source, open(part, "wb") as out:
                shutil.copyfileobj(source, out)
            part.replace(dest / name)
            written.append(dest / name)
    return written


def warn(message: str) -> None:
    print(f"WARNING: fetch_ort: {message}; the book gets the static sliders only", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=DEST, help="where the files go")
    parser.add_argument("--force", action="store_true", help="download even if present")
    args = parser.parse_args(argv)
    if have_files(args.dest) and not args.force:
        print(f"fetch_ort: {PACKAGE} already in {args.dest}")
        return 0
    return npm_fetch(PACKAGE, args.dest, extract, "fetch_ort", warn)


def npm_fetch(
    package: str,
    dest: Path,
    extract: Callable[[Path, Path], list[Path]],
    tool: str,
    warn: Callable[[str], None],
) -> int:
    """``npm pack package`` in a temporary folder, then ``extract(tarball, dest)`` (which
    checks the pinned SHA-256): the exit status of a fetch tool. Without npm, or when the pack
    fails, ``warn`` says so and it returns 0 (the book builds without the files); a tarball
    ``extract`` refuses returns 1. Shared by ``fetch_ort.py`` and ``fetch_mathjax.py``."""
    npm = shutil.which("npm")
    if npm is None:
        warn("npm is not installed")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        try:
            proc = subprocess.run(
                [npm, "pack", package, "--silent"],
                cwd=tmp,
                capture_output=True,
                text=True,
                timeout=900,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            warn(f"npm pack {package} failed ({error})")
            return 0
        tarballs = sorted(Path(tmp).glob("*.tgz"))
        if proc.returncode != 0 or len(tarballs) != 1:
            warn(f"npm pack {package} failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
            return 0
        try:
            written = extract(tarballs[0], dest)
        except ValueError as error:
            print(f"ERROR: {tool}: {error}", file=sys.stderr)
            return 1
    size = sum(p.stat().st_size for p in written)
    print(f"{tool}: {package} -> {dest} ({len(written)} files, {size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
