"""Sphinx extension of the book (`sphinx: local_extensions` in `_config.yml`): a site that
stands alone.

- MathJax from the site itself: where `tools/fetch_mathjax.py` has put MathJax into
  `_extra/mathjax/` (copied to the site's root by `html_extra_path`), `mathjax_path` points
  there. Sphinx reads a relative `mathjax_path` from the site's `_static/` and writes it
  relative to each page (`_static/../mathjax/...` at the root, `../_static/../mathjax/...` in
  `book/`); MathJax loads its fonts next to its own script.
  Without it (no npm), Sphinx's default CDN stays.
- Each inline script once: Sphinx 7.4 adds a body-only script registered after the builder
  started (sphinx-thebe's `const THEBE_JS_URL = ...`, sphinx-togglebutton's selector) twice,
  once as registered (file name None) and once more from the registry when writing starts
  (file name ""), and a second `const` declaration is a page error. Each page's scripts are
  deduplicated here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fetch_mathjax

MATHJAX_PATH = f"../mathjax/{fetch_mathjax.SCRIPT}"
"""Where the pages load MathJax from, relative to the site's `_static/` (as Sphinx reads it)."""


def use_local_mathjax(app: Any, config: Any) -> None:
    extra = Path(app.confdir) / "_extra"
    if fetch_mathjax.have_files(extra / "mathjax"):
        config.mathjax_path = MATHJAX_PATH


def _key(script: Any) -> tuple[str, int, tuple[tuple[str, str], ...]]:
    attributes = getattr(script, "attributes", {}) or {}
    filename = getattr(script, "filename", str(script)) or ""
    return filename, getattr(script, "priority", 500), tuple(sorted(attributes.items()))


def each_script_once(
    app: Any, pagename: str, templatename: str, context: dict, doctree: Any
) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple[str, int, tuple[tuple[str, str], ...]]] = set()
    unique = []
    for script in scripts:
        key = _key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def setup(app: Any) -> dict[str, Any]:
    app.connect("config-inited", use_local_mathjax)
    # after every extension's own additions to the page (myst-nb's run at the default 500)
    app.connect("html-page-context", each_script_once, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
