"""One scikit-learn estimator contract for every model of cxml.models (issues 15 and 17).

Each model is fitted once on small real data: the CDNOW 1/10 sample split at 1997-09-30
(holdout to 1998-06-30, weeks) for BG/NBD, MBG/NBD, Pareto/NBD, Gamma-Gamma and the two
LightGBM models, and the donations data of Fader, Hardie & Shang (2010) for BG/BB. The
BTYD fits must reproduce the published parameters; then every model is held to the same
contract: hyper-parameters only in ``__init__`` (stored unchanged), ``get_params`` /
``set_params`` / ``clone``, a ``repr`` without fitted values, ``fit`` returning ``self``,
a not-fitted error that scikit-learn code catches, fitted attributes ending in ``_`` and a
save/load round trip with identical predictions.

The BTYD models take sufficient statistics, not ``(X, y)``, so scikit-learn's
``check_estimator`` does not apply as a whole; the checks of ``estimator_checks`` that need
no fit (cloneable, repr, no attributes set in ``__init__``, get/set_params) run on all.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import lifetimes.datasets as lds
import numpy as np
import pandas as pd
import pytest
import sklearn.exceptions
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.utils import estimator_checks
from sklearn.utils.validation import check_is_fitted

from cxml.datasets import load_cdnow
from cxml.exceptions import CxmlError, CxmlUserError, DataValidationError, NotFittedError
from cxml.features import calibration_holdout
from cxml.models import (
    BetaGeoBetaBinomModel,
    BetaGeoModel,
    ChurnClassifier,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    ValueModel,
)
from cxml.models._tabular import check_binary_labels


@pytest.fixture(scope="module")
def data():
    ch = calibration_holdout(
        load_cdnow("sample"),
        calibration_end="1997-09-30",
        observation_end="1998-06-30",
        time_unit="W",
    )
    X = ch[["frequency_cal", "recency_cal", "T_cal", "monetary_value_cal"]]
    return {
        "ch": ch,
        "repeat": ch[ch["frequency_cal"] > 0],
        "donations": lds.load_donations(),
        "X": X,
        "churned": (ch["frequency_holdout"] == 0).to_numpy(),
        "spend": (ch["frequency_holdout"] * ch["monetary_value_holdout"]).to_numpy(),
    }


@dataclasses.dataclass(frozen=True)
class Spec:
    """How to build, fit, predict with, save and load one model class."""

    cls: type
    params: dict  # non-default hyper-parameters, so clone / set_params have work to do
    fit: Callable  # (estimator, data) -> whatever fit returns
    predict: Callable  # (estimator, data) -> array
    save: Callable  # (estimator, tmp_path) -> what load takes
    published: dict | None = None  # parameter -> published value (rel. 1e-3)
    published_ll: float | None = None

    @property
    def id(self) -> str:
        return self.cls.__name__


def _rfm_fit(m, d):
    ch = d["ch"]
    return m.fit(ch["frequency_cal"], ch["recency_cal"], ch["T_cal"])


def _rfm_predict(m, d):
    ch = d["ch"]
    f, r, T = ch["frequency_cal"], ch["recency_cal"], ch["T_cal"]
    return np.concatenate([m.expected_purchases(39, f, r, T), m.probability_alive(f, r, T)])


def _json_save(m, tmp_path):
    path = tmp_path / f"{type(m).__name__}.json"
    m.save(path)
    return path


def _dir_save(m, tmp_path):
    path = tmp_path / type(m).__name__
    m.save(path)
    return path


def _bgbb_fit(m, d):
    don = d["donations"]
    return m.fit(don["frequency"], don["recency"], don["periods"], weights=don["weights"])


def _bgbb_predict(m, d):
    don = d["donations"]
    args = (don["frequency"], don["recency"], don["periods"])
    return np.concatenate([m.expected_purchases(5, *args), m.probability_alive(*args)])


# Small LightGBM models: the contract, not the accuracy, is under test.
_LGBM = {"n_estimators": 60, "learning_rate": 0.1, "min_child_samples": 50}

SPECS = [
    Spec(
        BetaGeoModel,
        {"penalizer": 0.0},
        _rfm_fit,
        _rfm_predict,
        _json_save,
        # Fader, Hardie & Lee (2005), CDNOW sample
        {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259},
        -9582.43,
    ),
    Spec(
        ModifiedBetaGeoModel,
        {"penalizer": 0.0},
        _rfm_fit,
        _rfm_predict,
        _json_save,
        {"r": 0.5248, "alpha": 6.1830, "a": 0.8914, "b": 1.6140},
        -9582.13,
    ),
    Spec(
        ParetoNBDModel,
        {"penalizer": 0.0},
        _rfm_fit,
        _rfm_predict,
        _json_save,
        {"r": 0.5533, "alpha": 10.5776, "s": 0.6062, "beta": 11.6679},
        -9594.97,
    ),
    Spec(
        GammaGammaModel,
        {"penalizer": 0.0},
        lambda m, d: m.fit(d["repeat"]["frequency_cal"], d["repeat"]["monetary_value_cal"]),
        lambda m, d: m.expected_average_value(
            d["ch"]["frequency_cal"], d["ch"]["monetary_value_cal"]
        ),
        _json_save,
        # Fader & Hardie (2013), note 025
        {"p": 6.2488, "q": 3.7446, "v": 15.4477},
    ),
    Spec(
        BetaGeoBetaBinomModel,
        {"penalizer": 0.0},
        _bgbb_fit,
        _bgbb_predict,
        _json_save,
        # Fader, Hardie & Shang (2010), table 2
        {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783},
    ),
    Spec(
        ChurnClassifier,
        {**_LGBM, "calibration": "isotonic"},
        lambda m, d: m.fit(d["X"], d["churned"]),
        lambda m, d: m.predict_proba(d["X"])[:, 1],
        _dir_save,
    ),
    Spec(
        ValueModel,
        {**_LGBM, "spend_objective": "lognormal"},
        lambda m, d: m.fit(d["X"], d["spend"]),
        lambda m, d: m.predict(d["X"]),
        _dir_save,
    ),
]
# A second, non-default hyper-parameter value for set_params (BTYD: the penalizer).
_OTHER = {"penalizer": 0.01, "random_state": 7}

pytestmark = pytest.mark.filterwarnings(
    # Gamma-Gamma warns about the frequency / spend correlation of the CDNOW sample.
    "ignore:frequency and monetary_value are correlated:UserWarning"
)


@pytest.fixture(scope="module")
def fitted(data):
    """(estimator, what fit returned) per model, fitted once."""
    out = {}
    for spec in SPECS:
        est = spec.cls(**spec.params)
        out[spec.id] = (est, spec.fit(est, data))
    return out


def _other_param(est) -> tuple[str, object]:
    name = "penalizer" if "penalizer" in est.get_params() else "random_state"
    return name, _OTHER[name]


@pytest.mark.parametrize("spec", [s for s in SPECS if s.published], ids=lambda s: s.id)
def test_published_parameters(spec, fitted):
    est, _ = fitted[spec.id]
    for k, v in spec.published.items():
        assert est.params_[k] == pytest.approx(v, rel=1e-3), k
    if spec.published_ll is not None:
        assert est.log_likelihood_ == pytest.approx(spec.published_ll, abs=0.01)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.id)
def test_fit_returns_self(spec, fitted):
    est, returned = fitted[spec.id]
    assert returned is est


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.id)
def test_init_stores_hyper_parameters_unchanged(spec):
    est = spec.cls(**spec.params)
    # Nothing but the hyper-parameters, stored as given (validation happens in fit).
    assert vars(est) == est.get_params()
    for k, v in spec.params.items():
        assert getattr(est, k) is v
    with pytest.raises(TypeError):
        spec.cls(*spec.params.values())  # keyword-only


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.id)
def test_clone_keeps_hyper_parameters_and_drops_fitted_values(spec, fitted):
    est, _ = fitted[spec.id]
    name, value = _other_param(est)
    est_other = clone(est).set_params(**{name: value})
    c = clone(est_other)
    assert c.get_params() == est_other.get_params()
    assert c.get_params()[name] == value
    assert not any(k.endswith("_") for k in vars(c))
    with pytest.raises(sklearn.exceptions.NotFittedError):
        check_is_fitted(c)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.id)
def test_get_params_set_params_round_trip(spec):
    est = spec.cls(**spec.params)
    params = est.get_params()
    assert est.set_params(**params) is est
    assert est.get_params() == params
    name, value = _other_param(est)
    est.set_params(**{name: value})
    assert est.get_params() == {**params, name: value}
    with pytest.raises(ValueError, match="Invalid parameter"):
        est.set_params(not_a_parameter=1)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.id)
def test_repr_shows_hyper_parameters_not_fitted_values(spec, fitted):
    est, _ = fitted[spec.id]
    unfitted = spec.cls(**spec.params)
    assert repr(est) == repr(unfitted)
    assert repr(est).startswith(f"{spec.id}(")
    name, value = _other_param(est)
    assert f"{name}={value!r}" in repr(clone(est).set_params(**{name: value}))
    if spec.published:
        for v in est.params_.values():
            assert f"{v:.3g}" not in repr(est)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.id)
def test_not_fitted_error_before_fit(spec, data, tmp_path):
    est = spec.cls(**spec.params)
    with pytest.raises(NotFittedError, match="not fitted") as info:
        spec.predict(est, data)
    # Caught by scikit-learn code and by cxml's own handlers alike, and not a user error
    # (the CLI keeps the traceback of a programming error).
    assert isinstance(info.value, sklearn.exceptions.NotFittedError)
    assert isinstance(info.value, CxmlError) and not isinstance(info.value, CxmlUserError)
    with pytest.raises(sklearn.exceptions.NotFittedError):
        check_is_fitted(est)
    with pytest.raises(NotFittedError):
        spec.save(est, tmp_path)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.id)
def test_fitted_attributes_end_in_underscore(spec, fitted):
    est, _ = fitted[spec.id]
    check_is_fitted(est)
    hyper = set(est.get_params())
    new = set(vars(est)) - hyper
    assert new, "fit set no attributes"
    assert all(k.endswith("_") and not k.startswith("_") for k in new), sorted(new)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.id)
def test_save_load_round_trip_gives_identical_predictions(spec, fitted, data, tmp_path):
    est, _ = fitted[spec.id]
    loaded = spec.cls.load(spec.save(est, tmp_path))
    assert type(loaded) is spec.cls
    assert loaded.get_params() == est.get_params()
    np.testing.assert_array_equal(spec.predict(loaded, data), spec.predict(est, data))
    if hasattr(est, "params_"):
        assert loaded.params_ == est.params_
        assert loaded.log_likelihood_ == est.log_likelihood_
    if hasattr(est, "feature_names_in_"):
        assert list(loaded.feature_names_in_) == list(est.feature_names_in_)
        assert loaded.n_features_in_ == est.n_features_in_


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.id)
@pytest.mark.parametrize(
    "check",
    [
        estimator_checks.check_estimator_cloneable,
        estimator_checks.check_estimator_repr,
        estimator_checks.check_no_attributes_set_in_init,
        estimator_checks.check_get_params_invariance,
        estimator_checks.check_set_params,
        estimator_checks.check_do_not_raise_errors_in_init_or_set_params,
        estimator_checks.check_parameters_default_constructible,
    ],
    ids=lambda c: c.__name__,
)
def test_sklearn_checks_that_need_no_fit(spec, check):
    check(spec.id, spec.cls(**spec.params))


# --- BTYD models: fitted values live in summary() ---------------------------------------

BTYD_SPECS = [s for s in SPECS if s.published is not None]


@pytest.mark.parametrize("spec", BTYD_SPECS, ids=lambda s: s.id)
def test_summary_tabulates_the_fit(spec, fitted):
    est, _ = fitted[spec.id]
    table = est.summary()
    assert table.index.name == "parameter"
    assert list(table.index) == list(est.params_)
    assert list(table.columns) == ["estimate", "se", "lower", "upper"]
    np.testing.assert_array_equal(table["estimate"], list(est.params_.values()))
    np.testing.assert_array_equal(table["se"], [est.standard_errors_[k] for k in est.params_])
    assert (table["lower"] < table["estimate"]).all()
    assert (table["estimate"] < table["upper"]).all()
    k = len(est.params_)
    attrs = table.attrs
    n = est.data_summary_["total_weight"]
    assert attrs["model"] == spec.id and attrs["level"] == 0.95 and attrs["n_params"] == k
    assert attrs["log_likelihood"] == est.log_likelihood_
    assert attrs["n_customers"] == n
    assert attrs["aic"] == pytest.approx(2 * k - 2 * est.log_likelihood_)
    assert attrs["bic"] == pytest.approx(k * np.log(n) - 2 * est.log_likelihood_)
    # A wider level widens the intervals around the same estimates.
    wide = est.summary(level=0.99)
    assert (wide["lower"] < table["lower"]).all() and (wide["upper"] > table["upper"]).all()


def test_summary_reports_published_numbers():
    # BG/NBD on CDNOW: Fader, Hardie & Lee (2005) and lifetimes' standard errors.
    s = lds.load_cdnow_summary()
    table = BetaGeoModel().fit(s["frequency"], s["recency"], s["T"]).summary()
    assert table.loc["r", "estimate"] == pytest.approx(0.2426, rel=1e-3)
    assert table.loc["alpha", "se"] == pytest.approx(0.378, rel=0.01)
    assert table.attrs["log_likelihood"] == pytest.approx(-9582.43, abs=0.05)
    assert table.attrs["n_customers"] == 2357


def test_penalizer_is_validated_in_fit_not_init(data):
    est = BetaGeoModel(penalizer=-1)  # stored unchanged, as scikit-learn requires
    assert est.penalizer == -1
    with pytest.raises(ValueError, match="penalizer must be a finite number >= 0"):
        _rfm_fit(est, data)


def test_set_params_builds_a_candidate(fitted, data):
    # issue 17: candidates come from clone / set_params of a base model.
    base, _ = fitted["BetaGeoModel"]
    pen = clone(base).set_params(penalizer=0.1)
    _rfm_fit(pen, data)
    assert pen.penalizer == 0.1 and base.penalizer == 0.0
    assert pen.params_["r"] != pytest.approx(base.params_["r"], rel=1e-3)


# --- LightGBM models: feature names and labels ------------------------------------------


@pytest.mark.parametrize("name", ["ChurnClassifier", "ValueModel"])
def test_feature_names_and_count_after_fit(name, fitted, data):
    est, _ = fitted[name]
    assert list(est.feature_names_in_) == list(data["X"].columns)
    assert est.n_features_in_ == 4
    reordered = data["X"][data["X"].columns[::-1]].assign(extra=1.0)
    # Columns are selected by name: order and extra columns do not change predictions.
    np.testing.assert_array_equal(est.predict(reordered), est.predict(data["X"]))
    with pytest.raises(
        DataValidationError, match=r"lacks 1 column\(s\) the .* was trained on \(of 4\): T_cal"
    ):
        est.predict(data["X"].drop(columns="T_cal"))


@pytest.mark.parametrize(
    "labels",
    [
        lambda y: y.astype(bool),
        lambda y: y.astype(np.int8),
        lambda y: y.astype(float),
        lambda y: pd.Series(y.astype(float), dtype="float32"),
        lambda y: pd.array(y.astype(bool), dtype="boolean"),
    ],
    ids=["bool", "int8", "float", "float32", "nullable-boolean"],
)
def test_churn_labels_accepted_as_zero_one(labels, fitted, data):
    est, _ = fitted["ChurnClassifier"]
    again = clone(est).fit(data["X"], labels(data["churned"]))
    np.testing.assert_array_equal(again.predict_proba(data["X"]), est.predict_proba(data["X"]))


@pytest.mark.parametrize(
    "bad, count, example",
    [
        (0.7, "1", "0.7"),  # astype(int) used to truncate this to 0
        (2, "1", "2"),
        (np.nan, "1", "nan"),
        (-1, "1", "-1"),
    ],
)
def test_churn_labels_other_than_zero_one_are_refused(bad, count, example, data):
    y = data["churned"].astype(type(bad) if isinstance(bad, int) else float)
    y[5] = bad
    with pytest.raises(
        DataValidationError,
        match=rf"y must be 0 .* {count} of 2,357 labels are not "
        rf"\(e\.g\. {example}\)",
    ):
        ChurnClassifier(n_estimators=5).fit(data["X"], y)


def test_churn_text_labels_are_refused(data):
    y = np.where(data["churned"], "yes", "no")
    with pytest.raises(DataValidationError, match="2,357 of 2,357 labels are not"):
        ChurnClassifier(n_estimators=5).fit(data["X"], y)
    y = pd.array(np.where(data["churned"], 1, 0), dtype="Int64")
    y[3] = pd.NA
    with pytest.raises(DataValidationError, match=r"1 of 2,357 labels are not \(e\.g\. nan\)"):
        ChurnClassifier(n_estimators=5).fit(data["X"], y)


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(
        st.sampled_from([0.0, 1.0, 0.5, 2.0, -1.0, np.nan, 0.999, 1e-9]), min_size=1, max_size=50
    )
)
def test_labels_are_exactly_the_zero_one_values(values):
    # Invariant of the label check: accepted iff every value is 0 or 1, and then unchanged;
    # otherwise the message counts exactly the other values.
    y = np.array(values)
    n_bad = int(np.sum(~np.isin(y, [0.0, 1.0])))
    if n_bad == 0:
        np.testing.assert_array_equal(check_binary_labels(y, len(y)), y.astype(int))
    else:
        with pytest.raises(DataValidationError, match=rf"; {n_bad} of {len(y)} labels are not"):
            check_binary_labels(y, len(y))
