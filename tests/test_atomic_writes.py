"""Every model file goes through the one atomic writer (``cxml._atomic.write_atomic``).

A save that fails mid-way (the disk fills after part of a file is written) leaves the file
of the previous save whole and no temporary file behind. The failure is injected in the
atomic writer itself, so a model file written any other way (``open``, ``write_text``,
``Booster.save_model``) escapes it and the test fails.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import cxml._atomic as atomic
from cxml.models import ChurnClassifier, ValueModel
from cxml.targeting import UpliftClassifier


class _HalfWriter:
    """A file that writes the first half of what it is given, then fails (disk full)."""

    def __init__(self, f):
        self._f = f

    def write(self, data):
        self._f.write(data[: len(data) // 2])
        raise OSError("No space left on device")

    def __getattr__(self, name):  # close, flush, fileno: the real file's
        return getattr(self._f, name)


_REAL = atomic.AtomicFile


def _spy(monkeypatch, fail_at: int | None = None) -> list:
    """Record the targets of the atomic writer; the ``fail_at``-th write fails mid-way."""
    written: list = []

    class Spy(_REAL):
        def __init__(self, path):
            super().__init__(path)
            if len(written) == fail_at:
                self.file = _HalfWriter(self.file)
            written.append(self.path)

    monkeypatch.setattr(atomic, "AtomicFile", Spy)
    return written


def _files(d):
    return {
        p.relative_to(d).as_posix(): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    n = 1500
    X = pd.DataFrame({"f": rng.normal(size=n), "g": rng.normal(size=n)})
    y = (rng.random(n) < 1 / (1 + np.exp(-1.5 * X["f"]))).astype(int)
    spend = np.where(y == 1, rng.lognormal(3 + 0.5 * X["g"], 0.6), 0.0)
    t = np.array(["ctrl", "mail"] * (n // 2), dtype=object)
    return X, y, spend, t


def _churn(data, seed):
    X, y, _, _ = data
    return ChurnClassifier(n_estimators=40 + 10 * seed, random_state=seed).fit(X, y)


def _value(data, seed):
    X, _, spend, _ = data
    return ValueModel(n_estimators=40 + 10 * seed, random_state=seed).fit(X, spend)


def _uplift(data, seed):
    X, y, _, t = data
    return UpliftClassifier(control="ctrl", learner="x", n_estimators=20 + 10 * seed).fit(X, t, y)


@pytest.mark.parametrize("make", [_churn, _value, _uplift], ids=["churn", "value", "uplift"])
def test_a_save_failing_mid_way_leaves_the_previous_files_whole(data, tmp_path, monkeypatch, make):
    old, new = make(data, 0), make(data, 1)
    reference = tmp_path / "reference"
    written = _spy(monkeypatch)
    new.save(reference)
    monkeypatch.setattr(atomic, "AtomicFile", _REAL)
    # every file of the model directory came through the atomic writer
    assert sorted(p.relative_to(reference).as_posix() for p in written) == sorted(_files(reference))
    new_bytes = _files(reference)
    for k, target in enumerate(written):
        d = tmp_path / f"fail{k}"
        old.save(d)
        before = _files(d)
        name = target.relative_to(reference).as_posix()
        assert new_bytes[name] != before[name]  # the failed write would have changed it
        _spy(monkeypatch, fail_at=k)
        with pytest.raises(OSError, match="No space left on device"):
            new.save(d)
        monkeypatch.setattr(atomic, "AtomicFile", _REAL)
        after = _files(d)
        assert after[name] == before[name], name
        assert sorted(after) == sorted(before)  # no temporary file left behind
        assert not [p for p in d.rglob("*") if p.name.endswith(".tmp")]


def test_booster_text_is_what_lightgbm_save_model_writes(data, tmp_path):
    """model_to_string (written atomically) is byte for byte Booster.save_model's file, so
    bundles' checksums and model_version are unchanged by the atomic writer."""
    model = _churn(data, 0)
    model.save(tmp_path)
    model.booster_.save_model(str(tmp_path / "direct.txt"), num_iteration=model.best_iteration_)
    assert (tmp_path / "churn_lgbm.txt").read_bytes() == (tmp_path / "direct.txt").read_bytes()
    X = data[0].head(20)
    np.testing.assert_array_equal(
        ChurnClassifier.load(tmp_path).predict_proba(X), model.predict_proba(X)
    )


def test_explanation_csvs_go_through_the_atomic_writer(data, tmp_path, monkeypatch):
    model = _churn(data, 0)
    paths = model.save_explanations(data[0], tmp_path, max_rows=50)
    before = _files(tmp_path)
    _spy(monkeypatch, fail_at=1)
    with pytest.raises(OSError, match="No space left on device"):
        _churn(data, 1).save_explanations(data[0], tmp_path, max_rows=50)
    assert _files(tmp_path)[paths["shap"].name] == before[paths["shap"].name]
    assert sorted(_files(tmp_path)) == sorted(before)
