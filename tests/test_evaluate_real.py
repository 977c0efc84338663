"""cxml.pipelines.evaluate on real data, public protocols (CDNOW master, Online Retail II).

The cxml churn model must beat every baseline on the same customers, and the LightGBM value
model must rank and total holdout spend better than BG/NBD x Gamma-Gamma. Settings are
lighter than benchmarks/eval_real.py (3 folds, fewer past cut-offs) to keep the file near
two minutes on two shared cores; the benchmark reports the full numbers.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from cxml.pipelines import evaluate

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
OR_PATH = SHARED_DATA / "online_retail_ii" / "online_retail_ii.parquet"

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


def _bench():
    spec = importlib.util.spec_from_file_location("eval_real", ROOT / "benchmarks" / "eval_real.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _check_churn_beats_baselines(table):
    baselines = table.drop(index="cxml")
    assert table.loc["cxml", "churn_auc"] > baselines["churn_auc"].max()
    assert table.loc["cxml", "churn_pr_auc"] > baselines["churn_pr_auc"].max()
    assert table.loc["cxml", "churn_brier"] < baselines["churn_brier"].min()


def test_cdnow_master_public_protocol():
    from cxml.datasets import load_cdnow

    table = evaluate(
        load_cdnow("master"),
        calibration_end="1997-09-30",
        observation_end="1998-06-30",
        folds=3,
        quantity="quantity",
    )
    assert table.attrs["training"] == "cross_fit"  # the Q1-1997 cohort: no past cut-off
    assert (table["n_customers"] == 23570).all()
    assert table.loc["cxml", "churn_churn_rate"] == pytest.approx(1 - 7058 / 23570, abs=1e-9)
    # BG/NBD x Gamma-Gamma baseline of the brief: Spearman 0.421, Gini 0.672, -17 %
    btyd = table.loc["bgnbd_expected"]
    assert btyd["value_spearman"] == pytest.approx(0.421, abs=0.001)
    assert btyd["value_gini"] == pytest.approx(0.672, abs=0.001)
    assert btyd["value_aggregate_error"] == pytest.approx(-0.173, abs=0.001)
    assert btyd["churn_auc"] == pytest.approx(0.763, abs=0.001)
    assert table.loc["cxml", "churn_auc"] > 0.768
    _check_churn_beats_baselines(table)
    # the LightGBM value model beats BG/NBD x Gamma-Gamma on every value measure here
    cx = table.loc["cxml"]
    assert cx["value_spearman"] > btyd["value_spearman"] + 0.01
    assert cx["value_gini"] > btyd["value_gini"] + 0.02
    assert abs(cx["value_aggregate_error"]) < 0.05
    assert cx["value_decile_mape"] < btyd["value_decile_mape"] / 2


@pytest.mark.skipif(not OR_PATH.is_file(), reason=f"{OR_PATH} not found")
def test_online_retail_public_protocol():
    tx = _bench().load_online_retail(OR_PATH)
    table = evaluate(
        tx,
        calibration_end="2011-06-09",
        observation_end="2011-12-09",
        folds=3,
        max_snapshots=2,
        snapshot_step_days=91,
        **_bench().OR_COLUMNS,
    )
    assert table.attrs["training"] == "both"
    # label windows of 183 days (the holdout's length) ending by 2011-06-09
    assert table.attrs["snapshots"] == ["2010-09-08", "2010-12-08"]
    # the protocol's published counts: 4,969 customers, 51.9 % active, 7,797 holdout days
    assert (table["n_customers"] == 4969).all()
    assert 1 - table.loc["cxml", "churn_churn_rate"] == pytest.approx(0.519, abs=0.001)
    assert table.loc["bgnbd_expected", "purchases_actual_total"] == 7797
    assert table.loc["bgnbd_expected", "churn_auc"] == pytest.approx(0.807, abs=0.001)
    assert table.loc["cxml", "churn_auc"] > 0.81
    _check_churn_beats_baselines(table)
    # value: the totals are far better than BG/NBD x Gamma-Gamma's (-18 %), the ranking is
    # close to it but not better on this split (see the benchmark)
    cx, btyd = table.loc["cxml"], table.loc["bgnbd_expected"]
    assert btyd["value_aggregate_error"] == pytest.approx(-0.182, abs=0.001)
    assert abs(cx["value_aggregate_error"]) < 0.05
    assert cx["value_spearman"] > btyd["value_spearman"] - 0.02
    assert cx["value_gini"] > 0.8
    assert np.isfinite(cx["value_decile_mape"])
