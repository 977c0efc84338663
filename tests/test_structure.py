"""Structure of the scoring stack (issue 15): layering, one bundle reader, one atomic writer,
one DuckDB connection factory."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from cxml._atomic import AtomicFile, write_atomic
from cxml.exceptions import ModelLoadError

SRC = Path(__file__).resolve().parents[1] / "src" / "cxml"
AS_OF = "1998-06-30"


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, imported names) of every import statement of a source file."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.append((node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            out.extend((a.name, []) for a in node.names)
    return out


@pytest.mark.parametrize("package", ["tracking", "data", "models", "features"])
def test_lower_layers_never_import_pipelines(package):
    bad = [
        (f.name, mod)
        for f in (SRC / package).glob("*.py")
        for mod, _ in _imports(f)
        if mod.startswith("cxml.pipelines")
    ]
    assert bad == []


@pytest.mark.parametrize("package", ["spark", "tracking", "cli"])
def test_no_private_names_of_pipelines(package):
    """cxml.spark, cxml.tracking and the CLI use cxml.pipelines' public names only."""
    bad = [
        (f.name, mod)
        for f in (SRC / package).glob("*.py")
        for mod, names in _imports(f)
        if mod.startswith("cxml.pipelines.")
        or (mod == "cxml.pipelines" and any(n.startswith("_") for n in names))
    ]
    assert bad == []


def test_importing_tracking_loads_no_pipeline():
    code = (
        "import sys, cxml.tracking; "
        "print(sorted(m for m in sys.modules if m.startswith('cxml.pipelines')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "[]"


# ---------------------------------------------------------------- DuckDB connections
def test_every_duckdb_connection_is_pinned_to_utc():
    from cxml.data import duckdb_connection

    shared = duckdb_connection()
    assert shared is duckdb_connection()
    new = duckdb_connection(new=True, threads=1)
    try:
        assert new is not shared
        settings = new.con.execute(
            "SELECT current_setting('TimeZone'), current_setting('threads')"
        ).fetchone()
        assert settings == ("UTC", 1)
    finally:
        new.disconnect()
    with pytest.raises(TypeError, match="new connection only"):
        duckdb_connection(threads=2)


def test_chunk_workers_cut_days_in_utc(sample_training, monkeypatch):
    """Offset timestamps near midnight UTC land on the same UTC day whether a customer is
    scored in one pass or by a chunk worker, whatever the machine's time zone."""
    import time

    from cxml.datasets import load_cdnow
    from cxml.pipelines import score

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        tx = load_cdnow("sample")
        tx = tx[tx["customer_id"] <= 300].copy()
        # 23:30 at UTC-05:00 is 04:30 UTC the next day
        tx["timestamp"] = (tx["timestamp"] + pd.Timedelta(hours=23, minutes=30)).dt.tz_localize(
            "-05:00"
        )
        model = sample_training[0].model_dir
        one = score(tx, model=model, as_of=AS_OF)
        chunked = score(tx, model=model, as_of=AS_OF, chunk_size=70)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    pd.testing.assert_frame_equal(chunked, one)
    shifted = score(
        tx.assign(timestamp=tx["timestamp"].dt.tz_convert("UTC").dt.tz_localize(None)),
        model=model,
        as_of=AS_OF,
    )
    pd.testing.assert_frame_equal(one, shifted)


# ---------------------------------------------------------------- atomic writer
def test_atomic_file_commits_or_leaves_the_target_alone(tmp_path):
    p = tmp_path / "f.json"
    write_atomic(p, '{"a": 1}')
    with pytest.raises(RuntimeError):
        with AtomicFile(p) as f:
            f.file.write(b"half")
            raise RuntimeError("crash mid-way")
    assert p.read_text() == '{"a": 1}'
    assert [x.name for x in tmp_path.iterdir()] == ["f.json"]


def test_bundle_json_is_written_by_the_atomic_writer(sample_training, tmp_path, monkeypatch):
    """A crash while writing bundle.json leaves the previous one whole."""
    import cxml._atomic as atomic
    from cxml.pipelines import load_model

    bundle = load_model(sample_training[0].model_dir)
    d = bundle.save(tmp_path / "b")
    before = (d / "bundle.json").read_bytes()

    def crash(self):
        self.abort()  # as the real commit does when it fails
        raise OSError("disk full")

    monkeypatch.setattr(atomic.AtomicFile, "commit", crash)
    with pytest.raises(OSError, match="disk full"):
        bundle.save(d)
    assert (d / "bundle.json").read_bytes() == before


# ---------------------------------------------------------------- bundle.json schema
def test_bundle_manifest_round_trip(sample_training, tmp_path):
    from cxml.pipelines import BundleManifest, load_model

    bundle = load_model(sample_training[0].model_dir)
    d = bundle.save(tmp_path / "b")
    meta = json.loads((d / "bundle.json").read_text())
    manifest = BundleManifest.model_validate(meta)
    assert manifest.spec == bundle.spec
    assert manifest.clv.model_dump() == bundle.clv
    again = load_model(d)
    assert again.spec == bundle.spec and again.clv == bundle.clv
    assert again.segments == bundle.segments


@pytest.mark.parametrize(
    "edit,match",
    [
        (lambda m: m["spec"].update(horizon_days=-3), r"invalid horizon_days -3"),
        (lambda m: m["spec"].update(windows_days=[]), r"invalid windows_days"),
        (lambda m: m["spec"]["columns"].pop("amount"), r"invalid columns"),
        (lambda m: m["clv"].update(horizon_months="12"), r"invalid clv"),
        (lambda m: m["sha256"].update({"extra.txt": "0" * 64}), r"lacks the SHA-256"),
        (lambda m: m["spec"].pop("time_unit"), r"invalid time_unit"),
    ],
)
def test_edited_bundle_json_is_one_model_load_error(sample_training, tmp_path, edit, match):
    from cxml.pipelines import ModelBundle, load_model

    d = load_model(sample_training[0].model_dir).save(tmp_path / "b")
    meta = json.loads((d / "bundle.json").read_text())
    edit(meta)
    (d / "bundle.json").write_text(json.dumps(meta))
    with pytest.raises(ModelLoadError, match=match):
        ModelBundle.load(d)
