"""``cxml compare``: published CDNOW numbers through the leaderboard, the config section,
the paired bootstrap, nested MLflow runs and the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import write_config

CXML = str(Path(sys.executable).with_name("cxml"))  # the installed script, as users run it

CANDIDATES = [
    {"name": "bgnbd"},
    {"name": "mbgnbd", "btyd": {"purchase_model": "mbgnbd"}},
    {"name": "pnbd", "btyd": {"purchase_model": "pnbd"}},
]


def compare_config(tmp, compare: dict, **overrides):
    """The CDNOW 1/10 sample config (calibration to 1997-09-30, holdout to 1998-06-30,
    weeks) with a ``compare:`` section."""
    p = write_config(
        tmp,
        **{
            "data.transactions": "cdnow:sample",
            "churn.cv_folds": 2,
            "churn.n_estimators": 50,
            "output.model_dir": str(tmp / "model"),
            **overrides,
        },
    )
    cfg = yaml.safe_load(p.read_text())
    cfg["compare"] = compare
    p.write_text(yaml.safe_dump(cfg))
    return p


@pytest.fixture(scope="module")
def sample_comparison(tmp_path_factory):
    from cxml.pipelines import compare

    tmp = tmp_path_factory.mktemp("compare")
    cfg = compare_config(tmp, {"candidates": CANDIDATES, "cutoffs": 2})
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    return compare(cfg, tracking_uri=uri), tmp


@pytest.mark.slow
def test_leaderboard_reproduces_published_cdnow_numbers(sample_comparison):
    result, _ = sample_comparison
    board = result.leaderboard.set_index("candidate")
    assert list(board.index) == ["bgnbd", "mbgnbd", "pnbd"]
    assert set(board["cutoff"]) == {"1997-09-30"}
    # Fader, Hardie & Lee (2005); lifetimes for MBG/NBD and Pareto/NBD
    assert board["log_likelihood"].to_dict() == pytest.approx(
        {"bgnbd": -9582.43, "mbgnbd": -9582.13, "pnbd": -9594.97}, abs=0.01
    )
    assert (board["holdout_purchases_actual"] == 1882).all()
    assert board.loc["bgnbd", "holdout_purchases_predicted"] == pytest.approx(1653.4, abs=0.1)
    assert board.loc["pnbd", "holdout_purchases_predicted"] == pytest.approx(1665.5, abs=0.1)
    # AIC / BIC of 4 parameters on the 2,357 customers
    assert board.loc["bgnbd", "aic"] == pytest.approx(8 + 2 * 9582.43, abs=0.02)
    assert board.loc["bgnbd", "bic"] == pytest.approx(4 * np.log(2357) + 2 * 9582.43, abs=0.02)
    assert (board["n_customers"] == 2357).all()
    assert board["churn_auc"].between(0.7, 0.8).all()
    assert board["value_gini"].between(0.5, 0.8).all()


@pytest.mark.slow
def test_cutoffs_without_history_are_skipped_and_said(sample_comparison):
    result, _ = sample_comparison
    assert result.cutoffs == ["1997-09-30"]
    assert result.skipped == ["cut-off 1996-12-31: before the first transaction (1997-01-01)"]


@pytest.mark.slow
def test_bootstrap_columns_measure_the_difference_to_the_best(sample_comparison):
    result, _ = sample_comparison
    board = result.leaderboard.set_index("candidate")
    for metric in ("churn_auc", "value_gini"):
        best = result.best[metric]
        assert best == board[metric].idxmax()
        assert board.loc[
            best, [f"{metric}_diff", f"{metric}_diff_low", f"{metric}_diff_high"]
        ].tolist() == [0.0, 0.0, 0.0]
        others = board.drop(index=best)
        assert (others[f"{metric}_diff"] == others[metric] - board.loc[best, metric]).all()
        assert (others[f"{metric}_diff_low"] <= others[f"{metric}_diff"]).all()
        assert (others[f"{metric}_diff"] <= others[f"{metric}_diff_high"]).all()


@pytest.mark.slow
def test_mlflow_parent_run_with_one_nested_run_per_candidate(sample_comparison):
    import mlflow

    from cxml.tracking import compare_runs

    result, _ = sample_comparison
    client = mlflow.tracking.MlflowClient(result.tracking_uri)
    parent = client.get_run(result.run_id)
    assert parent.data.tags["cxml.pipeline"] == "compare"
    assert parent.data.params["compare.candidates"] == "bgnbd,mbgnbd,pnbd"
    artifacts = {
        a.path for d in ("plots", "tables") for a in client.list_artifacts(result.run_id, d)
    }
    assert {
        "plots/cumulative_holdout_purchases.png",
        "plots/roc.png",
        "tables/leaderboard.parquet",
        "tables/leaderboard_summary.parquet",
    } <= artifacts
    children = client.search_runs(
        [parent.info.experiment_id], f"tags.mlflow.parentRunId = '{result.run_id}'"
    )
    by_name = {r.info.run_name: r for r in children}
    assert set(by_name) == {"bgnbd", "mbgnbd", "pnbd"}
    assert by_name["pnbd"].data.params["btyd.purchase_model"] == "pnbd"
    assert by_name["pnbd"].data.metrics["log_likelihood"] == pytest.approx(-9594.97, abs=0.01)
    table = compare_runs(result.tracking_uri, parent=result.run_id[:8])
    assert sorted(table.loc["run_name"]) == ["bgnbd", "mbgnbd", "pnbd"]
    assert "metric:bic" in table.index


def test_candidate_override_typo_is_refused_naming_candidate_and_key(tmp_path):
    from cxml.exceptions import ConfigError
    from cxml.pipelines import load_config

    cfg = compare_config(
        tmp_path,
        {"candidates": [{"name": "bgnbd"}, {"name": "pnbd", "btyd": {"purchase_modle": "pnbd"}}]},
    )
    with pytest.raises(
        ConfigError,
        match=r"compare\.candidates\[1\] 'pnbd': "
        r"btyd\.purchase_modle: unknown key; did you mean "
        r"'purchase_model'\?",
    ):
        load_config(cfg)


@pytest.mark.parametrize(
    "candidates, message",
    [
        ([], r"compare\.candidates: List should have at least 1 item"),
        ([{"btyd": {}}], r"compare\.candidates\[0\]: every candidate needs a 'name'"),
        ([{"name": "a"}, {"name": "a"}], r"candidates\[1\] 'a': the name is used twice"),
        (
            [{"name": "a", "time": {"time_unit": "D"}}],
            r"candidates\[0\] 'a': cannot override 'time'.*btyd, churn, clv",
        ),
        (
            [{"name": "a", "btyd": {"purchase_model": "weibull"}}],
            r"candidates\[0\] 'a': btyd\.purchase_model: "
            r"Input should be 'bgnbd', 'mbgnbd' or 'pnbd'",
        ),
    ],
)
def test_bad_compare_sections_are_refused(tmp_path, candidates, message):
    from cxml.exceptions import ConfigError
    from cxml.pipelines import load_config

    with pytest.raises(ConfigError, match=message):
        load_config(compare_config(tmp_path, {"candidates": candidates}))


def test_compare_needs_a_compare_section_and_a_known_metric(tmp_path):
    from cxml.exceptions import ConfigError, CxmlUserError
    from cxml.pipelines import compare

    with pytest.raises(ConfigError, match="has no compare: section"):
        compare(write_config(tmp_path), log=False)
    cfg = compare_config(tmp_path, {"candidates": CANDIDATES})
    with pytest.raises(
        CxmlUserError,
        match=r"--select 'auc' is not a leaderboard metric; "
        r"use one of log_likelihood, aic, bic",
    ):
        compare(cfg, select="auc", log=False)


def _oracle(y, preds, ref, metric, seed):
    """Differences on the first resample, computed with the scalar metrics."""
    from sklearn.metrics import roc_auc_score

    from cxml.evaluation import normalized_gini

    idx = np.random.default_rng(seed).integers(0, len(y), size=(1, len(y)))[0]
    f = roc_auc_score if metric == "auc" else normalized_gini
    return {k: f(y[idx], p[idx]) - f(y[idx], preds[ref][idx]) for k, p in preds.items()}


@pytest.mark.parametrize("metric", ["auc", "gini"])
def test_paired_bootstrap_matches_the_scalar_metric_on_each_resample(metric):
    from cxml.pipelines import paired_bootstrap

    rng = np.random.default_rng(3)
    n = 400
    signal = rng.normal(size=n)
    y = (
        ((signal + rng.normal(size=n)) > 0).astype(float)
        if metric == "auc"
        else np.where(rng.random(n) < 0.4, 0.0, np.exp(signal + rng.normal(size=n)))
    )
    preds = {
        "good": signal + 0.3 * rng.normal(size=n),
        "bad": signal + 2 * rng.normal(size=n),
        # ties, as in real scores
        "rounded": np.round(signal, 1),
    }
    out = paired_bootstrap(y, preds, reference="good", metric=metric, n_resamples=1, seed=7)
    expected = _oracle(y, preds, "good", metric, 7)
    for k in preds:
        assert out[k][1] == pytest.approx(expected[k], abs=1e-12)
        assert out[k][2] == pytest.approx(expected[k], abs=1e-12)
    assert out["good"] == (0.0, 0.0, 0.0)
    many = paired_bootstrap(y, preds, reference="good", metric=metric, n_resamples=1000, seed=0)
    d, lo, hi = many["bad"]
    assert lo < d < hi < 0  # clearly worse: the whole interval is below 0
    again = paired_bootstrap(y, preds, reference="good", metric=metric, n_resamples=1000, seed=0)
    assert again == many  # fixed seed


@pytest.mark.slow
def test_cli_compare_writes_the_leaderboard_and_selects_the_best(tmp_path):
    import mlflow

    cfg = compare_config(tmp_path, {"candidates": CANDIDATES, "bootstrap": 200})
    out = tmp_path / "leaderboard.csv"
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    proc = subprocess.run(
        [
            CXML,
            "compare",
            "-c",
            str(cfg),
            "--output",
            str(out),
            "--tracking-uri",
            uri,
            "--select",
            "bic",
            "--register",
            "cxml-best",
            "--alias",
            "champion",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    board = pd.read_csv(out).set_index("candidate")
    assert board["log_likelihood"].to_dict() == pytest.approx(
        {"bgnbd": -9582.43, "mbgnbd": -9582.13, "pnbd": -9594.97}, abs=0.01
    )
    assert board.loc["bgnbd", "holdout_purchases_predicted"] == pytest.approx(1653.4, abs=0.1)
    assert board.loc["pnbd", "holdout_purchases_predicted"] == pytest.approx(1665.5, abs=0.1)
    assert set(board["cutoff"]) == {"1997-09-30"}
    assert "-9,582.43" in proc.stdout and "holdout purchases actual: 1,882" in proc.stdout
    # MBG/NBD has the lowest BIC: it is trained and saved like `cxml train`
    assert "selected mbgnbd by bic" in proc.stdout
    from cxml.pipelines import ModelBundle

    bundle = ModelBundle.load(tmp_path / "model")
    assert type(bundle.purchase_model).__name__ == "ModifiedBetaGeoModel"
    client = mlflow.tracking.MlflowClient(uri)
    runs = client.search_runs(
        [client.get_experiment_by_name("cxml").experiment_id],
        "tags.`cxml.compare.selected` = 'mbgnbd'",
    )
    assert len(runs) == 1
    tags = runs[0].data.tags
    assert tags["cxml.compare.why"].startswith(
        "best mean bic over 1 cut-off(s) (1997-09-30): 19195.3; next bgnbd 19195.9"
    )
    assert tags["cxml.compare.selected_by"] == "bic"
    assert float(tags["cxml.compare.selected_value"]) == pytest.approx(
        4 * np.log(2357) + 2 * 9582.13, abs=0.1
    )
    assert tags["cxml.compare.runner_up"] == "bgnbd"
    assert "cxml.compare.runner_up_diff_low" not in tags  # BIC has no bootstrap interval
    # --register: the selected model is a registered version, like `cxml train --register`
    assert "registered cxml-best version 1: models:/cxml-best@champion" in proc.stdout
    version = client.get_model_version_by_alias("cxml-best", "champion")
    assert version.run_id == runs[0].info.run_id
    assert version.tags["cxml.compare.selected"] == "mbgnbd"
    assert version.tags["cxml.compare.why"] == tags["cxml.compare.why"]
    from cxml.tracking import local_model_path

    registered = ModelBundle.load(local_model_path("models:/cxml-best@champion", tracking_uri=uri))
    assert registered.model_version == f"cxml-best/1@{bundle.model_version}"
    assert type(registered.purchase_model).__name__ == "ModifiedBetaGeoModel"


@pytest.mark.slow
@pytest.mark.parametrize("metric", ["churn_auc", "value_gini"])
def test_selection_reason_names_runner_up_and_bootstrap_interval(sample_comparison, metric):
    from cxml.pipelines._compare import selection_reason

    result, _ = sample_comparison
    board = result.leaderboard.set_index("candidate")
    tags = selection_reason(result, metric)
    ranked = board[metric].sort_values(ascending=False)
    winner, runner = ranked.index[:2]
    assert tags["cxml.compare.selected"] == winner == result.best[metric]
    assert tags["cxml.compare.runner_up"] == runner
    assert float(tags["cxml.compare.selected_value"]) == pytest.approx(ranked.iloc[0], rel=1e-5)
    assert float(tags["cxml.compare.runner_up_value"]) == pytest.approx(ranked.iloc[1], rel=1e-5)
    diff, lo, hi = (board.loc[runner, f"{metric}_diff{x}"] for x in ("", "_low", "_high"))
    assert float(tags["cxml.compare.runner_up_diff"]) == pytest.approx(diff, rel=1e-3)
    assert float(tags["cxml.compare.runner_up_diff_low"]) == pytest.approx(lo, rel=1e-3)
    assert float(tags["cxml.compare.runner_up_diff_high"]) == pytest.approx(hi, rel=1e-3)
    assert lo <= diff <= hi and diff <= 0
    why = tags["cxml.compare.why"]
    assert why.startswith(f"best mean {metric} over 1 cut-off(s) (1997-09-30): ")
    assert f"; {runner} - {winner} = {diff:+.4g}, paired bootstrap 95% interval " in why
    assert why.endswith("(contains 0: not distinguishable)") == (lo <= 0 <= hi)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--select", "auc"], "--select 'auc' is not a leaderboard metric"),
        (["--output", "board.txt"], "board.txt"),
        (["--register", "m"], "--register needs --select METRIC"),
        (["--select", "bic", "--alias", "champion"], "--alias needs --register NAME"),
    ],
)
def test_cli_bad_input_is_exit_2_one_line(tmp_path, args, message):
    cfg = compare_config(tmp_path, {"candidates": CANDIDATES})
    proc = subprocess.run(
        [CXML, "compare", "-c", str(cfg), *args], capture_output=True, text=True, cwd=tmp_path
    )
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("cxml: error")]
    assert len(lines) == 1 and message in lines[0], proc.stderr


def test_cli_unknown_candidate_key_is_exit_2(tmp_path):
    cfg = compare_config(tmp_path, {"candidates": [{"name": "x", "btyd": {"penalty": 1}}]})
    proc = subprocess.run(
        [CXML, "compare", "-c", str(cfg)], capture_output=True, text=True, cwd=tmp_path
    )
    assert proc.returncode == 2
    assert "compare.candidates[0] 'x': btyd.penalty: unknown key" in proc.stderr


def test_cli_help_documents_the_config_section():
    proc = subprocess.run([CXML, "compare", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0
    for text in (
        "compare:",
        "cutoffs:",
        "bootstrap:",
        "candidates:",
        "{name: pnbd, btyd: {purchase_model: pnbd",
    ):
        assert text in proc.stdout


def test_the_example_compare_config_is_valid():
    from conftest import ROOT
    from cxml.pipelines import candidate_configs, load_config

    cfg = load_config(ROOT / "configs" / "cdnow_sample_compare.yaml")
    assert cfg.data.transactions == "cdnow:sample"
    assert [(n, c.btyd.purchase_model) for n, c in candidate_configs(cfg)] == [
        ("bgnbd", "bgnbd"),
        ("mbgnbd", "mbgnbd"),
        ("pnbd", "pnbd"),
    ]
