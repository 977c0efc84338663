"""Simulated transactions (and engagement events) from the BTYD generative processes.

BG/NBD (Fader, Hardie & Lee 2005): each customer makes a first purchase at her acquisition
time, then buys at Poisson rate lambda ~ Gamma(r, alpha) and, after each repeat purchase,
drops out with probability p ~ Beta(a, b). MBG/NBD (Batislam et al. 2007) also allows a
drop-out right after the first purchase; Pareto/NBD (Schmittlein et al. 1987) replaces the
coin flips with an exponential lifetime of rate mu ~ Gamma(s, beta). Transaction values follow
the Gamma-Gamma model: nu ~ Gamma(q, v) per customer, each amount ~ Gamma(p, nu).

Because the truth is known, simulated data test parameter recovery and benchmark fitting at
any scale.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxml.exceptions import CxmlUserError

__all__ = ["simulate", "DEFAULT_PARAMS", "DEFAULT_SPEND_PARAMS"]

#: CDNOW BG/NBD estimates, weeks as the time unit.
DEFAULT_PARAMS = {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259}
#: CDNOW Gamma-Gamma estimates, dollars.
DEFAULT_SPEND_PARAMS = {"p": 6.2488, "q": 3.7446, "v": 15.4477}

_DAYS = {"D": 1.0, "W": 7.0}
_MODELS = {
    "bgnbd": ("r", "alpha", "a", "b"),
    "mbgnbd": ("r", "alpha", "a", "b"),
    "paretonbd": ("r", "alpha", "s", "beta"),
}


def _purchase_process(model, params, T, rng):
    """Purchase times (in time units since each customer's first purchase).

    Returns
    -------
    cust : ndarray of int64
        Customer index of each purchase (first purchases included, at time 0).
    times : ndarray of float
    death : ndarray of float
        Time each customer becomes inactive (inf if still alive at her T).
    lam, drop : ndarray
        Latent purchase rate and dropout probability (BG) / dropout rate (Pareto).
    """
    n = T.size
    lam = rng.gamma(params["r"], 1.0 / params["alpha"], n)
    death = np.full(n, np.inf)
    cust_parts = [np.arange(n)]
    time_parts = [np.zeros(n)]
    if model == "paretonbd":
        drop = rng.gamma(params["s"], 1.0 / params["beta"], n)
        death = rng.exponential(1.0, n) / drop
        horizon = np.minimum(T, death)
        counts = rng.poisson(lam * horizon)
        idx = np.repeat(np.arange(n), counts)
        times = rng.uniform(0.0, 1.0, idx.size) * horizon[idx]
        cust_parts.append(idx)
        time_parts.append(times)
        death = np.where(death <= T, death, np.inf)
    else:
        drop = rng.beta(params["a"], params["b"], n)
        active = np.arange(n)
        cur = np.zeros(n)
        if model == "mbgnbd":
            dead0 = rng.uniform(size=n) < drop
            death[dead0] = 0.0
            active = active[~dead0]
        while active.size:
            nxt = cur[active] + rng.exponential(1.0, active.size) / lam[active]
            inside = nxt <= T[active]
            active, nxt = active[inside], nxt[inside]
            cust_parts.append(active)
            time_parts.append(nxt)
            cur[active] = nxt
            dies = rng.uniform(size=active.size) < drop[active]
            death[active[dies]] = nxt[dies]
            active = active[~dies]
    cust = np.concatenate(cust_parts)
    times = np.concatenate(time_parts)
    return cust, times, death, lam, drop


def _summary_from_purchases(cust, times, n):
    """frequency, recency from purchase lists (continuous time, no same-day merging)."""
    freq = np.bincount(cust, minlength=n) - 1
    rec = np.zeros(n)
    np.maximum.at(rec, cust, times)
    return freq.astype(float), rec


def _simulate_summary(
    n_customers,
    *,
    params=None,
    model="bgnbd",
    T=52.0,
    seed=None,
    coefficients=None,
    covariates=None,
):
    """Sufficient statistics (frequency, recency, T) drawn directly, without a table.

    Used by tests and benchmarks that need millions of customers. With ``coefficients``
    (as for :func:`simulate`) the covariate table is returned fourth.
    """
    rng = np.random.default_rng(seed)
    params = _check_params(model, params)
    params, cov = _customer_params(model, params, coefficients, covariates, n_customers, rng)
    T = np.broadcast_to(np.asarray(T, dtype=float), (n_customers,)).copy()
    cust, times, *_ = _purchase_process(model, params, T, rng)
    x, tx = _summary_from_purchases(cust, times, n_customers)
    return (x, tx, T) if cov is None else (x, tx, T, cov)


#: parameters a covariate may shift, and the sign of its exponent (Fader & Hardie note 019)
_COVARIATE_SIGNS = {
    "bgnbd": {"alpha": -1.0, "a": 1.0, "b": 1.0},
    "mbgnbd": {"alpha": -1.0, "a": 1.0, "b": 1.0},
    "paretonbd": {"alpha": -1.0, "beta": -1.0},
}


def _customer_params(model, params, coefficients, covariates, n, rng):
    """Per-customer parameters theta_i = theta exp(sign x_i g) (note 019) and the
    covariate table they come from (drawn standard normal when not given)."""
    if coefficients is None:
        if covariates is not None:
            raise CxmlUserError(
                "covariates= needs coefficients= (the true effects), e.g. {'alpha': {'web': 0.5}}"
            )
        return params, None
    signs = _COVARIATE_SIGNS[model]
    bad = [k for k in coefficients if k not in signs]
    if bad:
        raise CxmlUserError(f"coefficients for {model} may shift {sorted(signs)}; got {bad}")
    names = list(dict.fromkeys(c for d in coefficients.values() for c in d))
    if covariates is None:
        covariates = pd.DataFrame({c: rng.standard_normal(n) for c in names})
    else:
        covariates = pd.DataFrame(covariates).reset_index(drop=True)
        missing = [c for c in names if c not in covariates.columns]
        if missing or len(covariates) != n:
            raise CxmlUserError(
                f"covariates must have {n:,} rows and the columns {names}; it has "
                f"{len(covariates):,} rows and lacks {missing}"
            )
    out = dict(params)
    for p, effects in coefficients.items():
        lin = np.zeros(n)
        for c, g in effects.items():
            lin += float(g) * covariates[c].to_numpy(dtype=float)
        out[p] = params[p] * np.exp(signs[p] * lin)
    return out, covariates


def _check_params(model, params):
    if model not in _MODELS:
        raise CxmlUserError(f"model must be one of {sorted(_MODELS)}, got {model!r}")
    names = _MODELS[model]
    if params is None:
        if model == "paretonbd":
            params = {"r": 0.5533, "alpha": 10.5776, "s": 0.6062, "beta": 11.6679}
        else:
            params = DEFAULT_PARAMS
    missing = [k for k in names if k not in params]
    if missing:
        raise CxmlUserError(f"params for {model} need {list(names)}; missing {missing}")
    out = {k: float(params[k]) for k in names}
    bad = [k for k, v in out.items() if not (np.isfinite(v) and v > 0)]
    if bad:
        raise CxmlUserError(f"params must be finite and > 0; bad: {bad}")
    return out


def simulate(
    n_customers,
    *,
    params=None,
    seed=None,
    observation_end="2021-06-30",
    start="2020-01-01",
    acquisition_weeks=12.0,
    time_unit="W",
    model="bgnbd",
    spend_params=None,
    events=False,
    id_offset=1,
    coefficients=None,
    covariates=None,
):
    """Simulate a transaction log (and optionally engagement events) with known parameters.

    Parameters
    ----------
    n_customers : int
        Number of customers.
    params : dict, optional
        Purchase-process parameters in ``time_unit``: ``{"r", "alpha", "a", "b"}`` for
        BG/NBD and MBG/NBD, ``{"r", "alpha", "s", "beta"}`` for Pareto/NBD. Default: the
        CDNOW BG/NBD estimates (weeks).
    seed : int or numpy.random.Generator, optional
        Seed for reproducibility.
    observation_end : str or Timestamp, default "2021-06-30"
        End of the observation window; no transaction is later.
    start : str or Timestamp, default "2020-01-01"
        Start of the acquisition period.
    acquisition_weeks : float, default 12
        First purchases are uniform over ``[start, start + acquisition_weeks)``.
    time_unit : {"W", "D"}, default "W"
        Unit in which ``params`` are expressed.
    model : {"bgnbd", "mbgnbd", "paretonbd"}, default "bgnbd"
    spend_params : dict, optional
        Gamma-Gamma ``{"p", "q", "v"}``; default the CDNOW estimates.
    events : bool, default False
        Also return engagement events (see Returns).
    id_offset : int, default 1
        First customer id.
    coefficients : dict of dict, optional
        True covariate effects in the form of Fader & Hardie's note 019 (the one
        :class:`cxml.models.BetaGeoModel` fits): ``{"alpha": {"web": 0.5}, "a": {...},
        "b": {...}}`` gives alpha_i = alpha exp(-x_i g_alpha), a_i = a exp(x_i g_a),
        b_i = b exp(x_i g_b); Pareto/NBD takes ``"alpha"`` and ``"beta"`` (beta_i = beta
        exp(-x_i g_beta)). ``params`` are then the values of a customer with x = 0.
    covariates : pandas.DataFrame, optional
        Numeric covariates, one row per customer, with the columns ``coefficients`` names;
        default: each column drawn standard normal.

    Returns
    -------
    transactions : pandas.DataFrame
        ``customer_id`` (int64), ``timestamp`` (datetime64[ns]), ``amount`` (float64,
        rounded to cents); one row per purchase, sorted by customer and time.
    events : pandas.DataFrame
        Only with ``events=True``: ``customer_id``, ``timestamp``, ``event_type``
        (``web_session``, ``email_open``, ``support_ticket``, ``nps``) and ``value``
        (session seconds, NPS score 0-10, NaN otherwise). Alive customers browse and open
        e-mails more, and customers with a high drop-out propensity give lower NPS scores,
        so the events carry signal about churn.
    customers : pandas.DataFrame
        Only with ``coefficients``: ``customer_id`` and the covariates of every customer
        (returned after the transactions, before the events).

    Raises
    ------
    CxmlUserError
        On bad parameters, units or dates.

    Examples
    --------
    >>> from cxml.datasets import simulate
    >>> tx = simulate(1000, seed=0)
    >>> list(tx.columns)
    ['customer_id', 'timestamp', 'amount']
    """
    if (
        not isinstance(n_customers, (int, np.integer))
        or isinstance(n_customers, bool)
        or n_customers < 1
    ):
        raise CxmlUserError(f"n_customers must be a positive integer, got {n_customers!r}")
    if time_unit not in _DAYS:
        raise CxmlUserError(f"time_unit must be 'D' or 'W', got {time_unit!r}")
    params = _check_params(model, params)
    spend = dict(DEFAULT_SPEND_PARAMS if spend_params is None else spend_params)
    if set(spend) < {"p", "q", "v"} or not all(float(spend[k]) > 0 for k in "pqv"):
        raise CxmlUserError(f"spend_params need positive p, q and v, got {spend_params!r}")
    try:
        t0 = pd.Timestamp(start)
        t_end = pd.Timestamp(observation_end)
    except (TypeError, ValueError) as exc:
        raise CxmlUserError(f"start / observation_end must be dates: {exc}") from None
    unit_days = _DAYS[time_unit]
    window_days = (t_end - t0) / pd.Timedelta(days=1)
    if acquisition_weeks <= 0 or window_days <= acquisition_weeks * 7:
        raise CxmlUserError(
            f"observation_end ({t_end.date()}) must fall after the acquisition period "
            f"({acquisition_weeks} weeks from {t0.date()})"
        )
    rng = np.random.default_rng(seed)
    n = int(n_customers)
    birth_days = rng.uniform(0.0, acquisition_weeks * 7.0, n)
    T = (window_days - birth_days) / unit_days
    params, cov = _customer_params(model, params, coefficients, covariates, n, rng)
    cust, times, death, lam, drop = _purchase_process(model, params, T, rng)
    order = np.lexsort((times, cust))
    cust, times = cust[order], times[order]
    # Gamma-Gamma spend: nu ~ Gamma(q, rate v), amount ~ Gamma(p, rate nu).
    nu = rng.gamma(float(spend["q"]), 1.0 / float(spend["v"]), n)
    amount = np.round(rng.gamma(float(spend["p"]), 1.0, cust.size) / nu[cust], 2)
    amount = np.maximum(amount, 0.01)
    stamps = _to_timestamps(t0, birth_days[cust] + times * unit_days)
    tx = pd.DataFrame(
        {
            "customer_id": (cust + id_offset).astype("int64"),
            "timestamp": stamps,
            "amount": amount.astype("float64"),
        }
    )
    out = [tx]
    if cov is not None:
        customers = cov.copy()
        customers.insert(0, "customer_id", (np.arange(n) + id_offset).astype("int64"))
        out.append(customers)
    if events:
        out.append(
            _simulate_events(
                rng,
                n,
                birth_days,
                T,
                death,
                lam,
                drop,
                model,
                unit_days,
                t0,
                cust,
                times,
                id_offset,
            )
        )
    return out[0] if len(out) == 1 else tuple(out)


def _to_timestamps(t0, days):
    # Whole seconds: realistic stamps, and no sub-second float noise.
    secs = np.floor(days * 86400.0).astype("int64")
    return pd.to_datetime(t0.value + secs * 1_000_000_000, unit="ns")


def _poisson_times(rng, rate, t_from, t_to):
    """Homogeneous Poisson event times per customer over [t_from, t_to)."""
    dur = np.maximum(t_to - t_from, 0.0)
    counts = rng.poisson(rate * dur)
    idx = np.repeat(np.arange(rate.size), counts)
    when = t_from[idx] + rng.uniform(0.0, 1.0, idx.size) * dur[idx]
    return idx, when


def _simulate_events(
    rng, n, birth_days, T, death, lam, drop, model, unit_days, t0, cust, times, id_offset
):
    """Engagement events tied to each customer's latent state (time in model units)."""
    alive_until = np.minimum(death, T)
    per_week = unit_days / 7.0  # converts "per week" rates to "per time unit"
    # Propensity to churn in [0, 1]: BG dropout probability, or Pareto hazard scaled.
    churny = drop if model != "paretonbd" else 1.0 - np.exp(-drop * 52.0 / per_week)
    parts = []
    zeros = np.zeros(n)
    # Web sessions: while alive, more for frequent buyers; rarely after churn.
    idx, when = _poisson_times(rng, (0.5 + 2.0 * lam / per_week) * per_week, zeros, alive_until)
    parts.append((idx, when, "web_session", np.round(rng.lognormal(5.0, 1.0, idx.size))))
    idx, when = _poisson_times(rng, np.full(n, 0.05 * per_week), alive_until, T)
    parts.append((idx, when, "web_session", np.round(rng.lognormal(4.0, 1.0, idx.size))))
    # E-mail opens: while alive 0.2-1.0 a week, more for frequent buyers; 0.05 after.
    engaged = lam / (lam + np.mean(lam))
    for rate, lo, hi in (
        (0.2 + 0.8 * engaged, zeros, alive_until),
        (np.full(n, 0.05), alive_until, T),
    ):
        idx, when = _poisson_times(rng, rate * per_week, lo, hi)
        parts.append((idx, when, "email_open", np.full(idx.size, np.nan)))
    # Support tickets: rare, more frequent for churn-prone customers.
    idx, when = _poisson_times(rng, (0.01 + 0.05 * churny) * per_week, zeros, T)
    parts.append((idx, when, "support_ticket", np.full(idx.size, np.nan)))
    # NPS survey after 20 % of purchases, score lower for churn-prone customers.
    ask = rng.uniform(size=cust.size) < 0.2
    c = cust[ask]
    score = np.clip(np.round(rng.normal(9.0 - 7.0 * churny[c], 1.5)), 0, 10)
    parts.append((c, np.minimum(times[ask] + 1.0 / unit_days, T[c]), "nps", score))
    idx = np.concatenate([p[0] for p in parts])
    when = np.concatenate([p[1] for p in parts])
    etype = np.concatenate([np.full(p[0].size, p[2], dtype=object) for p in parts])
    value = np.concatenate([p[3] for p in parts]).astype(float)
    order = np.lexsort((when, idx))
    idx, when, etype, value = idx[order], when[order], etype[order], value[order]
    return pd.DataFrame(
        {
            "customer_id": (idx + id_offset).astype("int64"),
            "timestamp": _to_timestamps(t0, birth_days[idx] + when * unit_days),
            "event_type": pd.array(etype, dtype="string"),
            "value": value,
        }
    )
