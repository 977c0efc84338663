"""From uplift to a target list: best arm per customer, expected incremental value, budget.

For customer ``i`` and arm ``a``, the expected incremental profit of the contact:

.. math:: \\mathrm{EIV}_{ia} = \\hat\\tau_a(x_i)\\, v_i - c_a

with :math:`\\hat\\tau_a` the predicted uplift (change in P(response) from
:class:`UpliftClassifier`, or incremental spend from :class:`UpliftRegressor`),
:math:`v_i` the value of one unit of it (the customer's predicted CLV or expected order
value for a response, a margin rate for spend, or one given margin for everyone) and
:math:`c_a` the cost of contacting with arm ``a``. Not contacting ("none") is worth 0, so
a customer is a candidate only when the best arm's EIV is positive. Candidates are ranked
by EIV and taken in that order while the budget (a number of contacts, or money spent on
contacts) lasts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxml.exceptions import DataValidationError

__all__ = ["TARGET_COLUMNS", "select_targets"]

#: Columns of :func:`select_targets`'s result, after its index (the customer id).
TARGET_COLUMNS = [
    "rank",
    "arm",
    "uplift",
    "value",
    "cost",
    "expected_incremental_value",
    "cumulative_cost",
    "reason",
]


def _costs(arms, cost_per_contact) -> dict:
    if isinstance(cost_per_contact, dict):
        missing = [a for a in arms if a not in cost_per_contact]
        if missing:
            raise DataValidationError(
                f"cost_per_contact has no cost for arm(s) {missing}: give one per arm "
                f"{list(arms)} or a single number"
            )
        costs = {a: float(cost_per_contact[a]) for a in arms}
    else:
        costs = {a: float(cost_per_contact) for a in arms}
    bad = {a: c for a, c in costs.items() if not np.isfinite(c) or c < 0}
    if bad:
        raise DataValidationError(f"cost_per_contact must be a finite number >= 0, got {bad}")
    return costs


def _values(value, index) -> pd.Series:
    if isinstance(value, pd.Series):
        v = pd.to_numeric(value, errors="coerce").reindex(index)
    else:
        v = pd.Series(float(value), index=index)
    negative = v < 0
    if negative.any():
        raise DataValidationError(
            f"value has {int(negative.sum())} negative entr(y/ies) "
            f"(e.g. {float(v[negative].iloc[0])!r} "
            f"for customer {v[negative].index[0]!r}): a response cannot be worth less than 0"
        )
    return v


def select_targets(
    uplift: pd.DataFrame,
    *,
    value=1.0,
    cost_per_contact=0.0,
    budget: float | None = None,
    budget_kind: str = "contacts",
    unit: str = "uplift",
) -> pd.DataFrame:
    """Select the customers worth contacting, each with its best arm, within a budget.

    Parameters
    ----------
    uplift : pandas.DataFrame
        Predicted uplift, indexed by customer, one column per arm (``predict_uplift``).
    value : float or pandas.Series, default 1.0
        Value of one unit of uplift: one number for everyone (a margin), or a Series
        indexed by customer (e.g. the ``clv`` column of a cxml scores table). Customers
        whose value is missing are not candidates.
    cost_per_contact : float or dict, default 0.0
        Cost of one contact, for every arm or per arm label.
    budget : float or None, default None
        Maximum number of contacts (``budget_kind="contacts"``) or money spent on
        contacts (``"money"``); None takes every customer with a positive EIV.
    budget_kind : {"contacts", "money"}, default "contacts"
        What ``budget`` counts.
    unit : str, default "uplift"
        Name of the uplift's unit in the ``reason`` text (e.g. ``"P(visit)"``).

    Returns
    -------
    pandas.DataFrame
        One row per selected customer (index: the customer id), sorted by decreasing EIV,
        columns :data:`TARGET_COLUMNS`: ``rank`` (1 = best), ``arm``, ``uplift`` of that
        arm, ``value``, ``cost``, ``expected_incremental_value`` (EIV, module docstring),
        ``cumulative_cost`` and a one-line ``reason``.

    Raises
    ------
    cxml.exceptions.DataValidationError
        A negative value or cost, a missing per-arm cost, a bad budget.

    Examples
    --------
    >>> up = pd.DataFrame({"mail": [0.10, 0.02, 0.30]}, index=["a", "b", "c"])
    >>> targets = select_targets(up, value=100.0, cost_per_contact=5.0)
    >>> targets.index.tolist(), targets["expected_incremental_value"].tolist()
    (['c', 'a'], [25.0, 5.0])
    """
    if budget_kind not in ("contacts", "money"):
        raise DataValidationError(
            f"budget_kind={budget_kind!r} is not one of ['contacts', 'money']"
        )
    if budget is not None and (not np.isfinite(budget) or budget < 0):
        raise DataValidationError(f"budget must be a number >= 0, got {budget!r}")
    if uplift.shape[1] == 0:
        raise DataValidationError("uplift has no arm column: pass predict_uplift's output")
    arms = list(uplift.columns)
    costs = _costs(arms, cost_per_contact)
    v = _values(value, uplift.index)
    cost_row = np.array([costs[a] for a in arms])
    eiv = uplift.to_numpy(dtype=float) * v.to_numpy()[:, None] - cost_row[None, :]
    eiv_frame = pd.DataFrame(eiv, index=uplift.index, columns=arms)
    valid = v.notna().to_numpy() & np.isfinite(eiv).any(axis=1)
    eiv_frame = eiv_frame[valid]
    best_pos = np.nanargmax(eiv_frame.to_numpy(), axis=1) if len(eiv_frame) else np.array([], int)
    best_eiv = eiv_frame.to_numpy()[np.arange(len(eiv_frame)), best_pos]
    out = pd.DataFrame(
        {
            "arm": np.asarray(arms, dtype=object)[best_pos],
            "uplift": uplift.loc[eiv_frame.index].to_numpy()[np.arange(len(eiv_frame)), best_pos],
            "value": v[valid].to_numpy(),
            "cost": cost_row[best_pos],
            "expected_incremental_value": best_eiv,
        },
        index=eiv_frame.index,
    )
    if len(arms) > 1:  # the runner-up arm, for the reason text
        filled = np.nan_to_num(eiv_frame.to_numpy(), nan=-np.inf)
        second_pos = np.argsort(filled, axis=1, kind="mergesort")[:, -2]
        second = filled[np.arange(len(filled)), second_pos]
        second_arm = np.asarray(arms, dtype=object)[second_pos]
    out = out[out["expected_incremental_value"] > 0]
    out = out.sort_values("expected_incremental_value", ascending=False, kind="mergesort")
    out["cumulative_cost"] = out["cost"].cumsum()
    if budget is not None:
        if budget_kind == "contacts":
            out = out.iloc[: int(budget)]
        else:
            out = out[out["cumulative_cost"] <= budget + 1e-9]
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    reasons = []
    pos = {c: i for i, c in enumerate(eiv_frame.index)} if len(arms) > 1 else {}
    for cid, r in out.iterrows():
        text = (
            f"{r['arm']}: {unit} {r['uplift']:+.4f} x value {r['value']:.2f} - cost "
            f"{r['cost']:.2f} = {r['expected_incremental_value']:+.2f}"
        )
        if len(arms) > 1:
            j = pos[cid]
            text += f"; next best {second_arm[j]} {second[j]:+.2f}, none 0"
        reasons.append(text)
    out["reason"] = reasons
    out.index.name = uplift.index.name or "customer_id"
    return out[TARGET_COLUMNS]
