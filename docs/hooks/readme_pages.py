"""MkDocs hook: the user guide pages are the sections of the repository's README.md.

README.md stays the one source of the user documentation; each of its ``## `` sections
becomes one page (headings moved up one level), so the site can never disagree with it.
A README section that has no page below is a warning, which fails ``mkdocs build
--strict``: add it to ``PAGES`` and to the ``nav`` of mkdocs.yml.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from mkdocs.structure.files import File

log = logging.getLogger("mkdocs.hooks.readme_pages")

README = Path(__file__).resolve().parents[2] / "README.md"

# README section title -> page; None is the text above the first section (the home page).
PAGES = {
    None: "index.md",
    "Quick start": "index.md",
    "Python API": "guide/python-api.md",
    "Data contract and policies": "guide/data-contract.md",
    "Customer covariates in BTYD models": "guide/covariates.md",
    "Where your data lives": "guide/data-sources.md",
    "Campaign targeting": "guide/targeting.md",
    "Reports": "guide/reports.md",
    "Notebooks": "guide/notebooks.md",
    "Command line": "guide/cli.md",
    "Scoring at scale and reliability": "guide/scoring-at-scale.md",
    "Where models and runs go": "guide/models-and-runs.md",
    "How the churn model is trained and evaluated": "guide/churn-model.md",
    "Comparing models": "guide/comparing-models.md",
    "Performance": "guide/performance.md",
    "How cxml compares": "guide/comparison.md",
    "Development": "guide/development.md",
}

_FENCE = re.compile(r"^\s*(```|~~~)")


def split_readme(text: str) -> dict[str | None, list[str]]:
    """README lines grouped by ``## `` section (fenced code blocks left alone)."""
    sections: dict[str | None, list[str]] = {None: []}
    current: str | None = None
    in_code = False
    for line in text.splitlines():
        if _FENCE.match(line):
            in_code = not in_code
        if not in_code and line.startswith("## "):
            current = line[3:].strip()
            sections[current] = []
        sections[current].append(line)
    return sections


def _promote(lines: list[str], levels: int) -> list[str]:
    """Headings ``levels`` levels up (``## A`` -> ``# A`` for 1), outside code blocks."""
    out, in_code = [], False
    for line in lines:
        if _FENCE.match(line):
            in_code = not in_code
        if not in_code and re.match(r"#{2,6} ", line):
            line = line[levels:]
        out.append(line)
    return out


def on_files(files, config):
    sections = split_readme(README.read_text(encoding="utf-8"))
    pages: dict[str, list[str]] = {}
    for title, lines in sections.items():
        page = PAGES.get(title)
        if page is None:
            log.warning("README section %r has no page in docs/hooks/readme_pages.py", title)
            continue
        # the home page keeps README's title and its sections as they are
        body = lines if page == "index.md" else _promote(lines, 1)
        pages.setdefault(page, []).extend(body + [""])
    for page, lines in pages.items():
        files.append(File.generated(config, page, content="\n".join(lines)))
    return files
