"""Malformed input to ``cxml score``: each case exits 2 with one line naming the problem, or
is handled by the documented policy (:mod:`cxml.pipelines._score`); never a traceback, never
a partial output file."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cxml.cli import main
from cxml.datasets import load_cdnow
from cxml.exceptions import CxmlUserError
from cxml.pipelines import SCORE_COLUMNS

AS_OF = "1998-06-30"


@pytest.fixture(scope="module")
def model_dir(sample_training):
    return sample_training[0].model_dir


@pytest.fixture(scope="module")
def small():
    tx = load_cdnow("sample")
    return tx[tx["customer_id"] <= 50].reset_index(drop=True)  # 143 rows, 50 customers


def run(capsys, model, tx_path, out, as_of=AS_OF, *extra):
    code = main(
        ["score", "-m", str(model), "-t", str(tx_path), "--as-of", as_of, "-o", str(out), *extra]
    )
    return code, capsys.readouterr().err


def assert_clean_user_error(code, err, match, out):
    assert code == 2, err
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, f"expected one line, got {err!r}"
    assert lines[0].startswith("cxml: error: ") and "Traceback" not in err
    assert pd.Series(lines).str.contains(match, regex=True).iloc[0], lines[0]
    assert not out.exists()
    if out.parent.is_dir():
        assert not [p for p in out.parent.iterdir() if p.name.endswith(".tmp")]


def _str_ts(df):
    return df.assign(timestamp=df["timestamp"].dt.strftime("%Y-%m-%d"))


# (case id, builder(small DataFrame, directory) -> input path, expected message regex)
def _csv(df, d, name="tx.csv", **kw):
    p = d / name
    df.to_csv(p, index=False, **kw)
    return p


def _write(d, name, data):
    p = d / name
    if isinstance(data, bytes):
        p.write_bytes(data)
    else:
        p.write_text(data)
    return p


def _truncated_parquet(df, d, size=64):
    p = d / "t.parquet"
    df.to_parquet(p)
    with open(p, "r+b") as f:
        f.truncate(size)
    return p


def _set(df, col, rows, value):
    df = df.copy()
    if col in df.columns and not isinstance(value, type(df[col].iloc[0])):
        df[col] = df[col].astype(object)
    df.loc[df.index[rows], col] = value
    return df


ERROR_CASES = [
    ("missing_amount", lambda s, d: _csv(s.drop(columns="amount"), d), r"missing column 'amount'"),
    (
        "missing_customer_id",
        lambda s, d: _csv(s.drop(columns="customer_id"), d),
        r"missing column 'customer_id'",
    ),
    (
        "renamed_timestamp",
        lambda s, d: _csv(s.rename(columns={"timestamp": "date"}), d),
        r"missing column 'timestamp'.*available columns.*date",
    ),
    (
        "timestamp_as_integers",
        lambda s, d: _csv(s.assign(timestamp=np.arange(len(s))), d),
        r"'timestamp' has type int64",
    ),
    (
        "amount_as_text",
        lambda s, d: _csv(s.assign(amount="ten dollars"), d),
        r"'amount': 143 of 143 values are not numbers",
    ),
    (
        "amount_boolean_parquet",
        lambda s, d: (s.assign(amount=True).to_parquet(d / "tx.parquet"), d / "tx.parquet")[1],
        r"'amount' has type boolean",
    ),
    (
        "fractional_ids",
        lambda s, d: _csv(
            _set(s.astype({"customer_id": float}), "customer_id", [0, 1, 2, 3], 1.5), d
        ),
        r"'customer_id': 4 of 143 ids are not whole numbers",
    ),
    (
        "null_ids",
        lambda s, d: _csv(_set(s.astype({"customer_id": float}), "customer_id", [5, 6], np.nan), d),
        r"'customer_id': 2 of 143 rows have a null customer id",
    ),
    (
        "null_timestamps",
        lambda s, d: _csv(_set(_str_ts(s), "timestamp", [1, 2, 3], None), d),
        r"'timestamp': 3 of 143 rows have a null timestamp",
    ),
    (
        "unparseable_timestamps",
        lambda s, d: _csv(_set(_str_ts(s), "timestamp", [7], "31/02/1997"), d),
        r"'timestamp': 1 of 143 values are not ISO 8601 dates, e.g. '31/02/1997'",
    ),
    (
        "dates_after_as_of",
        lambda s, d: _csv(_set(_str_ts(s), "timestamp", [0, 1], "1999-01-01"), d),
        r"2 of 143 rows are after observation_end 1998-06-30",
    ),
    (
        "null_amounts",
        lambda s, d: _csv(_set(s, "amount", [0], np.nan), d),
        r"'amount': 1 of 143 rows have a null amount",
    ),
    (
        "nan_amounts",
        lambda s, d: _csv(_set(s, "amount", [0, 9, 20], np.nan), d, na_rep="NaN"),
        r"'amount': 3 of 143 values are NaN or infinite",
    ),
    (
        "inf_amounts",
        lambda s, d: _csv(_set(s, "amount", [4, 5], np.inf), d),
        r"'amount': 2 of 143 values are NaN or infinite",
    ),
    ("empty_file", lambda s, d: _write(d, "tx.csv", ""), r"tx\.csv is an empty file"),
    (
        "header_only",
        lambda s, d: _write(d, "tx.csv", "customer_id,timestamp,amount,quantity\n"),
        r"no rows to score",
    ),
    (
        "non_utf8_csv",
        lambda s, d: _write(
            d, "tx.csv", s.assign(note="caf\u00e9").to_csv(index=False).encode("latin-1")
        ),
        r"cannot read .*tx\.csv.*not utf-8 encoded",
    ),
    (
        "directory_instead_of_file",
        lambda s, d: (d / "dir").mkdir() or d / "dir",
        r"got a directory",
    ),
    ("missing_file", lambda s, d: d / "nope.parquet", r"file not found.*nope\.parquet"),
    ("truncated_parquet", lambda s, d: _truncated_parquet(s, d), r"cannot read .*t\.parquet"),
    (
        "unsupported_extension",
        lambda s, d: _csv(s, d, name="tx.xlsx"),
        r"unsupported file extension.*tx\.xlsx",
    ),
]


@pytest.mark.parametrize("case,build,match", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_bad_transactions_exit_2(case, build, match, model_dir, small, tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    path = build(small, src)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code, err = run(capsys, model_dir, path, out_dir / "scores.parquet")
    assert_clean_user_error(code, err, match, out_dir / "scores.parquet")


def test_unparseable_as_of(model_dir, small, tmp_path, capsys):
    code, err = run(
        capsys, model_dir, _csv(small, tmp_path), tmp_path / "o.csv", as_of="next tuesday"
    )
    assert_clean_user_error(
        code, err, r"--as-of='next tuesday' is not a date in YYYY-MM-DD form", tmp_path / "o.csv"
    )


# ---------------------------------------------------------------- output paths
@pytest.mark.parametrize(
    "target,match",
    [
        ("afile/o.csv", r"output directory does not exist: .*afile"),
        ("nodir/o.csv", r"output directory does not exist: .*nodir"),
        ("adir.csv", r"output path .*adir\.csv is a directory"),
        ("o.xlsx", r"unsupported extension '\.xlsx'"),
    ],
)
def test_bad_output_path(target, match, model_dir, small, tmp_path, capsys):
    (tmp_path / "afile").write_text("not a directory")
    (tmp_path / "adir.csv").mkdir()
    code, err = run(capsys, model_dir, _csv(small, tmp_path, "in.csv"), tmp_path / target)
    assert code == 2 and err.startswith("cxml: error: ") and err.count("\n") == 1, err
    assert pd.Series([err]).str.contains(match).iloc[0], err


def test_unwritable_output_directory_fails_before_scoring(
    model_dir, small, tmp_path, capsys, monkeypatch
):
    """A directory we cannot create files in: refused up front, nothing scored."""
    import cxml.pipelines._score as score_mod

    def boom(*a, **k):  # scoring must not start
        raise AssertionError("scored before checking the output")

    monkeypatch.setattr(score_mod, "iter_scores", boom)
    code, err = run(capsys, model_dir, _csv(small, tmp_path, "in.csv"), "/proc/scores.csv")
    assert code == 2 and err.startswith("cxml: error: cannot write to /proc"), err


# ---------------------------------------------------------------- models
def _model_copy(model_dir, tmp_path):
    d = tmp_path / "model"
    shutil.copytree(model_dir, d)
    return d, d / "artifacts" / "bundle"


def _edit_json(path, edit):
    meta = json.loads(path.read_text())
    edit(meta)
    path.write_text(json.dumps(meta))


def _append(path, text):
    with open(path, "a") as f:
        f.write(text)


MODEL_CASES = [
    (
        "other_bundle_format",
        lambda b: _edit_json(b / "bundle.json", lambda m: m.update(format=2)),
        r"holds bundle format 2.*reads format 1",
    ),
    (
        "edited_parameters",
        lambda b: _edit_json(b / "bgnbd.json", lambda m: m.update(edited=True)),
        r"bgnbd\.json was changed after saving",
    ),
    (
        "edited_lightgbm_text",
        lambda b: _append(b / "churn_lgbm.txt", "\n"),
        r"churn_lgbm\.txt was changed after saving",
    ),
    (
        "checksums_removed",
        lambda b: _edit_json(b / "bundle.json", lambda m: m.pop("sha256")),
        r"no checksum for bgnbd\.json.*refusing to load",
    ),
    (
        "bundle_json_not_json",
        lambda b: (b / "bundle.json").write_text("{oops"),
        r"cannot read .*bundle\.json",
    ),
    (
        "edited_time_unit",
        lambda b: _edit_json(b / "bundle.json", lambda m: m["spec"].update(time_unit="Q")),
        r"invalid time_unit 'Q'",
    ),
    (
        "unknown_spec_key",
        lambda b: _edit_json(b / "bundle.json", lambda m: m["spec"].update(bogus=1)),
        r"cannot read the stored bundle.*bogus",
    ),
    (
        "segments_removed",
        lambda b: _edit_json(b / "bundle.json", lambda m: m["segments"].pop("rules")),
        r"invalid segments",
    ),
    (
        "model_file_deleted",
        lambda b: (b / "churn.json").unlink(),
        r"model file missing: .*churn\.json",
    ),
    ("not_a_model_directory", lambda b: shutil.rmtree(b), r"not a cxml model directory"),
]


@pytest.mark.parametrize("case,edit,match", MODEL_CASES, ids=[c[0] for c in MODEL_CASES])
def test_bad_model_directory_exit_2(case, edit, match, model_dir, small, tmp_path, capsys):
    d, bundle = _model_copy(model_dir, tmp_path)
    edit(bundle)
    out = tmp_path / "o.parquet"
    code, err = run(capsys, d, _csv(small, tmp_path), out)
    assert_clean_user_error(code, err, match, out)


def test_loading_never_unpickles(model_dir):
    """The bundle holds JSON and LightGBM text only: nothing that could run code on load."""
    from pathlib import Path

    files = sorted(p.name for p in (Path(model_dir) / "artifacts" / "bundle").iterdir())
    assert files == [
        "bgnbd.json",
        "bundle.json",
        "churn.json",
        "churn_lgbm.txt",
        "gamma_gamma.json",
    ]
    for name in files:
        head = (Path(model_dir) / "artifacts" / "bundle" / name).read_bytes()[:2]
        assert head[:1] != b"\x80"  # pickle protocol 2+ magic


# ---------------------------------------------------------------- documented policies
def _score_ok(capsys, model_dir, path, tmp_path):
    out = tmp_path / "o.csv"
    # the 50-customer subset stops buying months before AS_OF: allowed explicitly
    code, err = run(capsys, model_dir, path, out, AS_OF, "--allow-stale-as-of")
    assert code == 0, err
    assert err.count("\n") == 1 and "Traceback" not in err
    df = pd.read_csv(out)
    assert list(df.columns) == SCORE_COLUMNS and df["customer_id"].is_unique
    return df


def test_policy_returns_only_customers_scored_from_prior(model_dir, small, tmp_path, capsys):
    tx = small.copy()
    tx.loc[tx["customer_id"] <= 3, "amount"] *= -1  # customers 1-3: returns only
    df = _score_ok(capsys, model_dir, _csv(tx, tmp_path), tmp_path)
    assert len(df) == 50
    flagged = df.loc[df["insufficient_history"], "customer_id"].tolist()
    assert flagged == [1, 2, 3]
    prior = df[df["insufficient_history"]]
    assert (prior[["frequency", "recency", "T", "monetary_value"]] == 0).all().all()
    # every prior-scored customer gets the same (population) score
    assert prior["p_alive"].nunique() == 1 and prior["clv"].nunique() == 1


def test_policy_exact_duplicates_kept_without_order_id(model_dir, small, tmp_path, capsys):
    once = _score_ok(capsys, model_dir, _csv(small, tmp_path, "a.csv"), tmp_path)
    twice = _score_ok(
        capsys, model_dir, _csv(pd.concat([small, small]), tmp_path, "b.csv"), tmp_path
    )
    # same purchase days (same-day lines merge), each day's value doubled
    pd.testing.assert_series_equal(once["frequency"], twice["frequency"])
    pd.testing.assert_series_equal(
        once["monetary_value"] * 2, twice["monetary_value"], check_names=False
    )


def test_policy_single_customer_and_one_time_buyers(model_dir, small, tmp_path, capsys):
    one = _score_ok(capsys, model_dir, _csv(small[small["customer_id"] == 1], tmp_path), tmp_path)
    assert one["customer_id"].tolist() == [1] and one["frequency"].tolist() == [3.0]
    first = small.drop_duplicates("customer_id")
    df = _score_ok(capsys, model_dir, _csv(first, tmp_path, "f.csv"), tmp_path)
    assert len(df) == 50 and (df["frequency"] == 0).all()
    assert not df["insufficient_history"].any() and df["p_alive"].eq(1.0).all()


def test_policy_huge_frequency_is_scored(model_dir, small, tmp_path, capsys):
    heavy = pd.DataFrame(
        {
            "customer_id": 999,
            "amount": 12.5,
            "quantity": 1,
            "timestamp": pd.date_range(end=AS_OF, periods=3000, freq="D"),
        }
    )
    df = _score_ok(capsys, model_dir, _csv(pd.concat([small, heavy]), tmp_path), tmp_path)
    row = df.set_index("customer_id").loc[999]
    assert row["frequency"] == 2999
    num = ["p_alive", "expected_purchases", "expected_average_value", "clv", "churn_probability"]
    assert np.isfinite(row[num].astype(float)).all()
    # a daily buyer still buying on the as-of day: alive, about one purchase a day over
    # the 273-day horizon
    assert row["p_alive"] > 0.99 and 200 < row["expected_purchases"] < 300


def test_policy_time_zones_converted_to_utc(model_dir, small, tmp_path, capsys):
    """Offsets are honoured (converted to UTC, then cut at the calendar day)."""
    naive = _str_ts(small).assign(timestamp=lambda d: d["timestamp"] + "T12:00:00")
    same = naive.assign(timestamp=lambda d: d["timestamp"] + "+00:00")
    a = _score_ok(capsys, model_dir, _csv(naive, tmp_path, "a.csv"), tmp_path)
    b = _score_ok(capsys, model_dir, _csv(same, tmp_path, "b.csv"), tmp_path)
    pd.testing.assert_frame_equal(a, b)
    mixed = same.copy()
    mixed.loc[mixed.index[::2], "timestamp"] = (
        _str_ts(small)["timestamp"][::2] + "T01:00:00+05:00"
    )  # 20:00 UTC the day before
    c = _score_ok(capsys, model_dir, _csv(mixed, tmp_path, "c.csv"), tmp_path)
    assert len(c) == 50 and not a["recency"].equals(c["recency"])


# ---------------------------------------------------------------- fuzzing the validators
_ids = st.one_of(st.integers(-3, 5), st.none(), st.floats(allow_nan=True), st.just("a"))
_stamps = st.one_of(
    st.dates(
        min_value=pd.Timestamp("1996-01-01").date(), max_value=pd.Timestamp("1999-01-01").date()
    ).map(str),
    st.none(),
    st.text(max_size=6),
    st.just("1997-02-30"),
)
_amounts = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.none(),
    st.integers(-5, 100),
    st.just("x"),
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=st.lists(st.tuples(_ids, _stamps, _amounts), min_size=0, max_size=12))
def test_fuzz_score_either_scores_every_customer_or_raises_user_error(model_dir, rows):
    from cxml.pipelines import score

    df = pd.DataFrame(rows, columns=["customer_id", "timestamp", "amount"])
    df["quantity"] = 1
    try:
        out = score(df, model=model_dir, as_of=AS_OF)
    except CxmlUserError as exc:
        assert str(exc) and "\n" not in str(exc).strip()
        return
    ids = df["customer_id"].dropna().unique()
    assert len(out) == len(ids) and out["customer_id"].is_unique
    assert list(out.columns) == SCORE_COLUMNS
    assert out["p_alive"].between(0, 1).all() and out["churn_probability"].between(0, 1).all()
