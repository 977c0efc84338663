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


# -- events in the model's column names, drivers by the best measure at hand (issue 20) --

SIM_AS_OF = "2021-06-30"
US = "%m/%d/%Y %H:%M"
TX_MAP = {"customer_id": "Client", "timestamp": "When", "amount": "Total"}
EV_MAP = {"customer_id": "Client", "timestamp": "When", "event_type": "Kind", "value": "Score"}


@pytest.fixture(scope="module")
def mapped(tmp_path_factory):
    """A model trained on CSVs in other column names with US dates (data.columns,
    data.event_columns, data.timestamp_format); its scores; canonical and renamed events."""
    import yaml

    from conftest import ROOT
    from cxml.datasets import simulate
    from cxml.pipelines import train

    d = tmp_path_factory.mktemp("mapped")
    tx, ev = simulate(1200, seed=3, observation_end=SIM_AS_OF, events=True)
    rng = np.random.default_rng(1)
    ids = rng.choice(tx["customer_id"].unique(), 400, replace=False)
    surveys = pd.DataFrame(
        {
            "customer_id": np.r_[ids, ids[:250]],
            "timestamp": pd.Timestamp("2021-05-03 10:30"),
            "event_type": ["csat"] * 400 + ["ces"] * 250,
            "value": np.r_[rng.integers(1, 6, 400), rng.integers(1, 8, 250)].astype(float),
        }
    )
    ev = pd.concat([ev, surveys], ignore_index=True)
    ev["event_type"] = ev["event_type"].astype(object)

    def us(frame, mapping):
        out = frame.rename(columns=mapping)
        out[mapping["timestamp"]] = frame["timestamp"].dt.strftime(US)
        return out

    us(tx, TX_MAP).to_csv(d / "tx.csv", index=False)
    us(ev, EV_MAP).to_csv(d / "ev.csv", index=False)
    # the canonical file: cxml's names, ISO dates (what a model without a mapping reads)
    ev.to_csv(d / "ev_canonical.csv", index=False)
    cfg = yaml.safe_load((ROOT / "configs" / "cdnow.yaml").read_text())
    cfg["data"] = {
        "transactions": str(d / "tx.csv"),
        "columns": TX_MAP,
        "events": str(d / "ev.csv"),
        "event_columns": EV_MAP,
        "timestamp_format": US,
    }
    cfg["time"].update(calibration_end="2021-01-31", observation_end=SIM_AS_OF)
    cfg["churn"].update(cv_folds=2, n_estimators=200)
    cfg["output"]["model_dir"] = str(d / "model")
    (d / "c.yaml").write_text(yaml.safe_dump(cfg))
    result = train(d / "c.yaml", tracking_uri=f"sqlite:///{d / 'mlflow.db'}")
    s = score(d / "tx.csv", model=result.bundle, as_of=SIM_AS_OF, events=d / "ev.csv")
    s.to_parquet(d / "scores.parquet")
    return result.bundle, result.model_dir, s, ev, d


def _report(d, model_dir, *extra) -> tuple[int, str]:
    out = d / f"r{abs(hash(extra))}.html"
    args = ["report", "--scores", str(d / "scores.parquet"), "-m", str(model_dir)]
    code = main([*args, "--output", str(out), *extra])
    return code, out.read_text(encoding="utf-8") if out.exists() else ""


def _survey_cells(html: str, segments) -> dict:
    return {s: _row(html, s)[-3:] for s in segments}  # NPS, CSAT, CES are the last 3


def test_cli_report_reads_events_with_the_models_mapping(mapped, capsys):
    bundle, model_dir, s, ev, d = mapped
    assert bundle.spec.event_columns == EV_MAP and bundle.spec.timestamp_format == US
    code, html = _report(d, model_dir, "--events", str(d / "ev.csv"))
    assert code == 0, capsys.readouterr().err
    # the same NPS / CSAT / CES per segment as the canonical events in Python
    canonical = build_report(s, bundle, events=pd.read_csv(d / "ev_canonical.csv"))
    segments = [str(x) for x in segment_summary(s)["segment"]]
    got = _survey_cells(html, segments)
    assert got == _survey_cells(canonical, segments)
    summary = segment_summary(s, events=ev).set_index("segment")
    for seg in segments:
        for cell, col, fmt in zip(
            got[seg], ("nps", "csat", "ces"), ("{:.1f}", "{:.1f}", "{:.2f}"), strict=True
        ):
            v = summary.loc[seg, col]
            assert cell == ("–" if np.isnan(v) else fmt.format(v))
    assert sum(c != "–" for cells in got.values() for c in cells) >= 2 * len(segments)


@pytest.mark.parametrize(
    "extra, message",
    [
        (
            ("--events", "ev_canonical.csv"),
            r"events: missing column 'customer_id' \(your column "
            r"'Client'\), 'timestamp' \(your column 'When'\)",
        ),
        (
            ("--events", "ev.csv", "--timestamp-format", "%Y-%m-%d %H:%M"),
            r"events: column "
            r"'timestamp' \(your column 'When'\): .*do not match",
        ),
    ],
)
def test_cli_report_refuses_events_not_in_the_models_mapping(mapped, capsys, extra, message):
    _, model_dir, _, _, d = mapped
    extra = tuple(str(d / x) if x.endswith(".csv") else x for x in extra)
    code, html = _report(d, model_dir, *extra)
    err = capsys.readouterr().err
    assert code == 2 and not html
    assert err.count("\n") == 1 and re.search(message, err), err


