"""Bring MathJax 3 into `_extra/mathjax/` so the book typesets its math offline (`make ort`).

`npm pack mathjax@VERSION` in a temporary folder, check the tarball's SHA-256 against the
pinned one below, and extract the one component the pages load, `es5/tex-chtml-full.js` (TeX
input with every TeX extension built in, so it loads no extension at read time; CommonHTML
output), and the woff-v2 fonts that output asks for. MathJax finds its fonts next to its own
script (`[mathjax]/output/chtml/fonts/woff-v2/`), so the folder keeps the package's layout
below `es5/`. Sphinx copies `_extra/` to the site's root (`html_extra_path` in `_config.yml`)
and `tools/sepviz_site.py` points `mathjax_path` at `mathjax/tex-chtml-full.js` when it is
there: no CDN at read time.

Where npm is missing or fails, this prints a warning and exits 0: the book then loads MathJax
from Sphinx's default CDN. A tarball whose SHA-256 differs is refused (exit 1). Nothing is
downloaded when the files are already there.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tarfile
from pathlib import Path

# fetch_ort.py beside this file: run as a script, as a Sphinx extension's import or by path
sys.path.insert(0, str(Path(__file__).resolve().parent))
from fetch_ort import npm_fetch, sha256  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEST = ROOT / "_extra" / "mathjax"
VERSION = "3.2.2"
PACKAGE = f"mathjax@{VERSION}"
# sha256 of mathjax-3.2.2.tgz as the npm registry serves it (its sha512 integrity
# Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw==
# was checked against the same file when this was written).
SHA256 = "1b9c0a1c44df864e915690558e72adb9cc5203360daefd385084ced3b6c64c09"
SCRIPT = "tex-chtml-full.js"
"""The component, relative to the package's `es5/` (and to DEST)."""
FONTS = "output/chtml/fonts/woff-v2"
"""The CommonHTML output's fonts, relative to `es5/` (and to DEST)."""


def have_files(dest: Path = DEST) -> bool:
    script = dest / SCRIPT
    fonts = dest / FONTS
    return (
        script.is_file()
        and script.stat().st_size > 0
        and fonts.is_dir()
        and any(fonts.glob("MathJax_Main-Regular.woff"))
    )


def _wanted(name: str) -> str | None:
    """``name``'s path below DEST when the tarball member is one to extract, else None."""
    prefix = "package/es5/"
    if not name.startswith(prefix):
        return None
    rel = name[len(prefix) :]
    if rel == SCRIPT:
        return rel
    folder, _, leaf = rel.rpartition("/")
    if folder == FONTS and leaf.endswith(".woff") and "/" not in leaf and not leaf.startswith("."):
        return rel
    return None


def extract(tarball: Path, dest: Path = DEST, expected: str = SHA256) -> list[Path]:
    """Check ``tarball``'s SHA-256, then copy ``package/es5/<SCRIPT>`` and the fonts in
    ``package/es5/<FONTS>/`` into ``dest`` (same layout below it).

    Raises:
        ValueError: the checksum differs, or the script or the fonts are missing from the
            tarball (nothing is written then).
    """
    got = sha256(tarball)
    if got != expected:
        raise ValueError(f"{tarball.name}: SHA-256 {got} != the pinned {expected}; refused")
    with tarfile.open(tarball, "r:gz") as tar:
        members = {}
        for member in tar.getmembers():
            rel = _wanted(member.name)
            if rel is not None and member.isfile():
                members[rel] = member
        if SCRIPT not in members:
            raise ValueError(f"{tarball.name} has no package/es5/{SCRIPT}")
        if f"{FONTS}/MathJax_Main-Regular.woff" not in members:
            raise ValueError(f"{tarball.name} has no fonts in package/es5/{FONTS}")
        written = []
        for rel, member in sorted(members.items()):
            source = tar.extractfile(member)
            assert source is not None
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            part = target.with_name(f".{target.name}.part")
            with source, open(part, "wb") as out:
                shutil.copyfileobj(source, out)
            part.replace(target)
            written.append(target)
    return written


def warn(message: str) -> None:
    print(
        f"WARNING: fetch_mathjax: {message}; the book loads MathJax from its CDN", file=sys.stderr
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=DEST, help="where the files go")
    parser.add_argument("--force", action="store_true", help="download even if present")
    args = parser.parse_args(argv)
    if have_files(args.dest) and not args.force:
        print(f"fetch_mathjax: {PACKAGE} already in {args.dest}")
        return 0
    return npm_fetch(PACKAGE, args.dest, extract, "fetch_mathjax", warn)


if __name__ == "__main__":
    sys.exit(main())
