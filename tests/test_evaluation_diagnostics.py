"""BTYD diagnostic figures and ROC / PR curves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxml import evaluation as ev
from cxml.datasets import load_cdnow
from cxml.exceptions import DataValidationError
from cxml.features import calibration_holdout
from cxml.models import BetaGeoModel


@pytest.fixture(scope="module")
def fitted():
    ch = calibration_holdout(
        load_cdnow("sample"), calibration_end="1997-09-30", observation_end="1998-06-30"
    )
    bg = BetaGeoModel().fit(ch["frequency_cal"], ch["recency_cal"], ch["T_cal"])
    return ch, bg


def test_holdout_by_frequency_groups(fitted):
    ch, bg = fitted
    pred = bg.expected_purchases(39, ch["frequency_cal"], ch["recency_cal"], ch["T_cal"])
    fig = ev.plot_holdout_by_frequency(ch["frequency_cal"], ch["frequency_holdout"], pred)
    actual_line, model_line = fig.axes[0].get_lines()
    assert list(actual_line.get_xdata()) == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    # frequency-0 customers: mean holdout purchases straight from the data
    zero = ch["frequency_cal"] == 0
    assert actual_line.get_ydata()[0] == pytest.approx(ch.loc[zero, "frequency_holdout"].mean())
    assert model_line.get_ydata()[0] == pytest.approx(pred[zero.to_numpy()].mean())
    with pytest.raises(DataValidationError, match="differ in length"):
        ev.plot_holdout_by_frequency([1, 2], [1], [1, 2])


def test_matrices_match_the_model(fitted):
    _, bg = fitted
    fig = ev.plot_probability_alive_matrix(bg, max_frequency=5, T=38.86)
    values = fig.axes[0].images[0].get_array()
    assert values.shape == (6, 40)
    assert values[0].min() == pytest.approx(1.0)  # BG/NBD: no repeat purchase -> alive
    assert values[2, -1] == pytest.approx(bg.probability_alive(2, 38.86, 38.86)[0])
    fig = ev.plot_frequency_recency_matrix(bg, t=39, max_frequency=5, T=38.86)
    assert fig.axes[0].images[0].get_array()[2, -1] == pytest.approx(
        bg.expected_purchases(39, 2, 38.86, 38.86)[0]
    )


def test_tracking_plot_model_line_is_the_cohort_sum(fitted):
    _, bg = fitted
    first = pd.Series([10, 5], index=pd.to_datetime(["1997-01-01", "1997-01-08"]))
    repeat = pd.Series([3, 4], index=pd.to_datetime(["1997-01-05", "1997-02-01"]))
    fig = ev.plot_cumulative_purchases(
        first, repeat, bg, time_unit="W", calibration_end="1997-02-15", end="1997-03-01"
    )
    actual, model = fig.axes[0].get_lines()[:2]
    assert actual.get_ydata()[-1] == 7
    expected = 10 * bg.population_expected_purchases(59 / 7) + 5 * bg.population_expected_purchases(
        52 / 7
    )
    assert model.get_ydata()[-1] == pytest.approx(float(np.squeeze(expected)))


def test_roc_and_pr_legends_carry_the_metric():
    y = np.array([0, 0, 1, 1])
    fig = ev.plot_roc(y, {"a": [0.1, 0.4, 0.35, 0.8]})
    assert "AUC 0.750" in fig.axes[0].get_legend().get_texts()[1].get_text()
    fig = ev.plot_precision_recall(y, [0.1, 0.4, 0.35, 0.8])
    assert "AP 0.833" in fig.axes[0].get_legend().get_texts()[1].get_text()
