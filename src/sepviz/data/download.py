"""A small downloader that checks a SHA-256 before a file is ever used.

Nothing here runs at import time. :func:`download` streams a URL (``https://``, ``http://`` or
``file://``) to a temporary file next to ``dest``, hashes it while it streams, and only renames
it to ``dest`` when the hash matches: a failed or tampered download never leaves a file that a
later run would trust. The tests use ``file://`` URLs on local fixtures, so they run offline.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
_CHUNK = 1 << 20


def sha256_of(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of a file's bytes as 64 lowercase hex digits (read in 1 MiB chunks)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"sha256_of: no file at {path}")
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_sha256(sha256: str, name: str = "sha256") -> str:
    """Return ``sha256`` lower-cased; ``ValueError`` unless it is 64 hex digits."""
    if not isinstance(sha256, str) or not _HEX64.match(sha256.strip()):
        raise ValueError(f"{name} must be 64 hexadecimal digits (a SHA-256), got {sha256!r}")
    return sha256.strip().lower()


def verify_sha256(path: str | os.PathLike[str], sha256: str) -> None:
    """Raise ``ValueError`` naming the file and both hashes unless ``path`` hashes to ``sha256``."""
    expected = check_sha256(sha256)
    actual = sha256_of(path)
    if actual != expected:
        raise ValueError(
            f"SHA-256 mismatch for {path}: expected {expected}, got {actual}. "
            "The file is corrupted, incomplete or a different version."
        )


def download(
    url: str,
    dest: str | os.PathLike[str],
    sha256: str,
    progress: bool = True,
    timeout: float = 60.0,
) -> Path:
    """Download ``url`` to ``dest`` and check its SHA-256; return ``dest`` as a ``Path``.

    Args:
        url: ``https://``, ``http://`` or ``file://`` address.
        dest: the file to write (its folder is created). If it already exists with the right
            hash nothing is downloaded; with a wrong hash it is downloaded again.
        sha256: the expected SHA-256 (64 hex digits, any case). Required: an unverified file is
            never written to ``dest``.
        progress: show a ``tqdm.auto`` progress bar.
        timeout: seconds to wait for the server before giving up.

    Raises:
        ValueError: ``sha256`` is not 64 hex digits, or the downloaded bytes hash to something
            else (the message gives both hashes; the partial file is deleted, ``dest`` is not
            touched).
        OSError: the URL could not be read (no network, 404, ...), with the URL in the message.
    """
    expected = check_sha256(sha256)
    dest = Path(dest)
    if dest.is_dir():
        raise ValueError(f"dest must be a file path, got the folder {dest}")
    if dest.is_file() and sha256_of(dest) == expected:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)

    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    try:
        try:
            response = urllib.request.urlopen(url, timeout=timeout)
        except (urllib.error.URLError, OSError, ValueError) as err:
            raise OSError(
                f"could not download {url}: {getattr(err, 'reason', err)}. "
                "Check the address and your network connection (this needs internet access)."
            ) from err
        with response, os.fdopen(fd, "wb") as out:
            fd = -1
            total = response.headers.get("Content-Length") if response.headers else None
            bar = None
            if progress:
                from tqdm.auto import tqdm

                bar = tqdm(
                    total=int(total) if total and total.isdigit() else None,
                    unit="B",
                    unit_scale=True,
                    desc=dest.name,
                    leave=False,
                )
            try:
                for chunk in iter(lambda: response.read(_CHUNK), b""):
                    out.write(chunk)
                    digest.update(chunk)
                    if bar is not None:
                        bar.update(len(chunk))
            finally:
                if bar is not None:
                    bar.close()
        actual = digest.hexdigest()
        if actual != expected:
            raise ValueError(
                f"SHA-256 mismatch for {url}: expected {expected}, got {actual}. "
                "The download was deleted; the file on the server differs from the one "
                "this code expects (corrupted, truncated or changed)."
            )
        os.replace(tmp, dest)
    finally:
        if fd != -1:
            os.close(fd)
        if tmp.exists():
            tmp.unlink()
    return dest
