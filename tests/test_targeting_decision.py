"""Target lists (issue 19, lines 3 and 6): expected incremental value = uplift x value -
contact cost, best arm per customer including none, contact and money budgets, and the
``cxml target`` command (exit 0 with the expected total effect, exit 2 on bad input)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxml.cli import main
from cxml.exceptions import DataValidationError
from cxml.targeting import TARGET_COLUMNS, UpliftClassifier, UpliftRegressor, select_targets

UP = pd.DataFrame(
    {"mens": [0.10, 0.02, 0.30, -0.05, 0.04], "womens": [0.05, 0.08, 0.10, -0.01, 0.01]},
    index=pd.Index(["a", "b", "c", "d", "e"], name="customer_id"),
)
CLV = pd.Series([100.0, 200.0, 10.0, 500.0, np.nan], index=UP.index)


def test_best_arm_and_value_by_hand():
    out = select_targets(UP, value=CLV, cost_per_contact=2.0)
    # EIV: a: mens 10-2=8 (womens 3); b: womens 16-2=14 (mens 2); c: mens 3-2=1 (womens -1);
    # d: both negative -> none (not listed); e: no CLV -> not a candidate.
    assert out.index.tolist() == ["b", "a", "c"]
    assert out["arm"].tolist() == ["womens", "mens", "mens"]
    np.testing.assert_allclose(out["expected_incremental_value"], [14.0, 8.0, 1.0])
    np.testing.assert_allclose(out["uplift"], [0.08, 0.10, 0.30])
    np.testing.assert_allclose(out["cumulative_cost"], [2.0, 4.0, 6.0])
    assert out["rank"].tolist() == [1, 2, 3]
    assert list(out.columns) == TARGET_COLUMNS
    assert out.loc["b", "reason"] == (
        "womens: uplift +0.0800 x value 200.00 - cost 2.00 = +14.00; next best mens +2.00, none 0"
    )


def test_budgets_and_per_arm_costs():
    assert select_targets(UP, value=CLV, cost_per_contact=2.0, budget=2).index.tolist() == [
        "b",
        "a",
    ]
    money = select_targets(UP, value=CLV, cost_per_contact=2.0, budget=5, budget_kind="money")
    assert money.index.tolist() == ["b", "a"]
    # Women's e-mail costs 15: b now gains more from mens (4-1) than womens (16-15).
    per_arm = select_targets(UP, value=CLV, cost_per_contact={"mens": 1.0, "womens": 15.0})
    assert per_arm.loc["b", "arm"] == "mens"
    assert per_arm.loc["b", "expected_incremental_value"] == pytest.approx(3.0)
    # A single margin for everyone.
    flat = select_targets(UP, value=50.0, cost_per_contact=1.0)
    assert flat.index.tolist() == ["c", "a", "b", "e"]


def test_decision_errors():
    with pytest.raises(
        DataValidationError,
        match=r"cost_per_contact has no cost for arm\(s\) "
        r"\['womens'\]",
    ):
        select_targets(UP, cost_per_contact={"mens": 1.0})
    with pytest.raises(
        DataValidationError,
        match=r"value has 1 negative entr\(y/ies\) \(e\.g\. -3\.0 for "
        r"customer 'c'\)",
    ):
        select_targets(UP, value=CLV.where(CLV.index != "c", -3.0))
    with pytest.raises(DataValidationError, match=r"budget_kind='euros' is not one of"):
        select_targets(UP, budget=3, budget_kind="euros")


# -- the command ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    """A 2-arm campaign on cxml-like score features; the e-mail helps frequent buyers."""
    rng = np.random.default_rng(7)
    n = 6000
    feats = pd.DataFrame(
        {
            "frequency": rng.poisson(3, n).astype(float),
            "recency": rng.uniform(0, 50, n),
            "rfm_segment": rng.choice(["Champions", "At Risk", "Lost"], n),
        }
    )
    t = rng.choice(["none", "email"], n)
    p = 0.1 + np.where(t == "email", 0.03 * np.minimum(feats["frequency"], 6), 0.0)
    y = rng.binomial(1, p)
    d = tmp_path_factory.mktemp("uplift")
    model = UpliftClassifier(control="none", n_estimators=50, random_state=0).fit(feats, t, y)
    model.save(d / "model")
    scores = feats.head(1000).assign(
        customer_id=[f"c{i}" for i in range(1000)], clv=rng.gamma(2.0, 50.0, 1000)
    )
    scores.loc[scores.index[:3], "clv"] = np.nan
    scores.to_parquet(d / "scores.parquet")
    return d, model, scores


def test_cxml_target_writes_the_list_and_prints_the_total(campaign, capsys):
    d, model, scores = campaign
    out = d / "targets.parquet"
    rc = main(
        [
            "target",
            "--scores",
            str(d / "scores.parquet"),
            "--uplift-model",
            str(d / "model"),
            "--budget",
            "100",
            "--cost-per-contact",
            "0.5",
            "--output",
            str(out),
        ]
    )
    assert rc == 0
    got = pd.read_parquet(out)
    assert len(got) == 100 and list(got.columns) == ["customer_id", *TARGET_COLUMNS]
    expected = select_targets(
        model.predict_uplift(scores.set_index("customer_id")),
        value=scores.set_index("customer_id")["clv"],
        cost_per_contact=0.5,
        budget=100,
    )
    assert got["customer_id"].tolist() == expected.index.tolist()
    total = expected["expected_incremental_value"].sum()
    text = " ".join(capsys.readouterr().out.split())
    assert "selected 100 of 1,000 customers (email: 100)" in text
    assert f"expected total effect {total:+,.2f} (value: clv, net of contact cost)" in text
    assert "3 customer(s) without a clv were not considered" in text


@pytest.mark.parametrize(
    "args, message",
    [
        (["--value-column", "nope"], "no 'nope' column for the value of a response"),
        (["--margin", "5", "--value-column", "clv"], "give --value-column or --margin, not both"),
        (["--budget-kind", "euros"], "budget_kind='euros' is not one of"),
    ],
)
def test_cxml_target_bad_input_exits_2(campaign, capsys, args, message):
    d, _, _ = campaign
    out = d / "bad.parquet"
    rc = main(
        [
            "target",
            "--scores",
            str(d / "scores.parquet"),
            "--uplift-model",
            str(d / "model"),
            "--output",
            str(out),
            *args,
        ]
    )
    assert rc == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()


def test_cxml_target_missing_features_and_model(campaign, tmp_path, capsys):
    d, _, scores = campaign
    scores.drop(columns="frequency").to_parquet(tmp_path / "s.parquet")
    rc = main(
        [
            "target",
            "--scores",
            str(tmp_path / "s.parquet"),
            "--uplift-model",
            str(d / "model"),
            "--output",
            str(tmp_path / "t.csv"),
        ]
    )
    assert rc == 2
    assert (
        "X lacks 1 feature column(s) the model was fitted on: ['frequency']"
        in capsys.readouterr().err
    )
    rc = main(
        [
            "target",
            "--scores",
            str(d / "scores.parquet"),
            "--uplift-model",
            str(tmp_path / "nomodel"),
            "--output",
            str(tmp_path / "t.csv"),
        ]
    )
    assert rc == 2
    assert "cannot read uplift.json" in capsys.readouterr().err


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 60),
    budget=st.integers(0, 70),
    cost=st.floats(0, 5),
)
def test_budget_takes_a_prefix_of_the_ranking(seed, n, budget, cost):
    rng = np.random.default_rng(seed)
    up = pd.DataFrame({"a": rng.normal(0.02, 0.05, n), "b": rng.normal(0.0, 0.05, n)})
    value = pd.Series(rng.gamma(2.0, 50.0, n))
    full = select_targets(up, value=value, cost_per_contact=cost)
    capped = select_targets(up, value=value, cost_per_contact=cost, budget=budget)
    assert capped.index.tolist() == full.index.tolist()[:budget]
    assert (full["expected_incremental_value"] > 0).all()
    assert full["expected_incremental_value"].is_monotonic_decreasing
    # The chosen arm is the best one, and beats not contacting.
    eiv = up.mul(value, axis=0) - cost
    np.testing.assert_allclose(full["expected_incremental_value"], eiv.loc[full.index].max(axis=1))
    money = select_targets(
        up, value=value, cost_per_contact=cost, budget=float(budget), budget_kind="money"
    )
    assert money["cost"].sum() <= budget + 1e-9


def test_cxml_target_with_a_spend_model_and_a_margin(campaign, tmp_path, capsys):
    """UpliftRegressor (incremental spend) x a margin rate, under a money budget."""
    d, _, scores = campaign
    rng = np.random.default_rng(11)
    X = scores.set_index("customer_id")[["frequency", "recency", "rfm_segment"]]
    t = rng.choice(["none", "email"], len(X))
    spend = rng.gamma(2.0, 20.0, len(X)) * (1 + (t == "email") * (X["frequency"] > 3))
    UpliftRegressor(control="none", n_estimators=30, random_state=0).fit(X, t, spend).save(
        tmp_path / "spend"
    )
    out = tmp_path / "targets.csv"
    rc = main(
        [
            "target",
            "--scores",
            str(d / "scores.parquet"),
            "--uplift-model",
            str(tmp_path / "spend"),
            "--margin",
            "0.3",
            "--cost-per-contact",
            "2",
            "--budget",
            "50",
            "--budget-kind",
            "money",
            "--output",
            str(out),
        ]
    )
    assert rc == 0
    got = pd.read_csv(out)
    assert len(got) == 25 and got["cost"].sum() == 50  # 25 contacts at 2 each
    np.testing.assert_allclose(got["expected_incremental_value"], got["uplift"] * 0.3 - 2)
    text = " ".join(capsys.readouterr().out.split())
    assert (
        f"expected total effect {got['expected_incremental_value'].sum():+,.2f} "
        "(value: margin 0.3, net of contact cost)" in text
    )
