"""Gamma-Gamma: published CDNOW numbers, lifetimes as oracle, input checks."""

from __future__ import annotations

import re

import lifetimes
import lifetimes.datasets as lds
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxml.exceptions import DataValidationError, ModelLoadError
from cxml.models import GammaGammaModel


@pytest.fixture(scope="module")
def summary():
    return lds.load_cdnow_summary_data_with_monetary_value()


@pytest.fixture(scope="module")
def repeat(summary):
    return summary[summary["frequency"] > 0]


@pytest.fixture(scope="module")
def gg(repeat):
    return GammaGammaModel().fit(repeat["frequency"], repeat["monetary_value"])


def test_reference_parameters(gg, repeat):
    assert len(repeat) == 946
    for k, v in {"p": 6.2488, "q": 3.7446, "v": 15.4477}.items():
        assert gg.params_[k] == pytest.approx(v, rel=1e-3)
    assert gg.log_likelihood_ == pytest.approx(-4055.92, abs=0.05)


def test_first_ten_expected_values(gg, summary):
    got = gg.expected_average_value(summary["frequency"][:10], summary["monetary_value"][:10])
    ref = [24.65, 18.91, 35.17, 35.17, 35.17, 71.46, 18.91, 35.17, 27.28, 35.17]
    # the design table truncates to 2 decimals (24.6586 -> 24.65)
    np.testing.assert_allclose(got, ref, atol=0.01)
    # frequency-0 customers get the population mean p*v/(q-1)
    p, q, v = (gg.params_[k] for k in "pqv")
    assert got[2] == pytest.approx(p * v / (q - 1), rel=1e-12)
    assert gg.population_mean() == pytest.approx(p * v / (q - 1), rel=1e-12)


def test_matches_lifetimes(gg, summary, repeat):
    lt = lifetimes.GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
    for k in gg.params_:
        assert gg.params_[k] == pytest.approx(lt.params_[k], rel=1e-4)
        assert gg.standard_errors_[k] == pytest.approx(lt.standard_errors_[k], rel=2e-3)
    ours = gg.to_lifetimes().conditional_expected_average_profit(
        summary["frequency"], summary["monetary_value"]
    )
    np.testing.assert_allclose(
        gg.expected_average_value(summary["frequency"], summary["monetary_value"]), ours, rtol=1e-12
    )
    back = GammaGammaModel.from_lifetimes(lt)
    assert back.log_likelihood_ == pytest.approx(gg.log_likelihood_, abs=1e-3)


def test_penalizer_matches_lifetimes(repeat):
    ours = GammaGammaModel(penalizer=0.001).fit(repeat["frequency"], repeat["monetary_value"])
    lt = lifetimes.GammaGammaFitter(penalizer_coef=0.001).fit(
        repeat["frequency"], repeat["monetary_value"]
    )
    for k in ours.params_:
        assert ours.params_[k] == pytest.approx(lt.params_[k], rel=1e-3)


def test_refuses_frequency_zero(summary):
    with pytest.raises(
        DataValidationError, match=r"frequency is 0 for 1,411 of 2,357 customers.*frequency'\] > 0"
    ):
        GammaGammaModel().fit(summary["frequency"], summary["monetary_value"])


def test_refuses_nonpositive_spend():
    with pytest.raises(DataValidationError, match=r"<= 0 for 1 of 3 customers"):
        GammaGammaModel().fit([1, 2, 3], [10.0, 0.0, 5.0])


def test_warns_when_frequency_and_spend_correlate(caplog):
    rng = np.random.default_rng(1)
    x = rng.integers(1, 30, 2000)
    m = 5.0 * x + rng.gamma(2.0, 2.0, 2000)
    with caplog.at_level("WARNING", logger="cxml.models._gammagamma"):
        g = GammaGammaModel().fit(x, m)
    assert re.search(r"correlated \(Pearson r = (0\.9\d|1\.00)\).*independent", caplog.text)
    assert g.frequency_monetary_correlation_ > 0.9


def test_no_warning_on_cdnow(repeat, caplog):
    with caplog.at_level("WARNING", logger="cxml.models._gammagamma"):
        g = GammaGammaModel().fit(repeat["frequency"], repeat["monetary_value"])
    assert abs(g.frequency_monetary_correlation_) < 0.3
    assert "correlated" not in caplog.text


def test_weights_equal_duplication(repeat):
    x, m = repeat["frequency"].to_numpy(), repeat["monetary_value"].to_numpy()
    a = GammaGammaModel().fit(np.r_[x, x], np.r_[m, m])
    b = GammaGammaModel().fit(x, m, weights=np.full(x.size, 2.0))
    for k in a.params_:
        assert a.params_[k] == pytest.approx(b.params_[k], rel=1e-6)
    assert a.log_likelihood_ == pytest.approx(b.log_likelihood_, rel=1e-10)


def test_save_load(gg, tmp_path):
    gg.save(tmp_path / "gg.json")
    g2 = GammaGammaModel.load(tmp_path / "gg.json")
    assert g2.params_ == gg.params_
    assert g2.expected_average_value([3], [20.0]) == gg.expected_average_value([3], [20.0])
    from cxml.models import BetaGeoModel

    with pytest.raises(ModelLoadError, match="expected a saved BetaGeoModel, got 'GammaGamma"):
        BetaGeoModel.load(tmp_path / "gg.json")


def test_interval(gg):
    est, lo, hi = gg.expected_average_value_interval([0, 1, 10], [0.0, 30.0, 30.0])
    assert np.all(lo < est) and np.all(est < hi)
    # more repeat purchases -> the customer's own mean is trusted more -> narrower interval
    assert (hi[2] - lo[2]) < (hi[1] - lo[1])


@settings(max_examples=100, deadline=None)
@given(
    p=st.floats(0.1, 50),
    q=st.floats(1.01, 50),
    v=st.floats(0.1, 1e4),
    x=st.integers(0, 10_000),
    m=st.floats(0.0, 1e6),
)
def test_expected_value_is_between_mean_and_population(p, q, v, x, m):
    g = GammaGammaModel.from_dict(
        {
            "model": "GammaGammaModel",
            "params": {"p": p, "q": q, "v": v},
            "standard_errors": {"p": None, "q": None, "v": None},
            "log_params_covariance": [[0.0] * 3] * 3,
            "log_likelihood": 0.0,
        }
    )
    e = g.expected_average_value([x], [m])[0]
    pop = p * v / (q - 1)
    assert np.isfinite(e)
    lo, hi = (min(m, pop), max(m, pop)) if x > 0 else (pop, pop)
    assert lo * (1 - 1e-9) <= e <= hi * (1 + 1e-9)
