"""``cxml score`` on a terminal: a rich progress bar over customers, then one summary line."""

from __future__ import annotations

import io

import pandas as pd
from rich.console import Console

from cxml.cli import main


def test_progress_bar_only_on_a_terminal(
    sample_training, sample_csv, tmp_path, capsys, monkeypatch
):
    import cxml.cli._app as app

    buf = io.StringIO()
    monkeypatch.setattr(app, "_err", Console(file=buf, force_terminal=True, width=120))
    out = tmp_path / "s.parquet"
    code = main(
        [
            "score",
            "-m",
            str(sample_training[0].model_dir),
            "-t",
            str(sample_csv),
            "--as-of",
            "1998-06-30",
            "-o",
            str(out),
            "--chunk-size",
            "1000",
        ]
    )
    assert code == 0, buf.getvalue()
    text = buf.getvalue()
    assert "scoring" in text and "/2357" in text.replace(",", "")  # the bar: done/total
    assert "scored 2,357 customers as of 1998-06-30 with model" in text
    assert len(pd.read_parquet(out)) == 2357

    # not a terminal: no bar, just the summary line
    monkeypatch.setattr(app, "_err", Console(file=(plain := io.StringIO()), width=120))
    code = main(
        [
            "score",
            "-m",
            str(sample_training[0].model_dir),
            "-t",
            str(sample_csv),
            "--as-of",
            "1998-06-30",
            "-o",
            str(tmp_path / "t.csv"),
        ]
    )
    assert code == 0
    assert plain.getvalue().count("\n") == 1 and "scoring" not in plain.getvalue()
