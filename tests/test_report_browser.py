"""The HTML report in headless Chromium: it renders offline, every segment shows, charts draw.

Uses Debian's ``chromium`` (``.ci/run`` installs it when missing); skips only without one.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pytest

from cxml.datasets import load_cdnow
from cxml.pipelines import score
from cxml.reporting import write_report
from cxml.segments import segment_summary

pytestmark = pytest.mark.slow


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _run(browser: str, tmp_path, *args: str) -> subprocess.CompletedProcess:
    # no network for the page: a proxy that does not exist makes any fetch fail
    return subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--proxy-server=127.0.0.1:9",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--enable-logging=stderr",
            "--v=0",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_report_renders_in_headless_chromium(sample_training, tmp_path):
    from PIL import Image

    browser = _chromium()
    if browser is None:
        pytest.skip("no Chromium installed (.ci/run installs Debian's chromium when it can)")
    result, _ = sample_training
    tx = load_cdnow("sample")
    new = score(tx, model=result.bundle, as_of="1998-06-30")
    old = score(
        tx[tx["timestamp"] <= "1997-12-31"],
        model=result.bundle,
        as_of="1997-12-31",
        allow_stale_as_of=True,
    )
    page = write_report(new, result.bundle, tmp_path / "report.html", previous=old)
    html = page.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)

    dom = _run(browser, tmp_path, "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    # a script error is logged as 'INFO:CONSOLE... "Uncaught Error: ..."' (checked by hand)
    assert "ERROR:CONSOLE" not in dom.stderr and "Uncaught" not in dom.stderr, dom.stderr[-2000:]
    for name in segment_summary(new)["segment"]:
        assert f'<th scope="row">{name}</th>' in dom.stdout, name
    assert dom.stdout.count("<svg") == 6

    shot = tmp_path / "shot.png"
    out = _run(browser, tmp_path, "--window-size=1280,4000", f"--screenshot={shot}", page.as_uri())
    assert out.returncode == 0 and shot.exists(), out.stderr[-2000:]
    assert "ERROR:CONSOLE" not in out.stderr and "Uncaught" not in out.stderr
    img = np.asarray(Image.open(shot).convert("RGB"))
    colours = np.unique(img.reshape(-1, 3), axis=0)
    assert len(colours) > 200  # text alone gives a few grey levels; the charts many colours
    # the bars' blue (#3b75af) and the drivers' red (#c44e52) were painted
    for rgb in ((0x3B, 0x75, 0xAF), (0xC4, 0x4E, 0x52)):
        assert (np.abs(img.astype(int) - rgb).sum(axis=2) < 6).sum() > 500, rgb
