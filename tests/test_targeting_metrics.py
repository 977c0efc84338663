"""Uplift metrics (issue 19, line 2): hand-computed values on small arrays (binary and
continuous outcomes), scikit-uplift as the oracle on 0/1 outcomes, several arms, PNG plots."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxml.exceptions import DataValidationError
from cxml.targeting import (
    auuc,
    plot_qini,
    plot_uplift_by_decile,
    policy_arm,
    qini_coefficient,
    qini_curve,
    uplift_at_k,
    uplift_by_decile,
    uplift_curve,
    uplift_table,
)

# Four customers sorted by score: treated y=3, control y=0, treated y=2, control y=1.
Y = np.array([3.0, 0.0, 2.0, 1.0])
S = np.array([0.9, 0.5, 0.4, 0.1])
T = np.array([1, 0, 1, 0])


def test_curves_by_hand_on_a_continuous_outcome():
    # Qini Q(n) = Y_t - Y_c N_t/N_c: n=1: 3; n=2: 3 - 0; n=3: 5 - 0*2/1; n=4: 5 - 1*2/2.
    x, q = qini_curve(Y, S, T)
    np.testing.assert_array_equal(x, [0, 1, 2, 3, 4])
    np.testing.assert_allclose(q, [0, 3, 3, 5, 4])
    # Uplift U(n) = (Y_t/N_t - Y_c/N_c) n: 3*1, (3-0)*2, (2.5-0)*3, (2.5-0.5)*4.
    np.testing.assert_allclose(uplift_curve(Y, S, T)[1], [0, 3, 6, 7.5, 8])
    # Qini area 13, random 4*4/2 = 8, perfect ranking (3, 2, 0, -1) gives 0,3,5,5,4: 15.
    assert qini_coefficient(Y, S, T) == pytest.approx(5 / 7)
    # Uplift area 3/2 + 9/2 + 13.5/2 + 15.5/2 = 20.5; random 16; the "perfect" ranking
    # (3, 2, 0, -1) gives 0,3,5,7.5,8: 19.5. On a continuous outcome the mean-difference
    # curve rewards interleaving a zero-outcome control early, so AUUC can exceed 1.
    assert auuc(Y, S, T) == pytest.approx((20.5 - 16) / (19.5 - 16))
    assert uplift_at_k(Y, S, T, k=0.5) == pytest.approx(3.0)
    assert uplift_at_k(Y, S, T, k=3) == pytest.approx(2.5)
    assert uplift_at_k(Y, S, T, k=0.5, strategy="by_group") == pytest.approx(3.0 - 0.0)


def test_ties_share_a_threshold():
    x, q = qini_curve(Y, [1, 1, 0, 0], T)
    np.testing.assert_array_equal(x, [0, 2, 4])
    np.testing.assert_allclose(q, [0, 3, 4])


def test_perfect_and_reversed_rankings():
    y = np.array([1, 0, 0, 0, 1, 0, 0, 1] * 5, dtype=float)
    t = np.array([1, 1, 0, 0, 1, 0, 1, 0] * 5)
    perfect = y * t - y * (1 - t)
    assert qini_coefficient(y, perfect, t) == pytest.approx(1.0)
    assert qini_coefficient(y, -perfect, t) < 0


def test_uplift_by_decile_by_hand():
    y = np.array([1, 0, 1, 1, 0, 0, 1, 0, 0, 0], dtype=float)
    s = np.arange(10, 0, -1, dtype=float)
    t = np.array([1, 0, 1, 0, 1, 0, 1, 0, 1, 0])
    table = uplift_by_decile(y, s, t, bins=2)
    assert table["n_treatment"].tolist() == [3, 2] and table["n_control"].tolist() == [2, 3]
    np.testing.assert_allclose(table["response_treatment"], [2 / 3, 1 / 2])
    np.testing.assert_allclose(table["response_control"], [1 / 2, 0])
    np.testing.assert_allclose(table["uplift"], [2 / 3 - 1 / 2, 1 / 2])
    np.testing.assert_allclose(table["predicted_uplift"], [8, 3])


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(30, 200))
def test_binary_metrics_equal_scikit_uplift(seed, n):
    sklift = pytest.importorskip("sklift.metrics")
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    t = np.r_[0, 1, rng.integers(0, 2, n - 2)]
    y[:2] = [0, 1]
    s = np.round(rng.normal(size=n) + 0.5 * y * t, 1)  # rounded: ties happen
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklift 0.5.1 on pandas 3 / sklearn 1.9: deprecations
        assert qini_coefficient(y, s, t) == pytest.approx(sklift.qini_auc_score(y, s, t))
        assert auuc(y, s, t) == pytest.approx(sklift.uplift_auc_score(y, s, t))
        for mine, theirs in [
            (qini_curve(y, s, t), sklift.qini_curve(y, s, t)),
            (uplift_curve(y, s, t), sklift.uplift_curve(y, s, t)),
        ]:
            np.testing.assert_allclose(mine[0], theirs[0])
            np.testing.assert_allclose(mine[1], theirs[1])
        top = s[np.argsort(s, kind="mergesort")[::-1]][: int(n * 0.3)]
        if 0 < t[np.argsort(s, kind="mergesort")[::-1]][: len(top)].sum() < len(top):
            assert uplift_at_k(y, s, t) == pytest.approx(
                sklift.uplift_at_k(y, s, t, strategy="overall", k=0.3)
            )
        np.testing.assert_allclose(
            uplift_by_decile(y, s, t)["uplift"].to_numpy(),
            sklift.uplift_by_percentile(y, s, t, strategy="overall")["uplift"].to_numpy(),
        )


def test_several_arms_and_the_policy():
    received = np.array(["a", "b", "c", "a", "b", "c", "a", "b", "c", "c"], dtype=object)
    y = np.array([1, 1, 0, 0, 0, 1, 1, 1, 0, 0], dtype=float)
    up = pd.DataFrame(
        {
            "a": [0.3, 0.1, 0.2, 0.0, 0.5, 0.1, 0.4, -0.1, 0.3, 0.2],
            "b": [0.1, 0.4, 0.1, 0.2, 0.1, 0.3, 0.0, 0.6, -0.2, 0.1],
        }
    )
    table = uplift_table(y, up, received, control="c", k=0.5)
    assert table.index.tolist() == ["a", "b", "policy"]
    # arm a: rows 0,2,3,5,6,8,9; sorted by a: 6(a,1) 0(a,1) 8(c,0) 2(c,0) 9(c,0) 3 5 -> top 3.
    assert table.loc["a", "n"] == 7
    assert table.loc["a", "uplift_at_k"] == pytest.approx(1.0 - 0.0)
    # policy: recommended a for rows 0,2,4,6,8,9; b for 1,3,5,7. Matched: 0,6 (a), 1,7 (b);
    # control rows 2,5,8,9. n = 8; sorted by max uplift: 7(.6) 6(.4) 1(.4) 0(.3) 8 5 2 9.
    assert table.loc["policy", "n"] == 8
    assert table.loc["policy", "uplift_at_k"] == pytest.approx(1.0 - 0.0)
    assert policy_arm(up, "c").tolist() == ["a", "b", "a", "b", "a", "b", "a", "b", "a", "a"]
    assert policy_arm(up.clip(upper=0) - 0.1, "c").eq("c").all()


def test_metric_errors():
    with pytest.raises(DataValidationError, match="y, uplift and treatment have 4, 3 and 4 rows"):
        qini_curve(Y, S[:3], T)
    with pytest.raises(DataValidationError, match="got 0 treated of 4"):
        auuc(Y, S, np.zeros(4))
    with pytest.raises(DataValidationError, match=r"treatment must be 0 \(control\) / 1"):
        qini_coefficient(Y, S, ["a", "b", "a", "b"])
    with pytest.raises(DataValidationError, match=r"k=1.5 must be a share in \(0, 1\)"):
        uplift_at_k(Y, S, T, k=1.5)
    with pytest.raises(DataValidationError, match="the top 1 customers are all in one group"):
        uplift_at_k(Y, S, T, k=1)


def test_plots_write_pngs(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    t = rng.integers(0, 2, 200)
    s = rng.normal(size=200)
    fig = plot_qini(y, {"t-learner": s, "random": rng.normal(size=200)}, t)
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert labels[:2] == ["perfect", "random"]
    assert labels[2] == f"t-learner (Qini {qini_coefficient(y, s, t):.3f})"
    fig.savefig(tmp_path / "qini.png")
    plot_uplift_by_decile(y, s, t).savefig(tmp_path / "deciles.png")
    for name in ["qini.png", "deciles.png"]:
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
