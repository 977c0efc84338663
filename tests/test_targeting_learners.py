"""Uplift meta-learners (issue 19, lines 1 and 6): recovery on simulated data with a known
uplift, agreement with the difference of means on Hillstrom, the sklearn protocol,
persistence, and one clear error per bad input."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from sklearn.base import clone

from cxml.datasets import HILLSTROM_FEATURES
from cxml.exceptions import CxmlUserError, DataValidationError, ModelLoadError, NotFittedError
from cxml.targeting import UpliftClassifier, UpliftRegressor

ROOT = Path(__file__).resolve().parents[1]


def shared_data() -> Path | None:
    """../shared/data next to the checkout (or two levels up, for a git worktree)."""
    env = os.environ.get("CXML_SHARED_DATA")
    candidates = [Path(env)] if env else []
    candidates += [ROOT.parent / "shared" / "data", ROOT.parent.parent / "shared" / "data"]
    return next((p for p in candidates if p.is_dir()), None)


HILLSTROM = (shared_data() or Path("/nonexistent")) / "hillstrom_email" / "hillstrom.parquet"
FEATURES = HILLSTROM_FEATURES  # the loader's list: one definition


def simulate(n: int = 24_000, seed: int = 0):
    """Three arms with known uplift functions in probability space.

    control: p0(x) = 0.2 + 0.1 sigmoid(x1); arm "a": tau_a = 0.2 sigmoid(3 x2) - 0.05
    (from -0.05 to 0.15); arm "b": tau_b = 0.12 if region == "north" else -0.02.
    """
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "x1": rng.normal(size=n),
            "x2": rng.normal(size=n),
            "region": rng.choice(["north", "south", "east"], n),
            "noise": rng.normal(size=n),
        }
    )

    def sig(z):
        return 1 / (1 + np.exp(-z))

    p0 = 0.2 + 0.1 * sig(X["x1"].to_numpy())
    tau = pd.DataFrame(
        {
            "a": 0.2 * sig(3 * X["x2"].to_numpy()) - 0.05,
            "b": np.where(X["region"] == "north", 0.12, -0.02),
        },
        index=X.index,
    )
    t = rng.choice(["ctrl", "a", "b"], n)
    p = p0 + np.select([t == "a", t == "b"], [tau["a"], tau["b"]], 0.0)
    y = rng.binomial(1, p)
    spend = y * rng.gamma(2.0, 25.0, n)
    return X, t, y, spend, tau


@pytest.fixture(scope="module")
def sim():
    return simulate()


@pytest.mark.parametrize("learner", ["t", "x", "dr"])
def test_learners_recover_the_ranking_of_a_known_uplift(sim, learner):
    X, t, y, _, _ = sim
    model = UpliftClassifier(control="ctrl", learner=learner, random_state=0).fit(X, t, y)
    test_X, *_, test_tau = simulate(n=4000, seed=1)
    pred = model.predict_uplift(test_X)
    assert list(pred.columns) == ["a", "b"]
    assert pred.index.equals(test_X.index)
    for arm in ["a", "b"]:
        rho = spearmanr(pred[arm], test_tau[arm]).statistic
        assert rho > 0.5, (learner, arm, rho)
    # The average effect is the simulated one (0.05 for "a", 1/3*0.12 - 2/3*0.02 for "b").
    assert pred["a"].mean() == pytest.approx(test_tau["a"].mean(), abs=0.02)
    assert pred["b"].mean() == pytest.approx(test_tau["b"].mean(), abs=0.02)


def test_regressor_recovers_incremental_spend(sim):
    X, t, _, spend, _ = sim
    model = UpliftRegressor(control="ctrl", learner="x", random_state=0).fit(X, t, spend)
    test_X, *_, test_tau = simulate(n=4000, seed=1)
    pred = model.predict_uplift(test_X)
    # E[spend] = p * 50, so the true incremental spend is 50 tau.
    assert spearmanr(pred["b"], test_tau["b"]).statistic > 0.5
    assert pred["b"].mean() == pytest.approx(50 * test_tau["b"].mean(), abs=1.0)


def test_sklearn_protocol_and_unseen_category(sim):
    X, t, y, _, _ = sim
    model = UpliftClassifier(control="ctrl", n_estimators=30, random_state=3)
    params = model.get_params()
    assert params["control"] == "ctrl" and params["learner"] == "t"
    assert clone(model).get_params() == params
    with pytest.raises(NotFittedError, match="not fitted yet: call fit"):
        model.predict_uplift(X)
    model.fit(X, t, y)
    assert model.arms_ == ["a", "b"] and model.n_features_in_ == 4
    assert model.n_rows_per_arm_ == {k: int((t == k).sum()) for k in ["a", "b", "ctrl"]}
    assert not hasattr(clone(model), "arms_")
    new = X.head(3).copy()
    new["region"] = ["west", None, "north"]  # unseen and missing: scored as missing
    pred = model.predict_uplift(new)
    assert np.isfinite(pred.to_numpy()).all()
    assert model.predict_uplift(X.head(3)[::-1]).index.tolist() == [2, 1, 0]
    response = model.predict_response(X.head(5))
    assert list(response.columns) == ["ctrl", "a", "b"]
    np.testing.assert_allclose(
        response["a"] - response["ctrl"], model.predict_uplift(X.head(5))["a"]
    )


@pytest.mark.parametrize("learner", ["t", "x", "dr"])
def test_save_load_round_trip_without_pickle(sim, tmp_path, learner):
    X, t, y, _, _ = sim
    model = UpliftClassifier(control="ctrl", learner=learner, n_estimators=30).fit(X, t, y)
    model.save(tmp_path)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert "uplift.json" in files and not any(f.endswith((".pkl", ".pickle")) for f in files)
    meta = json.loads((tmp_path / "uplift.json").read_text())
    assert meta["labels"] == ["ctrl", "a", "b"]
    assert meta["encoding"]["categories"] == {"region": ["east", "north", "south"]}
    loaded = UpliftClassifier.load(tmp_path)
    pd.testing.assert_frame_equal(
        loaded.predict_uplift(X.head(200)), model.predict_uplift(X.head(200))
    )
    with pytest.raises(ModelLoadError, match="holds a UpliftClassifier, not a UpliftRegressor"):
        UpliftRegressor.load(tmp_path)
    with pytest.raises(ModelLoadError, match="cannot read uplift.json"):
        UpliftClassifier.load(tmp_path / "nowhere")


# -- DR-learner (Kennedy 2023) ----------------------------------------------------------------
def simulate_continuous(n: int, seed: int):
    """y = 2 + x1 + tau_W(x) + N(0, 1), arms drawn with probability 1/3 each.

    tau_a(x) = 1 + x2 (mean 1, sd 1); tau_b(x) = 1 if region == "north" else -0.5.
    """
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "x1": rng.normal(size=n),
            "x2": rng.normal(size=n),
            "region": rng.choice(["north", "south"], n),
        }
    )
    tau = pd.DataFrame(
        {"a": 1 + X["x2"].to_numpy(), "b": np.where(X["region"] == "north", 1.0, -0.5)},
        index=X.index,
    )
    t = rng.choice(["ctrl", "a", "b"], n)
    effect = np.select([t == "a", t == "b"], [tau["a"], tau["b"]], 0.0)
    y = 2 + X["x1"].to_numpy() + effect + rng.normal(size=n)
    return X, t, y, tau


@pytest.mark.parametrize("propensity", [None, "shares", {"ctrl": 1 / 3, "a": 1 / 3, "b": 1 / 3}])
def test_dr_learner_recovers_a_known_heterogeneous_effect(propensity):
    X, t, y, tau = simulate_continuous(6000, seed=0)
    model = UpliftRegressor(control="ctrl", learner="dr", propensity=propensity, random_state=0)
    model.fit(X, t, y)
    test_X, _, _, test_tau = simulate_continuous(2000, seed=1)
    pred = model.predict_uplift(test_X)
    for arm in ["a", "b"]:
        assert np.corrcoef(pred[arm], test_tau[arm])[0, 1] > 0.85, arm  # 0.86-0.93 measured
        # Tolerance from the AIPW standard error: the unit noise variance over e = 1/2 on
        # each side, plus Var(tau) (1 for "a", 0.5625 for "b"), over the ~4,000 rows of the
        # arm and control: se ~ sqrt(5 / 4000) = 0.035; 4 se.
        assert pred[arm].mean() == pytest.approx(test_tau[arm].mean(), abs=0.14), arm
        # The AIPW average effect covers the true mean effect on the training rows.
        estimate, se = model.ate_[arm]
        rows = (t == arm) | (t == "ctrl")
        assert 0.03 < se < 0.045
        assert abs(estimate - tau[arm][rows].mean()) < 3 * se, (arm, estimate, se)
    if propensity is not None:  # known: the pairwise share, 1/2 by design or ~1/2 observed
        assert model.propensity_["a"] == pytest.approx(0.5, abs=0.02)


def test_dr_learner_cross_fits_the_outcome_models():
    # Pure noise and outcome models that memorise their training rows. Cross-fitted, the
    # pseudo-outcomes' variance is at least the AIPW bound Var(y)/e + Var(y)/(1 - e) (no
    # effect, e = 1/2); outcome models evaluated on their own rows would leave residuals
    # near 0 and a variance far below it (0.36 against 0.84, measured).
    rng = np.random.default_rng(0)
    n = 4000
    X = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n)})
    t = rng.choice(["c", "k"], n)
    y = rng.binomial(1, 0.3, n)
    memorise = dict(num_leaves=63, min_child_samples=2, n_estimators=300, learning_rate=0.3)
    for n_folds in [2, 5]:
        model = UpliftClassifier(
            control="c",
            learner="dr",
            propensity="shares",
            n_folds=n_folds,
            reg_lambda=0.0,
            random_state=0,
            **memorise,
        ).fit(X, t, y)
        estimate, se = model.ate_["k"]
        bound = y[t == "k"].var() / 0.5 + y[t == "c"].var() / 0.5
        assert (se * np.sqrt(n)) ** 2 > bound, n_folds
        diff = y[t == "k"].mean() - y[t == "c"].mean()
        assert abs(estimate - diff) < 2 * se  # no effect, and both estimate it
    # The folds are seeded: the same seed gives the same model, another seed another.
    a = UpliftClassifier(control="c", learner="dr", n_estimators=20, random_state=1)
    b = clone(a)
    pa, pb = a.fit(X, t, y).predict_uplift(X), b.fit(X, t, y).predict_uplift(X)
    pd.testing.assert_frame_equal(pa, pb)
    pc = clone(a).set_params(random_state=2).fit(X, t, y).predict_uplift(X)
    assert not np.allclose(pa, pc)


def test_dr_learner_params_clone_and_round_trip_of_a_known_propensity(sim, tmp_path):
    X, t, y, _, _ = sim
    shares = {"ctrl": 1 / 3, "a": 1 / 3, "b": 1 / 3}
    model = UpliftClassifier(
        control="ctrl", learner="dr", propensity=shares, n_folds=3, n_estimators=20
    )
    params = model.get_params()
    assert params["propensity"] == shares and params["n_folds"] == 3
    assert clone(model).get_params() == params
    model.fit(X, t, y)
    assert set(model.effect_models_) == {"a", "b"} and set(model.ate_) == {"a", "b"}
    assert model.propensity_ == {"a": pytest.approx(0.5), "b": pytest.approx(0.5)}
    model.save(tmp_path)
    meta = json.loads((tmp_path / "uplift.json").read_text())
    assert meta["params"]["propensity"] == [["ctrl", 1 / 3], ["a", 1 / 3], ["b", 1 / 3]]
    assert sorted(p.name for p in tmp_path.glob("effect_*.txt")) == ["effect_1.txt", "effect_2.txt"]
    loaded = UpliftClassifier.load(tmp_path)
    assert loaded.get_params() == params
    assert loaded.ate_ == model.ate_ and loaded.propensity_ == model.propensity_
    pd.testing.assert_frame_equal(loaded.predict_uplift(X), model.predict_uplift(X))
    # refitting the clone as a T-learner leaves no DR attribute behind
    t_model = clone(model).set_params(learner="t", propensity=None).fit(X, t, y)
    assert not hasattr(t_model, "ate_")


def test_dr_learner_bad_parameters(small):
    X, t, y = small
    with pytest.raises(
        DataValidationError, match=r"propensity= is used by the DR-learner only \(learner='x'\)"
    ):
        UpliftClassifier(control="none", learner="x", propensity="shares").fit(X, t, y)
    with pytest.raises(
        DataValidationError, match=r"propensity has no probability for arm\(s\) \['none'\]"
    ):
        UpliftClassifier(control="none", learner="dr", propensity={"mail": 0.5}).fit(X, t, y)
    with pytest.raises(DataValidationError, match=r"strictly between 0 and 1 for every arm"):
        UpliftClassifier(control="none", learner="dr", propensity={"mail": 1.0, "none": 0.0}).fit(
            X, t, y
        )
    with pytest.raises(DataValidationError, match=r"propensity=0.5 is not understood"):
        UpliftClassifier(control="none", learner="dr", propensity=0.5).fit(X, t, y)
    with pytest.raises(DataValidationError, match=r"n_folds=1: cross-fitting needs an integer"):
        UpliftClassifier(control="none", learner="dr", n_folds=1).fit(X, t, y)
    with pytest.raises(
        DataValidationError, match=r"arm 'mail' has 150 rows, fewer than 2 x n_folds = 200"
    ):
        UpliftClassifier(control="none", learner="dr", n_folds=100).fit(X, t, y)


# -- bad input (issue line 6) ---------------------------------------------------------------
@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(5)
    X = pd.DataFrame({"x": rng.normal(size=300), "c": rng.choice(["u", "v"], 300)})
    t = np.array(["none", "mail"] * 150, dtype=object)
    y = rng.integers(0, 2, 300)
    return X, t, y


def test_one_arm_only(small):
    X, _, y = small
    with pytest.raises(
        DataValidationError,
        match=r"treatment has a single arm \('none', 300 rows\): uplift needs "
        r"the control arm and at least one treated arm",
    ):
        UpliftClassifier(control="none").fit(X, ["none"] * 300, y)


def test_control_label_absent_names_the_labels_present(small):
    X, t, y = small
    with pytest.raises(
        DataValidationError,
        match=r"control arm 'No E-Mail' is not among the treatment labels "
        r"\['mail', 'none'\]: pass control= one of them",
    ):
        UpliftClassifier(control="No E-Mail").fit(X, t, y)


def test_outcome_not_binary_counts_and_shows_an_example(small):
    X, t, y = small
    bad = y.astype(float)
    bad[[3, 7]] = [2.0, 0.5]
    with pytest.raises(
        DataValidationError,
        match=r"outcome y has 2 value\(s\) that are not 0/1 \(e\.g\. 2\.0 at "
        r"row 3\): "
        r"UpliftClassifier needs a binary outcome; use UpliftRegressor",
    ):
        UpliftClassifier(control="none").fit(X, t, bad)
    # The regressor takes the same values.
    UpliftRegressor(control="none", n_estimators=5).fit(X, t, bad)


def test_too_few_rows_in_an_arm_says_the_minimum(small):
    X, t, y = small
    t = t.copy()
    t[:40] = "sms"
    with pytest.raises(
        DataValidationError,
        match=r"arm 'sms' has 40 rows, fewer than the minimum of 50 "
        r"\(min_rows_per_arm\)",
    ):
        UpliftClassifier(control="none").fit(X, t, y)
    UpliftClassifier(control="none", min_rows_per_arm=40, n_estimators=5).fit(X, t, y)


def test_lengths_differ(small):
    X, t, y = small
    with pytest.raises(
        DataValidationError, match=r"X has 300 rows but treatment has 299: pass one treatment label"
    ):
        UpliftClassifier(control="none").fit(X, t[:-1], y)
    with pytest.raises(DataValidationError, match=r"X has 300 rows but y has 301"):
        UpliftClassifier(control="none").fit(X, t, np.r_[y, 1])


def test_missing_treatment_and_outcome(small):
    X, t, y = small
    t = t.copy()
    t[[10, 20, 30]] = None
    with pytest.raises(
        DataValidationError, match=r"treatment has 3 missing label\(s\) \(first at row 10\)"
    ):
        UpliftClassifier(control="none").fit(X, t, y)
    spend = np.where(np.arange(300) == 8, np.nan, 1.0)
    with pytest.raises(
        DataValidationError,
        match=r"outcome y has 1 missing or non-numeric value\(s\) \(e\.g\. "
        r"nan at row 8\)",
    ):
        UpliftRegressor(control="none").fit(X, small[1], spend)


def test_bad_features(small):
    X, t, y = small
    with pytest.raises(DataValidationError, match="X must be a pandas DataFrame"):
        UpliftClassifier(control="none").fit(X.to_numpy(), t, y)
    dated = X.assign(when=pd.Timestamp("2024-01-01"))
    with pytest.raises(
        DataValidationError, match=r"feature column 'when' has dtype datetime64\[(ns|us|s)\]"
    ):
        UpliftClassifier(control="none").fit(dated, t, y)
    model = UpliftClassifier(control="none", n_estimators=5).fit(X, t, y)
    with pytest.raises(
        DataValidationError, match=r"X lacks 1 feature column\(s\) the model was fitted on: \['c'\]"
    ):
        model.predict_uplift(X[["x"]])
    with pytest.raises(
        DataValidationError, match=r"learner='s' is not one of \['t', 'x', 'dr'\]: use 't', 'x' or"
    ):
        UpliftClassifier(control="none", learner="s").fit(X, t, y)
    assert issubclass(DataValidationError, CxmlUserError)


# -- real data --------------------------------------------------------------------------------
@pytest.mark.realdata
@pytest.mark.slow
@pytest.mark.skipif(not HILLSTROM.is_file(), reason="../shared/data/hillstrom_email absent")
@pytest.mark.parametrize("learner", ["t", "x", "dr"])
def test_hillstrom_average_uplift_matches_the_difference_of_means(learner):
    df = pd.read_parquet(HILLSTROM)
    model = UpliftClassifier(control="No E-Mail", learner=learner, random_state=0)
    model.fit(df[FEATURES], df["segment"], df["visit"])
    pred = model.predict_uplift(df[FEATURES])
    assert model.arms_ == ["Mens E-Mail", "Womens E-Mail"]
    ctrl = df.loc[df["segment"] == "No E-Mail", "visit"]
    for arm in model.arms_:
        treated = df.loc[df["segment"] == arm, "visit"]
        diff = treated.mean() - ctrl.mean()  # 0.0766 (men's), 0.0452 (women's)
        se = np.sqrt(treated.var() / len(treated) + ctrl.var() / len(ctrl))
        assert abs(pred[arm].mean() - diff) < 1.96 * se, (arm, pred[arm].mean(), diff, se)