def _drivers_alt(html: str) -> tuple[str, list[str]]:
    section = html[html.index('<section id="drivers">') :]
    alt = re.search(r'aria-label="([^"]*)"', section).group(1)
    how, names = alt.split(", largest first: ")
    return how, names.split(", ")


def test_drivers_without_features_are_gain_shares_and_say_so(scored):
    bundle, _, new, _, _, _, _ = scored
    html = build_report(new, bundle)
    how, names = _drivers_alt(html)
    assert "share of total gain (not SHAP)" in how
    assert "gain share, not SHAP" in html and "pass --transactions" in html
    gain = pd.Series(bundle.churn_model.feature_importances_, dtype=float)
    assert names == [str(i) for i in gain.sort_values(ascending=False).index[:10]]


def test_drivers_from_explained_scores_are_their_mean_upward_shap(scored):
    bundle, _, _, _, tx, _, _ = scored
    s = score(tx, model=bundle, as_of=NEW, explain=2)
    html = build_report(s, bundle)
    how, names = _drivers_alt(html)
    assert "mean upward SHAP (log-odds of churn), top-2 reasons" in how
    assert "not SHAP" not in html
    per = pd.concat(
        [s[[f"reason_{k}", f"reason_{k}_shap"]].set_axis(["f", "v"], axis=1) for k in (1, 2)]
    ).dropna()
    want = (per.groupby("f")["v"].sum() / len(s)).sort_values(ascending=False)
    assert names == [str(i) for i in want.index[:10]]


def test_cli_drivers_from_transactions_are_mean_abs_shap(mapped, capsys):
    from cxml.pipelines import churn_matrix

    bundle, model_dir, s, _, d = mapped
    code, html = _report(
        d, model_dir, "--transactions", str(d / "tx.csv"), "--events", str(d / "ev.csv")
    )
    assert code == 0, capsys.readouterr().err
    how, names = _drivers_alt(html)
    assert "mean |SHAP value|" in how and "not SHAP" not in html
    assert len(s) == 1200  # < 2,000: the sample is every customer
    X = churn_matrix(
        d / "tx.csv",
        model=bundle,
        as_of=SIM_AS_OF,
        events=d / "ev.csv",
        customer_ids=s["customer_id"],
    )
    assert len(X) == int((~s["insufficient_history"]).sum())
    shap = bundle.churn_model.shap_values(X).drop(columns="expected_value").abs().mean()
    assert names == [str(i) for i in shap.sort_values(ascending=False).index[:10]]
    assert f"over {len(X):,} sampled customers" in html


def test_backtest_of_a_period_the_model_was_trained_on_says_so(scored):
    import copy

    bundle, _, new, old, _, _, _ = scored
    assert bundle.info["observation_end"] == NEW
    html = build_report(new, bundle, previous=old)
    assert (
        "Not an out-of-sample test: the model was trained on data up to 1998-06-30, after "
        "the previous as_of 1997-12-31" in html
    )
    earlier = copy.copy(bundle)
    earlier.info = {**bundle.info, "observation_end": OLD}  # trained up to the old as_of
    html = build_report(new, earlier, previous=old)
    assert "Backtest of the previous scoring" in html and "out-of-sample" not in html


def test_the_cutoff_age_is_neither_a_reason_nor_a_driver(mapped):
    """A model trained on stacked cut-offs has cutoff_age_days, 0 for every scored
    customer: a shared time effect, never a customer's reason or a churn driver."""
    from cxml.pipelines import NOT_A_REASON, churn_matrix

    bundle, _, s, _, d = mapped
    assert "cutoff_age_days" in NOT_A_REASON
    assert "cutoff_age_days" in bundle.churn_model.feature_names_in_
    X = churn_matrix(d / "tx.csv", model=bundle, as_of=SIM_AS_OF, customer_ids=s["customer_id"])
    assert (X["cutoff_age_days"] == 0).all()
    e = score(d / "tx.csv", model=bundle, as_of=SIM_AS_OF, explain=3)
    named = set(e[["reason_1", "reason_2", "reason_3"]].stack().dropna())
    assert named and "cutoff_age_days" not in named
    # the others keep their rank: reason_1 is the largest positive contribution left
    shap = bundle.churn_model.shap_values(X).drop(columns=["expected_value", "cutoff_age_days"])
    first = e.set_index("customer_id")["reason_1"].reindex(shap.index)
    top = shap.idxmax(axis=1).where(shap.max(axis=1) > 0)
    assert (first.fillna("-") == top.fillna("-")).all()
    for html in (build_report(s, bundle), build_report(s, bundle, features=X)):
        _, names = _drivers_alt(html)
        assert "cutoff_age_days" not in names and len(names) == 10
        assert "cutoff_age_days (the same for every scored customer) left out" in html
