"""Uplift evaluation on a randomised holdout: uplift@k, Qini and uplift curves, AUUC, deciles.

The definitions are scikit-uplift's (``sklift.metrics`` 0.5.1, whose values the tests
reproduce on 0/1 outcomes), written here because that release refuses continuous outcomes
(spend) in its curves and uses ``sklearn.utils.extmath.stable_cumsum``, deprecated in
scikit-learn 1.8 and removed in 1.10.

Customers are sorted by decreasing predicted uplift; ties share a threshold (as
``sklearn.metrics.roc_curve``). At the top ``n`` customers, with ``N_t, N_c`` treated and
control customers and ``Y_t, Y_c`` their summed outcomes:

- Qini curve (Radcliffe 2007, "Using control groups to target on predicted lift: building
  and assessing uplift models", Direct Marketing Analytics Journal):
  :math:`Q(n) = Y_t(n) - Y_c(n) N_t(n) / N_c(n)`;
- uplift curve (Rzepakowski & Jaroszewicz 2012):
  :math:`U(n) = (Y_t(n)/N_t(n) - Y_c(n)/N_c(n))\\,n`;
- Qini coefficient and AUUC: the area between the curve and the straight line to its end
  point (random targeting), divided by the same area of the perfect ranking. The perfect
  ranking puts treated responders first and control responders last; for a continuous
  outcome it sorts by :math:`y` on treated and :math:`-y` on control rows.

Several arms: each arm is scored against control on the rows of the two arms; the
*policy* (each customer offered the arm of highest predicted uplift) is scored as Zhao,
Fang & Simchi-Levi (2017, "Uplift modeling with multiple treatments and general response
types", SDM) do, on the customers who received their recommended arm (treated) or
control, ranked by the highest predicted uplift.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxml.exceptions import DataValidationError

__all__ = [
    "auuc",
    "perfect_ranking",
    "policy_arm",
    "qini_coefficient",
    "qini_curve",
    "uplift_at_k",
    "uplift_by_decile",
    "uplift_curve",
    "uplift_table",
]


def _arrays(y, uplift, treatment):
    y = np.asarray(y, dtype=float).ravel()
    s = np.asarray(uplift, dtype=float).ravel()
    t = np.asarray(treatment).ravel()
    if not (len(y) == len(s) == len(t)):
        raise DataValidationError(
            f"y, uplift and treatment have {len(y)}, {len(s)} and {len(t)} rows: "
            "pass one value per customer in each"
        )
    if not np.isin(t, [0, 1]).all():
        raise DataValidationError(
            "treatment must be 0 (control) / 1 (treated) here; for arm labels use uplift_table"
        )
    t = t.astype(float)
    if t.sum() == 0 or t.sum() == len(t):
        raise DataValidationError(
            "uplift metrics need both treated and control customers; "
            f"got {int(t.sum())} treated of {len(t)}"
        )
    return y, s, t


def _cumulative(y, s, t):
    """Counts and sums at each distinct-score threshold, best-scored customers first."""
    order = np.argsort(s, kind="mergesort")[::-1]
    y, s, t = y[order], s[order], t[order]
    thresholds = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]
    n_t = np.cumsum(t)[thresholds]
    y_t = np.cumsum(y * t)[thresholds]
    y_c = np.cumsum(y * (1 - t))[thresholds]
    n = thresholds + 1.0
    return n, n_t, n - n_t, y_t, y_c


def _start_at_zero(n, v):
    return np.r_[0.0, n], np.r_[0.0, v]


def qini_curve(y, uplift, treatment) -> tuple[np.ndarray, np.ndarray]:
    """Qini curve: incremental responders among the top-``n`` customers.

    Parameters
    ----------
    y : array-like
        Outcome per customer (0/1 or continuous, e.g. spend).
    uplift : array-like
        Predicted uplift; higher is targeted first.
    treatment : array-like of {0, 1}
        1 for a treated customer, 0 for control.

    Returns
    -------
    n : numpy.ndarray
        Number of customers targeted, from 0.
    qini : numpy.ndarray
        :math:`Y_t(n) - Y_c(n) N_t(n) / N_c(n)` (0 where no control customer is in the top).
    """
    n, n_t, n_c, y_t, y_c = _cumulative(*_arrays(y, uplift, treatment))
    ratio = np.divide(n_t, n_c, out=np.zeros_like(n_t), where=n_c != 0)
    return _start_at_zero(n, y_t - y_c * ratio)


def uplift_curve(y, uplift, treatment) -> tuple[np.ndarray, np.ndarray]:
    """Uplift curve: difference of mean outcomes in the top-``n``, times ``n``.

    Parameters
    ----------
    y : array-like
        Outcome per customer (0/1 or continuous).
    uplift : array-like
        Predicted uplift; higher is targeted first.
    treatment : array-like of {0, 1}
        1 for a treated customer, 0 for control.

    Returns
    -------
    n : numpy.ndarray
        Number of customers targeted, from 0.
    uplift : numpy.ndarray
        :math:`(Y_t(n)/N_t(n) - Y_c(n)/N_c(n))\\,n` (a mean of an empty group counts as 0).
    """
    n, n_t, n_c, y_t, y_c = _cumulative(*_arrays(y, uplift, treatment))
    mt = np.divide(y_t, n_t, out=np.zeros_like(y_t), where=n_t != 0)
    mc = np.divide(y_c, n_c, out=np.zeros_like(y_c), where=n_c != 0)
    return _start_at_zero(n, (mt - mc) * n)


def perfect_ranking(y, t, kind: str) -> np.ndarray:
    """Scores that rank customers perfectly for the ``"qini"`` or ``"uplift"`` curve."""
    binary = np.isin(y, [0.0, 1.0]).all()
    if kind == "uplift" and binary:
        # scikit-uplift's perfect uplift curve for a 0/1 outcome.
        control_responders = np.sum((y == 1) & (t == 0))
        treated_nonresponders = np.sum((y == 0) & (t == 1))
        summand = y if control_responders > treated_nonresponders else t
        return 2.0 * (y == t) + summand
    return y * t - y * (1 - t)


def _normalised_area(curve, y, s, t, kind: str) -> float:
    x_a, v_a = curve(y, s, t)
    x_p, v_p = curve(y, perfect_ranking(y, t, kind), t)
    baseline = x_p[-1] * v_p[-1] / 2.0
    perfect = np.trapezoid(v_p, x_p) - baseline
    if perfect == 0:
        raise DataValidationError(
            "the perfect ranking has no gain over random on these customers "
            "(no outcome to rank): the coefficient is undefined"
        )
    return float((np.trapezoid(v_a, x_a) - baseline) / perfect)


def qini_coefficient(y, uplift, treatment) -> float:
    """Area between the Qini curve and random targeting, over that of the perfect ranking.

    Parameters
    ----------
    y : array-like
        Outcome per customer (0/1 or continuous).
    uplift : array-like
        Predicted uplift.
    treatment : array-like of {0, 1}
        1 for a treated customer, 0 for control.

    Returns
    -------
    float
        1 for the perfect ranking, 0 for random; equal to ``sklift.metrics.qini_auc_score``
        on 0/1 outcomes.
    """
    y, s, t = _arrays(y, uplift, treatment)
    return _normalised_area(qini_curve, y, s, t, "qini")


def auuc(y, uplift, treatment) -> float:
    """Area under the uplift curve above random targeting, over that of the perfect ranking.

    Parameters
    ----------
    y : array-like
        Outcome per customer (0/1 or continuous).
    uplift : array-like
        Predicted uplift.
    treatment : array-like of {0, 1}
        1 for a treated customer, 0 for control.

    Returns
    -------
    float
        Equal to ``sklift.metrics.uplift_auc_score`` on 0/1 outcomes. On a continuous
        outcome it can exceed 1: the mean-difference curve is not maximised by sorting on
        the outcome, so the "perfect" reference is only a scale, not a bound.
    """
    y, s, t = _arrays(y, uplift, treatment)
    return _normalised_area(uplift_curve, y, s, t, "uplift")


def uplift_at_k(y, uplift, treatment, *, k: float = 0.3, strategy: str = "overall") -> float:
    """Difference of mean outcomes, treated minus control, among the top-``k`` customers.

    Parameters
    ----------
    y : array-like
        Outcome per customer (0/1 or continuous).
    uplift : array-like
        Predicted uplift.
    treatment : array-like of {0, 1}
        1 for a treated customer, 0 for control.
    k : float or int, default 0.3
        Share of customers in (0, 1), or a number of customers.
    strategy : {"overall", "by_group"}, default "overall"
        ``"overall"``: the top ``k`` of all customers; ``"by_group"``: the top ``k`` of
        the treated and of the control customers separately (scikit-uplift's options).

    Returns
    -------
    float
        The uplift at ``k``.
    """
    y, s, t = _arrays(y, uplift, treatment)
    n = len(y)
    is_float = isinstance(k, float)
    if (is_float and not 0 < k < 1) or (not is_float and not 0 < k < n):
        raise DataValidationError(f"k={k!r} must be a share in (0, 1) or a count in (0, {n})")
    order = np.argsort(s, kind="mergesort")[::-1]
    y, t = y[order], t[order]
    if strategy == "overall":
        size = int(n * k) if is_float else int(k)
        top_y, top_t = y[:size], t[:size]
        if top_t.sum() == 0 or top_t.sum() == size:
            raise DataValidationError(
                f"the top {size} customers are all in one group: uplift@k is undefined"
            )
        return float(top_y[top_t == 1].mean() - top_y[top_t == 0].mean())
    if strategy == "by_group":
        out = []
        for g in (1, 0):
            yg = y[t == g]
            size = int(len(yg) * k) if is_float else int(k)
            out.append(yg[: max(size, 1)].mean())
        return float(out[0] - out[1])
    raise DataValidationError(f"strategy={strategy!r} is not one of ['overall', 'by_group']")


def uplift_by_decile(y, uplift, treatment, *, bins: int = 10) -> pd.DataFrame:
    """Response rates and uplift in equal-size bins of predicted uplift, best bin first.

    Parameters
    ----------
    y : array-like
        Outcome per customer (0/1 or continuous).
    uplift : array-like
        Predicted uplift.
    treatment : array-like of {0, 1}
        1 for a treated customer, 0 for control.
    bins : int, default 10
        Number of bins (``numpy.array_split`` of the sorted customers, as scikit-uplift's
        ``uplift_by_percentile`` with ``strategy="overall"``).

    Returns
    -------
    pandas.DataFrame
        One row per bin (index ``bin`` from 1 = highest predicted uplift): ``n_treatment``,
        ``n_control``, ``response_treatment``, ``response_control``, ``uplift`` (observed),
        ``predicted_uplift`` (mean).
    """
    y, s, t = _arrays(y, uplift, treatment)
    order = np.argsort(s, kind="mergesort")[::-1]
    rows = []
    for i, idx in enumerate(np.array_split(order, bins), start=1):
        yt, yc = y[idx][t[idx] == 1], y[idx][t[idx] == 0]
        rt = yt.mean() if len(yt) else np.nan
        rc = yc.mean() if len(yc) else np.nan
        rows.append(
            {
                "bin": i,
                "n_treatment": len(yt),
                "n_control": len(yc),
                "response_treatment": rt,
                "response_control": rc,
                "uplift": rt - rc,
                "predicted_uplift": s[idx].mean(),
            }
        )
    return pd.DataFrame(rows).set_index("bin")


def policy_arm(uplift: pd.DataFrame, control) -> pd.Series:
    """Arm of highest predicted uplift per customer; ``control`` when no arm is positive.

    Parameters
    ----------
    uplift : pandas.DataFrame
        Output of ``predict_uplift``: one column per non-control arm.
    control : str or int
        Label of the control arm.

    Returns
    -------
    pandas.Series
        Indexed like ``uplift``: the recommended arm label.
    """
    best = uplift.idxmax(axis=1).astype(object)
    best[uplift.max(axis=1) <= 0] = control
    return best


def uplift_table(y, uplift: pd.DataFrame, treatment, *, control, k: float = 0.3) -> pd.DataFrame:
    """Tabulate uplift@k, Qini coefficient and AUUC of every arm and of the policy.

    Parameters
    ----------
    y : array-like
        Outcome per customer (0/1 or continuous).
    uplift : pandas.DataFrame
        Predicted uplift, one column per non-control arm (``predict_uplift``).
    treatment : array-like
        Arm label each customer received.
    control : str or int
        Label of the control arm.
    k : float, default 0.3
        Share of customers for uplift@k.

    Returns
    -------
    pandas.DataFrame
        Index: each arm, then ``"policy"`` (when there are two or more arms): the customers
        who got their recommended arm (the arm of highest predicted uplift) against
        control, scored by that highest uplift. Columns ``n``, ``uplift_at_k``, ``qini``,
        ``auuc``.
    """
    y = np.asarray(y, dtype=float)
    t = np.asarray(treatment, dtype=object)
    scores = {arm: (t == arm, uplift[arm].to_numpy()) for arm in uplift.columns}
    if uplift.shape[1] > 1:
        best = uplift.idxmax(axis=1).to_numpy(dtype=object)
        scores["policy"] = (t == best, uplift.max(axis=1).to_numpy())
    rows = {}
    for name, (treated, s) in scores.items():
        keep = treated | (t == control)
        yk, sk, tk = y[keep], s[keep], treated[keep].astype(int)
        rows[name] = {
            "n": int(keep.sum()),
            "uplift_at_k": uplift_at_k(yk, sk, tk, k=k),
            "qini": qini_coefficient(yk, sk, tk),
            "auuc": auuc(yk, sk, tk),
        }
    return pd.DataFrame.from_dict(rows, orient="index")
