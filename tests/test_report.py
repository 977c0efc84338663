"""cxml.reporting and `cxml report`: the HTML page's content, drift, backtest, bad inputs."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxml.cli import main
from cxml.datasets import load_cdnow
from cxml.exceptions import DataValidationError
from cxml.pipelines import score
from cxml.reporting import (
    backtest,
    build_report,
    migration_matrix,
    population_stability_index,
    write_report,
)
from cxml.segments import INSUFFICIENT_HISTORY, segment_summary

OLD, NEW = "1997-12-31", "1998-06-30"


def _with_returns_only(tx: pd.DataFrame) -> pd.DataFrame:
    """Two customers with returns only: scored from the prior, segment 'insufficient history'."""
    ghosts = pd.DataFrame(
        {
            "customer_id": [900001, 900001, 900002],
            "timestamp": pd.to_datetime(["1998-01-05", "1998-02-01", "1998-03-01"]),
            "amount": [-20.0, -5.0, -12.5],
            "quantity": [-1, -1, -1],
        }
    )
    return pd.concat([tx, ghosts], ignore_index=True)


@pytest.fixture(scope="module")
def scored(sample_training, tmp_path_factory):
    """(bundle, model_dir, new scores, old scores, transactions, events, directory)."""
    result, _ = sample_training
    tmp = tmp_path_factory.mktemp("report")
    tx = _with_returns_only(load_cdnow("sample"))
    new = score(tx, model=result.bundle, as_of=NEW)
    old = score(tx[tx["timestamp"] <= OLD], model=result.bundle, as_of=OLD, allow_stale_as_of=True)
    ids = new["customer_id"].iloc[:300].to_numpy()
    rng = np.random.default_rng(0)
    events = pd.DataFrame(
        {
            "customer_id": ids,
            "timestamp": pd.Timestamp("1998-05-01"),
            "event_type": "nps",
            "value": rng.integers(0, 11, len(ids)),
        }
    )
    new.to_parquet(tmp / "new.parquet")
    old.to_parquet(tmp / "old.parquet")
    events.to_parquet(tmp / "events.parquet")
    return result.bundle, result.model_dir, new, old, tx, events, tmp


def _row(html: str, name: str, after: str = "") -> list[str]:
    """The cells of the first table row headed ``name`` after the text ``after``."""
    html = html[html.index(after) :]
    m = re.search(rf'<th scope="row">{re.escape(name)}</th>(.*?)</tr>', html, re.S)
    assert m, name
    return re.findall(r"<td>(.*?)</td>", m.group(1))


def test_report_has_every_section_and_real_numbers(scored):
    bundle, _, new, _, _, _, _ = scored
    html = build_report(new, bundle)
    assert f"{len(new):,}" == "2,359" and ">2,359<" in html
    assert f">{new['clv'].sum():,.0f}<" in html
    assert f">{new['churn_probability'].sum():,.0f}<" in html
    assert bundle.model_version in html and NEW in html
    summary = segment_summary(new)
    assert INSUFFICIENT_HISTORY in set(summary["segment"])
    for _, r in summary.iterrows():  # every segment its own row, size and shares as computed
        cells = _row(html, str(r["segment"]))
        assert cells[:2] == [f"{int(r['customers']):,}", f"{r['share']:.1%}"]
        assert cells[3] == f"{r['clv_share']:.1%}"
    assert _row(html, INSUFFICIENT_HISTORY)[0] == "2"
    assert _row(html, "Churn AUC (cross-fitted, holdout)") == [
        f"{bundle.info['metrics']['churn_auc']:.3f}"
    ]
    for title in (
        "Predicted CLV",
        "Churn probability",
        "Top churn drivers",
        "Customers by value and churn risk",
    ):
        assert title in html
    # gain share of the churn model (the scores do not carry every model feature)
    gain = pd.Series(bundle.churn_model.feature_importances_, dtype=float)
    assert str(gain.idxmax()) in html
    assert "previous scoring" not in html and "NPS" not in html


def test_report_is_self_contained_and_accessible(scored):
    bundle, _, new, old, _, _, _ = scored
    html = build_report(new, bundle, previous=old)
    assert "<script" not in html and "<img" not in html and "<link" not in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert not re.search(r"url\((?!#)", html) and "@import" not in html  # url(#clip) only
    assert set(re.findall(r'href="([a-z]+):', html)) <= {"data"}  # raster cells inlined
    svgs = re.findall(r"<svg\b[^>]*>", html)
    assert len(svgs) == 6  # heatmap, 2 distributions, drivers, migration, backtest calibration
    assert all('role="img"' in s and 'aria-label="' in s for s in svgs)
    assert html.count("<figure") == html.count("<figcaption>") == len(svgs)


def test_report_survey_scores_per_segment_match_segment_summary(scored):
    bundle, _, new, _, _, events, _ = scored
    html = build_report(new, bundle, events=events)
    summary = segment_summary(new, events=events)
    assert "NPS" in html
    for _, r in summary.iterrows():
        want = "–" if np.isnan(r["nps"]) else f"{r['nps']:.1f}"
        assert _row(html, str(r["segment"]))[-3] == want  # NPS, CSAT, CES are the last 3


def test_training_churn_gives_actual_churn_and_calibration(scored):
    bundle, _, new, _, _, _, _ = scored
    churned = (new["customer_id"].astype(int) % 3 == 0).to_numpy()
    html = build_report(new, bundle, churned=churned)
    assert "Actual churn" in html and "Calibration on the customers" in html
    summary = segment_summary(new, churned=churned).set_index("segment")
    assert _row(html, "reward")[5] == f"{summary.loc['reward', 'churn_actual']:.1%}"


def test_previous_scores_give_migration_drift_and_backtest(scored):
    bundle, _, new, old, tx, _, _ = scored
    html = build_report(new, bundle, previous=old)
    counts, shares = migration_matrix(old, new)
    both = old.merge(new, on="customer_id", suffixes=("_o", "_n"))
    assert counts.to_numpy().sum() == len(both) == len(old)
    assert counts.loc["let go", "let go"] == int(
        ((both["segment_o"] == "let go") & (both["segment_n"] == "let go")).sum()
    )
    np.testing.assert_allclose(shares.sum(axis=1), 1.0)
    assert _row(html, "let go", "Segment migration") == [f"{v:,}" for v in counts.loc["let go"]]
    assert "181 days later" in html
    psi = population_stability_index(old["clv"], new["clv"])
    assert _row(html, "clv") == [f"{psi:.3f}"]

    # backtest: nobody without a purchase since OLD counts as retained, and almost every
    # buyer does (a purchase in the week of the previous last purchase does not add a period)
    bt = backtest(old, new).set_index("customer_id")
    later = tx[(tx["timestamp"] > OLD) & (tx["amount"] > 0)]["customer_id"].unique()
    no_buy = bt.index.difference(later)
    assert bt.loc[no_buy, "churned"].all()
    bought = bt.index.intersection(later)
    assert (~bt.loc[bought, "churned"]).mean() > 0.97
    assert len(bt) == len(old)


def test_backtest_definition_on_a_small_example():
    old = pd.DataFrame(
        {
            "customer_id": [1, 2, 3, 4],
            "segment": ["a", "a", "b", "b"],
            "churn_probability": [0.1, 0.9, 0.5, 0.5],
            "expected_purchases": [2.0, 0.1, 1.0, 1.0],
            "frequency": [3.0, 0.0, 1.0, 2.0],
        }
    )
    new = pd.DataFrame({"customer_id": [1, 2, 3, 5], "frequency": [5.0, 0.0, 2.0, 1.0]})
    bt = backtest(old, new).set_index("customer_id")
    assert list(bt.index) == [1, 2, 3]  # 4 is not in the new scores, 5 was not scored before
    assert bt["purchases"].tolist() == [2.0, 0.0, 1.0]
    assert bt["churned"].tolist() == [False, True, False]


def test_psi_known_value():
    # deciles of 0..999; the new population puts half of its mass in the top decile
    expected = np.arange(1000.0)
    actual = np.r_[np.arange(500.0), np.full(500, 999.0)]
    e = np.full(10, 0.1)
    a = np.r_[np.full(5, 0.1), np.full(4, 1e-4), 0.5]
    want = float(np.sum((a - e) * np.log(a / e)))
    assert population_stability_index(expected, actual) == pytest.approx(want, rel=1e-12)
    assert population_stability_index(expected, expected) == 0.0
    assert np.isnan(population_stability_index([], [1.0]))


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=200),
    st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=200),
)
def test_psi_is_non_negative(e, a):
    assert population_stability_index(e, a) >= -1e-12


def test_scores_of_another_model_or_table_are_refused(scored):
    bundle, _, new, _, tx, _, _ = scored
    other = new.assign(model_version="0123456789ab")
    with pytest.raises(
        DataValidationError,
        match=r"2359 of 2359 rows were scored by "
        r"model_version '0123456789ab'",
    ):
        build_report(other, bundle)
    with pytest.raises(DataValidationError, match="not a cxml scores table"):
        build_report(tx, bundle)
    with pytest.raises(DataValidationError, match="1 duplicated customer_id"):
        build_report(pd.concat([new, new.iloc[:1]]), bundle)


def test_write_report_is_atomic(scored, tmp_path):
    bundle, _, new, _, _, _, _ = scored
    p = write_report(new, bundle, tmp_path / "r.html")
    assert p.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(x.name for x in tmp_path.iterdir()) == ["r.html"]


def test_cli_report(scored, capsys):
    _, model_dir, _, _, _, _, tmp = scored
    out = tmp / "report.html"
    code = main(
        [
            "report",
            "--scores",
            str(tmp / "new.parquet"),
            "--model",
            str(model_dir),
            "--output",
            str(out),
            "--previous",
            str(tmp / "old.parquet"),
            "--events",
            str(tmp / "events.parquet"),
        ]
    )
    assert code == 0, capsys.readouterr().err
    html = out.read_text(encoding="utf-8")
    assert "Segment migration" in html and "NPS" in html
    assert f"wrote {out}" in capsys.readouterr().out


@pytest.mark.parametrize(
    "case, message",
    [
        ("missing", r"scores .*nope.parquet: no such file"),
        ("not_scores", r"not a cxml scores table, columns \['p_alive'"),
        ("other_model", r"rows were scored by model_version 'ffffffffffff'"),
        ("bad_output", r"use a \.html file name"),
    ],
)
def test_cli_report_bad_input_exits_2_and_writes_nothing(scored, tmp_path, capsys, case, message):
    _, model_dir, new, _, tx, _, tmp = scored
    src = tmp / "new.parquet"
    out = tmp_path / "report.html"
    if case == "missing":
        src = tmp_path / "nope.parquet"
    elif case == "not_scores":
        src = tmp_path / "tx.parquet"
        tx.to_parquet(src)
    elif case == "other_model":
        src = tmp_path / "other.parquet"
        new.assign(model_version="ffffffffffff").to_parquet(src)
    elif case == "bad_output":
        out = tmp_path / "report.pdf"
    code = main(["report", "--scores", str(src), "--model", str(model_dir), "--output", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and re.search(message, err), err
    assert not out.exists()


def test_training_run_logs_the_report(sample_training, tmp_path):
    import mlflow

    result, _ = sample_training
    client = mlflow.MlflowClient(tracking_uri=result.tracking_uri)
    assert [a.path for a in client.list_artifacts(result.run_id, "report")] == [
        "report/report.html"
    ]
    local = client.download_artifacts(result.run_id, "report/report.html", str(tmp_path))
    html = Path(local).read_text(encoding="utf-8")
    info = result.bundle.info
    assert f'Scores as of <strong id="as-of">{info["calibration_end"]}</strong>' in html
    assert f">{len(result.scores):,}<" in html  # the training customers
    # actual churn is the holdout's, probabilities cross-fitted: the segment table shows both
    summary = result.segment_summary.set_index("segment")
    cells = _row(html, "let go")
    assert cells[4] == f"{summary.loc['let go', 'churn_probability_mean']:.1%}"
    assert cells[5] == f"{summary.loc['let go', 'churn_actual']:.1%}"
    assert "mean |SHAP| (log-odds) over 2,000 sampled customers" in html
    assert "Calibration on the customers whose churn is known" in html


def test_explained_scores_show_first_reasons_of_the_high_risk_tier(scored):
    bundle, _, _, _, tx, _, _ = scored
    s = score(tx, model=bundle, as_of=NEW, explain=1)
    html = build_report(s, bundle)
    first = s.loc[s["risk_tier"] == "high", "reason_1"].dropna()
    top, n = first.value_counts().index[0], int(first.value_counts().iloc[0])
    section = html[html.index('<table id="reasons">') :]
    assert _row(section, top) == [f"{n:,}", f"{n / len(first):.1%}"]
    assert 'id="reasons"' not in build_report(s.drop(columns=list(s.columns[-3:])), bundle)
