"""What a targeting policy is worth, estimated from a randomised campaign.

The inverse-propensity (Horvitz-Thompson) estimate of the mean outcome if every customer
got the arm ``pi(x)`` the policy chooses (Dudik, Langford & Li 2011, "Doubly robust policy
evaluation and learning", ICML, the inverse-propensity-score estimator):

.. math:: \\hat V(\\pi) = \\frac{1}{n} \\sum_i \\frac{1\\{W_i = \\pi(X_i)\\}\\, Y_i}{e(W_i)}

where :math:`e(a)` is the share of customers randomised to arm ``a`` (known in a
randomised campaign, so no propensity model). Confidence intervals come from a
nonparametric bootstrap over customers (percentile method), with the arm shares
recomputed in each resample.
"""

from __future__ import annotations

import numpy as np

from cxml.exceptions import DataValidationError

__all__ = ["policy_value", "policy_value_ci"]


def _prepare(y, treatment, policy):
    y = np.asarray(y, dtype=float).ravel()
    t = np.asarray(treatment, dtype=object).ravel()
    p = np.asarray(policy, dtype=object).ravel()
    if p.size == 1:
        p = np.full(len(t), p[0], dtype=object)
    if not (len(y) == len(t) == len(p)):
        raise DataValidationError(
            f"y, treatment and policy have {len(y)}, {len(t)} and {len(p)} rows: "
            "pass one value per customer in each"
        )
    unknown = sorted(set(p.tolist()) - set(t.tolist()), key=str)
    if unknown:
        raise DataValidationError(
            f"the policy chooses arm(s) {unknown} that no customer received: its value "
            "cannot be estimated from this campaign"
        )
    return y, t, p


def _codes(t, p):
    """Arms as integer codes (the policy's arms among the treatment's), so that each
    bootstrap resample counts arms with a bincount instead of sorting labels."""
    labels, t_code = np.unique(t.astype(str), return_inverse=True)
    p_code = np.searchsorted(labels, p.astype(str))
    return t_code, p_code, len(labels)


def _ipw(y, t_code, p_code, n_arms: int, idx=None) -> float:
    if idx is not None:
        y, t_code, p_code = y[idx], t_code[idx], p_code[idx]
    share = np.bincount(t_code, minlength=n_arms) / len(t_code)
    match = t_code == p_code
    return float(np.sum(y[match] / share[t_code[match]]) / len(t_code))


def policy_value(y, treatment, policy) -> float:
    """IPW estimate of the mean outcome per customer under ``policy``.

    Parameters
    ----------
    y : array-like
        Observed outcome per customer.
    treatment : array-like
        Arm each customer was randomised to.
    policy : array-like or scalar
        Arm the policy gives each customer (a single label: everyone gets that arm).

    Returns
    -------
    float
        :math:`\\hat V(\\pi)` (module docstring); for a single arm, the mean outcome of
        that arm.

    Examples
    --------
    >>> policy_value([1, 0, 0, 1], ["a", "b", "a", "b"], ["a", "a", "b", "b"])
    1.0
    """
    y, t, p = _prepare(y, treatment, policy)
    return _ipw(y, *_codes(t, p))


def policy_value_ci(
    y, treatment, policy, baseline, *, n_boot: int = 1000, level: float = 0.95, random_state=None
) -> dict:
    """Policy value against a baseline policy, with bootstrap confidence intervals.

    Parameters
    ----------
    y : array-like
        Observed outcome per customer.
    treatment : array-like
        Arm each customer was randomised to.
    policy : array-like or scalar
        Arm the evaluated policy gives each customer.
    baseline : array-like or scalar
        Arm the baseline policy gives each customer (e.g. everyone the best single arm).
    n_boot : int, default 1000
        Bootstrap resamples of the customers.
    level : float, default 0.95
        Confidence level of the percentile intervals.
    random_state : int or None, default None
        Seed of the resampling.

    Returns
    -------
    dict
        ``value``, ``baseline_value``, ``difference`` (value minus baseline), and the
        intervals ``value_ci``, ``difference_ci`` as (low, high) tuples.
    """
    y, t, p = _prepare(y, treatment, policy)
    _, _, b = _prepare(y, t, baseline)
    t_code, p_code, n_arms = _codes(t, p)
    _, b_code, _ = _codes(t, b)
    rng = np.random.default_rng(random_state)
    n = len(y)
    diffs, values = np.empty(n_boot), np.empty(n_boot)
    for i in range(n_boot):
        idx = rng.integers(0, n, n)
        values[i] = _ipw(y, t_code, p_code, n_arms, idx)
        diffs[i] = values[i] - _ipw(y, t_code, b_code, n_arms, idx)
    q = [(1 - level) / 2 * 100, (1 + level) / 2 * 100]
    value = _ipw(y, t_code, p_code, n_arms)
    base = _ipw(y, t_code, b_code, n_arms)
    return {
        "value": value,
        "baseline_value": base,
        "difference": value - base,
        "value_ci": tuple(float(v) for v in np.percentile(values, q)),
        "difference_ci": tuple(float(v) for v in np.percentile(diffs, q)),
    }
