"""Shared machinery of the BTYD estimators: fitting on log-parameters, standard errors,
row compression, delta-method intervals, the parameter summary and JSON persistence.

A model class supplies its parameter names, a starting point, and a log-likelihood kernel
returning the weighted total and its analytic gradient with respect to the natural
parameters. Everything else (L-BFGS-B on log-parameters, the Hessian, serialisation) lives
here so the five models behave identically. :class:`BTYDModel` is a scikit-learn
``BaseEstimator``: its only hyper-parameter is ``penalizer``, so ``get_params``,
``set_params``, ``clone`` and ``repr`` work as for any scikit-learn estimator, and the
fitted values are reported by :meth:`BTYDModel.summary`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
from scipy import linalg, optimize, special
from sklearn.base import BaseEstimator

from cxml._atomic import write_atomic
from cxml.exceptions import ConvergenceError, ModelLoadError, NotFittedError
from cxml.models._validation import check_horizon, check_rfm

__all__ = [
    "BTYDModel",
    "PurchaseModel",
    "compress_rows",
    "dot",
    "first_index",
    "log_gradient",
    "rfm_data_summary",
    "row_codes",
    "unique_inverse",
    "z_quantile",
]

logger = logging.getLogger(__name__)

# Bounds on log-parameters: wide enough never to bind on real data, narrow enough that
# exp() stays finite and a degenerate direction is reported instead of running away.
_LOG_BOUND = 18.0
# A parameter beyond exp(+/-_RUNAWAY_LOG) on a direction of the likelihood flatter than a
# log-scale standard deviation of _FLAT_LOG_SD is reported as running off to the bound.
_RUNAWAY_LOG = 9.0
_FLAT_LOG_SD = 5.0
_FORMAT_VERSION = 1
# Above this many distinct rows, fit a subsample first and polish on all rows.
_WARM_START_ROWS = 200_000
# With an exact Hessian (Newton polish) a smaller warm-start subsample suffices.
_NEWTON_WARM_START_ROWS = 20_000


def row_codes(*columns: np.ndarray):
    """Integer code of each row such that equal rows share a code (hash-based, O(n)).

    Returns
    -------
    codes : numpy.ndarray of int64
        Codes ``0 .. n_unique - 1`` in first-seen order.
    n_unique : int
    """
    n = columns[0].size
    codes = np.zeros(n, dtype=np.int64)
    for col in columns:
        c, uniq = pd.factorize(col, sort=False)
        codes = codes * len(uniq) + c
        # Re-factorize so the combined code stays below n and never overflows.
        codes, _ = pd.factorize(codes, sort=False)
    return codes, (int(codes.max()) + 1 if n else 0)


def unique_inverse(x: np.ndarray):
    """``np.unique(x, return_inverse=True)`` in O(n) for whole-number arrays such as
    frequencies (falls back to sorting otherwise)."""
    if x.size and x.min() >= 0 and x.max() < 10_000_000:
        xi = x.astype(np.int64)
        present = np.bincount(xi) > 0
        ux = np.flatnonzero(present)
        lookup = np.cumsum(present) - 1
        return ux.astype(float), lookup[xi]
    return np.unique(x, return_inverse=True)


def first_index(codes: np.ndarray, n_unique: int) -> np.ndarray:
    """Index of the first row of each code."""
    n = codes.size
    first = np.full(n_unique, n, dtype=np.int64)
    np.minimum.at(first, codes, np.arange(n))
    return first


def compress_rows(*columns: np.ndarray, weights: np.ndarray):
    """Collapse identical rows into one row with summed weight.

    Identical (frequency, recency, T) rows are common with day-granular data; the
    likelihood only needs each distinct row once, weighted by its multiplicity.

    Parameters
    ----------
    *columns : numpy.ndarray
        Equal-length float arrays.
    weights : numpy.ndarray
        Weight of each row.

    Returns
    -------
    columns : tuple of numpy.ndarray
        Distinct rows (first-seen order), or the input when fewer than 20 % are repeats.
    weights : numpy.ndarray
        Summed weights of each distinct row.
    """
    n = weights.size
    if n < 2:
        return columns, weights
    # A column that is itself nearly all distinct (continuous spend or time) rules out any
    # useful compression; stop after that one hash pass.
    for col in columns:
        if col.dtype.kind == "f" and not np.all(col == np.round(col)):
            if (
                pd.unique(col[: min(n, 50_000)]).size > 0.9 * min(n, 50_000)
                and pd.unique(col).size > 0.8 * n
            ):
                return columns, weights
    codes, n_unique = row_codes(*columns)
    if n_unique > 0.8 * n:
        return columns, weights
    first = first_index(codes, n_unique)
    summed = np.bincount(codes, weights=weights, minlength=n_unique)
    return tuple(col[first] for col in columns), summed


def rfm_data_summary(x, tx, T, w, n_rows: int) -> dict:
    """Counts and weighted means of (frequency, recency, T) training data.

    Parameters
    ----------
    x, tx, T : numpy.ndarray
        Validated frequency, recency and T.
    w : numpy.ndarray
        Weight of each customer.
    n_rows : int
        Distinct rows left after :func:`compress_rows`.

    Returns
    -------
    dict
        ``n_customers``, ``total_weight``, ``n_distinct_rows``, ``frequency_mean``,
        ``frequency_max``, ``repeat_buyers_share``, ``recency_mean``, ``T_mean``,
        ``T_max``: the ``data_summary_`` of the continuous-time purchase models.
    """
    return {
        "n_customers": int(x.size),
        "total_weight": float(w.sum()),
        "n_distinct_rows": int(n_rows),
        "frequency_mean": float(np.average(x, weights=w)),
        "frequency_max": float(x.max()),
        "repeat_buyers_share": float(np.average(x > 0, weights=w)),
        "recency_mean": float(np.average(tx, weights=w)),
        "T_mean": float(np.average(T, weights=w)),
        "T_max": float(T.max()),
    }


def _minimize(objective, x0, args, *, ftol: float, gtol: float):
    """L-BFGS-B on log-parameters bounded by +/- _LOG_BOUND, with the options every fit
    uses (the warm start, the full fit and its restarts differ only in tolerances)."""
    return optimize.minimize(
        objective,
        x0,
        args=args,
        jac=True,
        method="L-BFGS-B",
        bounds=[(-_LOG_BOUND, _LOG_BOUND)] * len(x0),
        options={"maxiter": 5000, "ftol": ftol, "gtol": gtol, "maxcor": 20},
    )


class BTYDModel(BaseEstimator):
    """Base class of the BTYD estimators (not public).

    A scikit-learn estimator whose one hyper-parameter is ``penalizer``: ``__init__`` only
    stores it (``fit`` validates it), so ``get_params``, ``set_params``, ``clone`` and the
    ``repr`` come from :class:`sklearn.base.BaseEstimator`. Fitted values end in ``_``
    and are reported by :meth:`summary`.

    Subclasses define ``_param_names``, ``_model_label``, ``_loglik(params, data) ->
    (ll, grad)``, ``_initial_params(data)`` and ``_data_from_lifetimes(frame)``; their
    ``fit`` validates the input, builds the data object and calls ``_fit_prepared``.
    """

    _param_names: tuple[str, ...] = ()
    _model_label = "BTYD"
    _convergence_hint = (
        "check that frequency counts repeat purchases only and that recency and T use the "
        "same time unit, or rescale time (weeks instead of days)."
    )

    def __init__(self, *, penalizer: float = 0.0):
        self.penalizer = penalizer

    def __sklearn_is_fitted__(self) -> bool:
        # What sklearn.utils.validation.check_is_fitted asks; params_ is set by fit, load,
        # from_dict and from_lifetimes alike.
        return hasattr(self, "params_")

    # -- fitting -------------------------------------------------------------------------

    # -- what a model class supplies ------------------------------------------------------

    def _loglik(self, params: np.ndarray, data) -> tuple[float, np.ndarray]:
        """Weighted total log-likelihood of prepared ``data`` and its gradient with
        respect to the natural parameters."""
        raise NotImplementedError

    def _initial_params(self, data) -> np.ndarray:
        """Starting point of the optimiser (natural scale, all positive)."""
        raise NotImplementedError

    @staticmethod
    def _data_from_lifetimes(df: pd.DataFrame):
        """Prepared data from a lifetimes fitter's ``data`` frame (for its likelihood)."""
        raise NotImplementedError

    def _check_penalizer(self):
        pen = self.penalizer
        if not (isinstance(pen, (int, float, np.floating)) and np.isfinite(pen) and pen >= 0):
            raise ValueError(f"penalizer must be a finite number >= 0, got {pen!r}")
        return float(pen)

    def _objective(self, log_params, data, total_weight, penalizer):
        """Mean negative log-likelihood plus the lifetimes-style L2 penalty, and its
        gradient with respect to the log-parameters (chain rule: d/dlogθ = θ d/dθ)."""
        params = np.exp(log_params)
        ll, grad = self._total_loglik(params, data)
        # Time-scale parameters are penalised in lifetimes' rescaled time (max T = 1), so
        # the penalty means the same in days and weeks and equals lifetimes' penalizer_coef.
        sc = getattr(data, "penalty_scale", 1.0)
        f = -ll / total_weight + penalizer * np.sum((params * sc) ** 2)
        g = (-grad / total_weight + 2.0 * penalizer * params * sc**2) * params
        if not np.isfinite(f):
            # Let the line search back off instead of crashing.
            return 1e300, np.zeros_like(log_params)
        return f, g

    def _total_loglik(self, params, data):
        # A fit with covariates carries its own likelihood (per-customer parameters).
        cov = getattr(data, "covariate_loglik", None)
        return cov(params) if cov is not None else self._loglik(params, data)

    def _theta_names(self) -> tuple[str, ...]:
        """Names of the entries of the fitted vector (the parameters, then any covariate
        coefficients)."""
        return self._param_names + tuple(getattr(self, "coefficient_names_", ()))

    def _fit_prepared(self, data, summary: dict):
        """Maximise the likelihood of prepared ``data`` (its total weight is ``data.W``)
        and set the fitted attributes; ``summary`` becomes ``data_summary_``."""
        # L-BFGS-B's tiny BLAS calls are slower multithreaded (thread wake-ups cost more than
        # the work, and far more on a busy machine); limit BLAS to one thread during the fit.
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
            return self._fit_prepared_inner(data, summary)
        with threadpool_limits(limits=1, user_api="blas"):
            return self._fit_prepared_inner(data, summary)

    def _fit_prepared_inner(self, data, summary: dict):
        penalizer = self._check_penalizer()
        total_weight = data.W
        x0 = np.log(self._initial_params(data))
        # Covariate coefficients start at 0 (the plain model's point).
        x0 = np.concatenate([x0, np.zeros(getattr(data, "n_coef", 0))])
        newton = getattr(data, "has_hessian", False)
        start, warmed = x0, False
        for n_warm in (
            (_NEWTON_WARM_START_ROWS, _WARM_START_ROWS) if newton else (_WARM_START_ROWS,)
        ):
            sub = data.subsample(n_warm) if hasattr(data, "subsample") else None
            if sub is None:
                break
            # Warm start from a fixed subsample: the full-data polish then needs only a few
            # passes over millions of rows. Deterministic (fixed seed).
            warm = _minimize(self._objective, x0, (sub, sub.W, penalizer), ftol=1e-12, gtol=1e-8)
            if np.all(np.isfinite(warm.x)):
                start, warmed = warm.x, True
            if not newton or np.all(np.abs(warm.x) < _RUNAWAY_LOG):
                break
            # A small subsample can leave a rare covariate level unidentified (its
            # coefficient runs off); Newton cannot recover from there: use the larger one.
            start, warmed = x0, False
        x0 = start
        args = (data, total_weight, penalizer)
        n_newton = 0
        if newton and warmed:
            # Exact Hessian: Newton steps converge quadratically from the warm start, and
            # L-BFGS-B below only confirms the optimum (or takes over if Newton stops).
            # Never from the cold start: damped Newton steps from the plain model's point
            # can settle on another, worse local optimum (20,000 simulated customers of
            # benchmarks/bench_covariates_pymc.py: log-likelihood 453 below L-BFGS-B's).
            x0, n_newton = self._newton(x0, *args)
        res = _minimize(self._objective, x0, args, ftol=1e-13, gtol=1e-9)
        for _ in range(2):
            if res.success:
                break
            # L-BFGS-B stops with ABNORMAL when the line search runs out of floating-point
            # precision near the optimum; a restart with fresh curvature memory finishes.
            res = _minimize(self._objective, res.x, args, ftol=1e-13, gtol=1e-9)
        f, g = self._objective(res.x, data, total_weight, penalizer)
        at_bound = np.abs(np.abs(res.x) - _LOG_BOUND) < 1e-6
        free = ~at_bound
        # Mean log-likelihood per unit log-parameter: 1e-4 means parameters are within
        # ~1e-4 relative of the optimum for unit curvature.
        grad_ok = np.all(np.abs(g[free]) < 1e-4 * max(1.0, abs(f)))
        if not (np.isfinite(f) and f < 1e299 and (res.success or grad_ok)):
            raise ConvergenceError(
                f"{self._model_label} fit did not converge after {res.nit} iterations "
                f"({res.message}; mean log-likelihood {-f:.6g}, largest gradient "
                f"{np.max(np.abs(g)):.3g}). Try penalizer=0.001 (or larger); "
                f"{self._convergence_hint}"
            )
        params = np.exp(res.x)
        k = len(self._param_names)
        self.params_ = {n: float(v) for n, v in zip(self._param_names, params[:k], strict=True)}
        ll, _ = self._total_loglik(params, data)
        self.theta_ = res.x.copy()
        self.log_likelihood_ = float(ll)
        self.n_iter_ = int(res.nit) + n_newton
        H = self._compute_covariance(res.x, data, total_weight, penalizer)
        self.params_at_bound_ = self._report_unidentified(res.x, H, at_bound)
        self.data_summary_ = summary
        logger.info(
            "%s fitted in %d iterations: %s, LL %.4f",
            self._model_label,
            res.nit,
            self.params_,
            self.log_likelihood_,
        )
        return self

    def _objective_hessian(self, log_params, data, total_weight, penalizer):
        """:meth:`_objective` with its exact Hessian, for data with ``loglik_hessian``."""
        params = np.exp(log_params)
        ll, g_ll, H_ll = data.loglik_hessian(params)
        pen = penalizer * (params * data.penalty_scale) ** 2
        f = -ll / total_weight + np.sum(pen)
        g = -g_ll / total_weight + 2.0 * pen
        H = -H_ll / total_weight + np.diag(4.0 * pen)
        return f, g, H

    def _newton(self, x0, data, total_weight, penalizer, max_iter=20):
        """Damped Newton steps on the objective from ``x0``; returns the point reached
        and the number of steps. Stops when the Newton decrement g' H^-1 g is at
        rounding level, or hands over (to L-BFGS-B) where the Hessian is not positive
        definite, the step leaves the bounds or the line search fails."""
        u = x0
        f, g, H = self._objective_hessian(u, data, total_weight, penalizer)
        for it in range(max_iter):
            try:
                step = -linalg.cho_solve(linalg.cho_factor(H), g)
            except (np.linalg.LinAlgError, ValueError):
                return u, it
            dec = float(-g @ step)  # twice the predicted decrease of the objective
            logger.debug("Newton step %d: objective %.17g, decrement %.3g", it, f, dec)
            scale = max(1.0, abs(f))
            if not np.isfinite(dec) or dec <= 1e-24 * scale:
                return u, it
            # Below ~1e-10 the quadratic model is exact to rounding, while the decrease is
            # too small for f to resolve: take the full step without the line search.
            tiny = dec < 1e-10 * scale
            t = 1.0
            while True:
                un = u + t * step
                if np.all(np.abs(un) < _LOG_BOUND):
                    fn, gn, Hn = self._objective_hessian(un, data, total_weight, penalizer)
                    if np.isfinite(fn) and (tiny or fn <= f - 1e-4 * t * dec):
                        break
                t *= 0.5
                if t < 1e-3:
                    return u, it
            u, f, g, H = un, fn, gn, Hn
            if tiny:
                # Quadratic convergence: the next decrement would be ~dec^2, at rounding
                # level (L-BFGS-B's gradient test confirms it).
                return u, it + 1
        return u, max_iter

    def _compute_covariance(self, log_params, data, total_weight, penalizer):
        """Covariance of the log-parameters from the Hessian of the total penalised
        negative log-likelihood (exact where the data give it, else forward differences
        of the analytic gradient)."""
        k = log_params.size
        H = np.empty((k, k))
        if getattr(data, "has_hessian", False):
            H = self._objective_hessian(log_params, data, total_weight, penalizer)[2]
            return self._covariance_from(H * total_weight, log_params)
        g0 = self._objective(log_params, data, total_weight, penalizer)[1]
        for j in range(k):
            # Forward differences of the analytic gradient: one pass per parameter; the
            # O(h) error (~1e-6 relative) is far below the standard errors' own precision.
            h = 1e-6 * max(1.0, abs(log_params[j]))
            e = np.zeros(k)
            e[j] = h
            gp = self._objective(log_params + e, data, total_weight, penalizer)[1]
            H[:, j] = (gp - g0) / h
        H = 0.5 * (H + H.T) * total_weight
        return self._covariance_from(H, log_params)

    def _covariance_from(self, H, log_params):
        """Set the covariance and standard errors from the Hessian ``H`` of the total
        penalised negative log-likelihood in the log-parameters; returns ``H``."""
        k = log_params.size
        try:
            cov = np.linalg.inv(H)
            ok = bool(np.all(np.isfinite(cov)) and np.all(np.diag(cov) > 0))
        except np.linalg.LinAlgError:
            ok = False
        if not ok:
            logger.warning(
                "%s: the Hessian is singular or not positive definite; standard errors are "
                "NaN. The parameters are weakly identified by the data.",
                self._model_label,
            )
            cov = np.full((k, k), np.nan)
        self.log_params_covariance_ = cov
        params = np.exp(log_params)
        # Delta method from log to natural scale, as lifetimes reports them.
        se = params * np.sqrt(np.diag(cov))
        k0 = len(self._param_names)
        self.standard_errors_ = {
            n: float(v) for n, v in zip(self._param_names, se[:k0], strict=True)
        }
        return H

    def _report_unidentified(self, log_params, H, at_bound):
        """Names of the parameters that reached the optimiser's bound or run off towards it,
        logged once with the remedy.

        A parameter runs off when it lies far out (``|ln theta| > _RUNAWAY_LOG``) along a
        flat direction of the likelihood (an eigenvector of the Hessian of the total
        log-likelihood with log-scale standard deviation above ``_FLAT_LOG_SD``): the
        optimiser stopped on a ridge that rises, or stays level, all the way to the bound
        (Pareto/NBD's s and beta growing together when every customer drops out at nearly
        the same rate).
        """
        runaway = np.zeros_like(at_bound)
        with np.errstate(invalid="ignore"):
            if np.all(np.isfinite(H)):
                lam, vec = np.linalg.eigh(H)
                flat = vec[:, lam < 1.0 / _FLAT_LOG_SD**2]
                runaway = (np.abs(flat) > 0.3).any(axis=1) & (np.abs(log_params) > _RUNAWAY_LOG)
        hit = at_bound | runaway
        theta_names = self._theta_names()
        names = tuple(n for n, b in zip(theta_names, hit, strict=True) if b)
        if names:
            values = ", ".join(
                f"{n} = {v:.3g}"
                for n, v, b in zip(theta_names, np.exp(log_params), hit, strict=True)
                if b
            )
            logger.warning(
                "%s: parameter(s) %s %s the optimiser bound (exp(+/-%g)): %s. The data do "
                "not identify them and the fitted model is degenerate. Refit with a penalty, "
                "e.g. %s(penalizer=0.01), or check the input; params_at_bound_ lists them.",
                self._model_label,
                ", ".join(names),
                "reached" if not (runaway & ~at_bound).any() else "reached or ran off towards",
                _LOG_BOUND,
                values,
                type(self).__name__,
            )
        return names

    # -- helpers -------------------------------------------------------------------------

    def _check_fitted(self):
        if not hasattr(self, "params_"):
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet; call fit(...) or load a "
                "saved model first."
            )

    def _param_array(self) -> np.ndarray:
        self._check_fitted()
        return np.array([self.params_[n] for n in self._param_names])

    def summary(self, level: float = 0.95) -> pd.DataFrame:
        """The fitted parameters with standard errors and intervals, and the fit statistics.

        The ``repr`` of a model shows its hyper-parameters only (scikit-learn's
        convention); this table is where the fitted values are read.

        Parameters
        ----------
        level : float, default 0.95
            Coverage of the Wald intervals (built on the log scale, so they stay
            positive).

        Returns
        -------
        pandas.DataFrame
            One row per parameter (index ``parameter``, in the model's order) with columns
            ``estimate``, ``se`` (standard error, delta method from the log scale),
            ``lower`` and ``upper``: :meth:`confidence_intervals`. The fit statistics are
            in ``DataFrame.attrs``: ``model`` (class name), ``penalizer``, ``level``,
            ``log_likelihood`` (total, without the penalty), ``n_customers`` (the total
            weight of the training rows; NaN when unknown, e.g. after
            :meth:`from_lifetimes`), ``n_params``, ``aic`` (``2k - 2 LL``), ``bic``
            (``k ln n - 2 LL``) and ``params_at_bound``. With ``penalizer > 0`` AIC and
            BIC describe a penalised fit and only compare models fitted alike.

        Raises
        ------
        NotFittedError
            The model is not fitted.

        Examples
        --------
        >>> import lifetimes.datasets as lds
        >>> from cxml.models import BetaGeoModel
        >>> s = lds.load_cdnow_summary()
        >>> table = BetaGeoModel().fit(s["frequency"], s["recency"], s["T"]).summary()
        >>> table.round(3)  # doctest: +NORMALIZE_WHITESPACE
                   estimate     se  lower  upper
        parameter
        r             0.243  0.013  0.219  0.268
        alpha         4.414  0.378  3.731  5.221
        a             0.793  0.186  0.501  1.255
        b             2.426  0.705  1.372  4.289
        >>> round(table.attrs["log_likelihood"], 2), round(table.attrs["bic"], 1)
        (-9582.43, 19195.9)
        """
        table = self.confidence_intervals(level)
        k = len(self._param_names)
        if getattr(self, "coefficients_", None):
            from cxml.models._covariates import coefficient_table

            coef = coefficient_table(self, level)
            table = pd.concat([table, coef])
            k += len(getattr(self, "coefficient_names_", ()))  # the estimated ones
        table = table.rename_axis("parameter")
        ll = float(self.log_likelihood_)
        info = getattr(self, "data_summary_", {})
        n = float(info.get("total_weight", info.get("n_customers", float("nan"))))
        table.attrs = {
            "model": type(self).__name__,
            "penalizer": float(self.penalizer),
            "level": float(level),
            "log_likelihood": ll,
            "n_customers": n,
            "n_params": k,
            "aic": 2.0 * k - 2.0 * ll,
            "bic": float(k * np.log(n) - 2.0 * ll) if n > 0 else float("nan"),
            "params_at_bound": tuple(getattr(self, "params_at_bound_", ())),
        }
        return table

    def confidence_intervals(self, level: float = 0.95) -> pd.DataFrame:
        """Wald intervals for the parameters, computed on the log scale.

        Parameters
        ----------
        level : float, default 0.95
            Coverage of the intervals.

        Returns
        -------
        pandas.DataFrame
            Index the parameter names; columns ``estimate``, ``se``, ``lower``, ``upper``.
        """
        params = self._param_array()
        zq = z_quantile(level)
        sd = np.sqrt(np.diag(self.log_params_covariance_))
        return pd.DataFrame(
            {
                "estimate": params,
                "se": [self.standard_errors_[n] for n in self._param_names],
                "lower": params * np.exp(-zq * sd),
                "upper": params * np.exp(zq * sd),
            },
            index=list(self._param_names),
        )

    def _delta_interval(self, func, level: float):
        """Delta-method interval for a positive prediction ``func(params)`` (array),
        built on the log scale so the bounds stay positive."""
        params = self._param_array()
        est = np.asarray(func(params), dtype=float)
        grads = log_gradient(func, params)
        cov = self.log_params_covariance_
        var_log = np.einsum("i...,ij,j...->...", grads, cov, grads)
        with np.errstate(divide="ignore", invalid="ignore"):
            sd = np.sqrt(np.maximum(var_log, 0.0)) / est
        zq = z_quantile(level)
        lower = np.where(est > 0, est * np.exp(-zq * sd), 0.0)
        upper = np.where(est > 0, est * np.exp(zq * sd), 0.0)
        return est, lower, upper

    # -- lifetimes interop ---------------------------------------------------------------

    #: name of the lifetimes fitter with the same parameters (``lifetimes.<name>``)
    _lifetimes_fitter = ""

    @classmethod
    def from_lifetimes(cls, fitter):
        """Build a fitted model from the matching fitted lifetimes fitter.

        ``BetaGeoFitter`` for :class:`BetaGeoModel`, ``ModifiedBetaGeoFitter``,
        ``ParetoNBDFitter``, ``GammaGammaFitter`` and ``BetaGeoBetaBinomFitter`` for the
        others. Standard errors and covariance are taken from the fitter's
        ``variance_matrix_`` when present.

        Parameters
        ----------
        fitter : lifetimes fitter
            A fitted lifetimes model of the matching class.

        Returns
        -------
        BTYDModel
            A fitted model of this class with the same parameters.
        """
        return _from_lifetimes(cls, fitter)

    def to_lifetimes(self):
        """Return the matching lifetimes fitter carrying these parameters.

        Returns
        -------
        lifetimes fitter
            Usable with lifetimes' plots and helpers (``lifetimes.BetaGeoFitter`` for
            :class:`BetaGeoModel`, and so on).
        """
        import lifetimes

        return _to_lifetimes(self, getattr(lifetimes, self._lifetimes_fitter))

    # -- persistence ---------------------------------------------------------------------

    def to_dict(self) -> dict:
        """JSON-serialisable description of the fitted model.

        Returns
        -------
        dict
            ``model``, ``format_version``, ``cxml_version``, ``penalizer``, ``params``,
            ``standard_errors``, ``log_params_covariance``, ``log_likelihood``,
            ``params_at_bound`` and ``data_summary``.
        """
        from cxml import __version__

        self._check_fitted()
        cov = self.log_params_covariance_
        return {
            "model": type(self).__name__,
            "format_version": _FORMAT_VERSION,
            "cxml_version": __version__,
            "penalizer": float(self.penalizer),
            "params": dict(self.params_),
            "standard_errors": {k: _json_float(v) for k, v in self.standard_errors_.items()},
            "log_params_covariance": [[_json_float(v) for v in row] for row in cov],
            "log_likelihood": float(self.log_likelihood_),
            "params_at_bound": list(getattr(self, "params_at_bound_", ())),
            "data_summary": dict(getattr(self, "data_summary_", {})),
            **(
                {"covariates": self._covariates_to_dict()}
                if getattr(self, "coefficients_", None) is not None
                else {}
            ),
        }

    @classmethod
    def from_dict(cls, d: dict):
        """Rebuild a fitted model from :meth:`to_dict` output.

        Parameters
        ----------
        d : dict
            Output of :meth:`to_dict` (e.g. read back from JSON).

        Returns
        -------
        BTYDModel
            A fitted model of this class.

        Raises
        ------
        ModelLoadError
            When ``d`` describes another model or lacks parameters.
        """
        if not isinstance(d, dict) or d.get("model") != cls.__name__:
            got = d.get("model") if isinstance(d, dict) else type(d).__name__
            raise ModelLoadError(f"expected a saved {cls.__name__}, got {got!r}")
        try:
            params = {n: float(d["params"][n]) for n in cls._param_names}
            model = cls(penalizer=float(d.get("penalizer", 0.0)))
            k = len(cls._param_names)
            cov = np.array(
                [[_from_json_float(v) for v in row] for row in d["log_params_covariance"]],
                dtype=float,
            )
            if cov.shape != (k, k):
                raise ValueError(f"covariance has shape {cov.shape}, expected {(k, k)}")
            se = {n: _from_json_float(d["standard_errors"][n]) for n in cls._param_names}
            ll = float(d["log_likelihood"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelLoadError(f"saved {cls.__name__} is incomplete or corrupt: {exc}") from None
        if not all(np.isfinite(v) and v > 0 for v in params.values()):
            raise ModelLoadError(f"saved {cls.__name__} has invalid parameters {params}")
        model.params_ = params
        model.standard_errors_ = se
        model.log_params_covariance_ = cov
        model.log_likelihood_ = ll
        model.params_at_bound_ = tuple(d.get("params_at_bound", ()))
        model.data_summary_ = dict(d.get("data_summary", {}))
        if d.get("covariates") is not None:
            model._covariates_from_dict(d["covariates"])
        return model

    def save(self, path) -> None:
        """Write the model as JSON, atomically (temporary file + rename).

        Parameters
        ----------
        path : str or os.PathLike
            Destination file; it is replaced only once fully written.
        """
        path = Path(path)
        payload = json.dumps(self.to_dict(), indent=2, allow_nan=False)
        write_atomic(path, payload)

    @classmethod
    def load(cls, path):
        """Read a model written by :meth:`save`.

        Parameters
        ----------
        path : str or os.PathLike
            JSON file written by :meth:`save`.

        Returns
        -------
        BTYDModel
            A fitted model of this class.

        Raises
        ------
        ModelLoadError
            When the file is missing, not JSON, or describes another model.
        """
        path = Path(path)
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelLoadError(f"no saved model at {path}") from None
        except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ModelLoadError(f"cannot read {path} as a saved model: {exc}") from None
        return cls.from_dict(d)


def dot(u, v) -> float:
    """Inner product of two 1-D arrays, single-threaded.

    ``np.dot`` hands 1-D products to multithreaded BLAS, which is up to 40x slower than
    einsum's loop on a busy machine; every likelihood kernel sums through this.

    Parameters
    ----------
    u, v : numpy.ndarray
        Equal-length 1-D arrays.

    Returns
    -------
    float
        ``sum(u * v)``.
    """
    return float(np.einsum("i,i->", u, v))


def z_quantile(level: float) -> float:
    """Standard-normal quantile of a two-sided interval of coverage ``level``.

    Parameters
    ----------
    level : float
        Coverage, strictly between 0 and 1 (0.95 gives 1.96).

    Returns
    -------
    float
        ``Phi^-1(0.5 + level / 2)``.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1 (e.g. 0.95), got {level!r}")
    return float(special.ndtri(0.5 + level / 2))


def log_gradient(func, params):
    """Gradient of ``func`` with respect to the log-parameters by central differences.

    Parameters
    ----------
    func : callable
        ``func(params) -> array``, a prediction as a function of the natural parameters.
    params : numpy.ndarray
        Natural parameters at which to differentiate.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(params), *func(params).shape)``: d func / d log(params_j).
    """
    grads = []
    for j in range(params.size):
        h = 1e-5
        up = params.copy()
        dn = params.copy()
        up[j] *= np.exp(h)
        dn[j] *= np.exp(-h)
        grads.append((np.asarray(func(up)) - np.asarray(func(dn))) / (2 * h))
    return np.stack(grads)


def _json_float(v):
    v = float(v)
    return v if np.isfinite(v) else None


def _from_json_float(v):
    return float("nan") if v is None else float(v)


def _from_lifetimes(cls, fitter):
    params_ = getattr(fitter, "params_", None)
    if params_ is None:
        raise ModelLoadError(f"{type(fitter).__name__} is not fitted (no params_)")
    try:
        params = {n: float(params_[n]) for n in cls._param_names}
    except KeyError as exc:
        raise ModelLoadError(
            f"{type(fitter).__name__} has no parameter {exc}; expected {cls._param_names}"
        ) from None
    model = cls(penalizer=float(getattr(fitter, "penalizer_coef", 0.0)))
    model.params_ = params
    k = len(cls._param_names)
    vm = getattr(fitter, "variance_matrix_", None)
    p = np.array([params[n] for n in cls._param_names])
    if isinstance(vm, pd.DataFrame):
        v = vm.loc[list(cls._param_names), list(cls._param_names)].to_numpy(dtype=float)
        # lifetimes' variance is params_j^2 * cov_log[i, j]; undo the column scaling.
        cov = v / (p[None, :] ** 2)
        cov = 0.5 * (cov + cov.T)
    else:
        cov = np.full((k, k), np.nan)
    model.log_params_covariance_ = cov
    model.standard_errors_ = {
        n: float(v) for n, v in zip(cls._param_names, p * np.sqrt(np.diag(cov)), strict=True)
    }
    data = getattr(fitter, "data", None)
    try:
        # lifetimes reports its likelihood in rescaled time; recompute it in ours.
        model.log_likelihood_ = float(cls._loglik(model, p, cls._data_from_lifetimes(data))[0])
    except (AttributeError, KeyError, TypeError, ValueError):
        model.log_likelihood_ = float("nan")
    model.params_at_bound_ = ()
    model.data_summary_ = {"source": f"lifetimes.{type(fitter).__name__}"}
    return model


def _to_lifetimes(model, fitter_cls):
    model._check_fitted()
    fitter = fitter_cls(penalizer_coef=float(model.penalizer))
    names = list(model._param_names)
    p = np.array([model.params_[n] for n in names])
    fitter.params_ = pd.Series(p, index=names)
    cov = model.log_params_covariance_
    fitter.variance_matrix_ = pd.DataFrame(p[None, :] ** 2 * cov, index=names, columns=names)
    fitter.standard_errors_ = pd.Series([model.standard_errors_[n] for n in names], index=names)
    if hasattr(fitter, "conditional_expected_number_of_purchases_up_to_time"):
        fitter.predict = fitter.conditional_expected_number_of_purchases_up_to_time
    return fitter


class PurchaseModel(BTYDModel):
    """A continuous-time purchase model (BG/NBD, MBG/NBD, Pareto/NBD).

    Subclasses set ``_expected`` to their conditional-expectation formula
    ``f(params, t, x, t_x, T)``; the delta-method interval is the same for all of them.
    Their hyper-parameters are ``penalizer`` and the static covariates,
    ``purchase_covariates`` and ``dropout_covariates`` (issue 21): a subclass names the
    parameters they shift in ``_covariate_params`` and supplies ``_row_kernel``; the
    encoding and the map to per-customer parameters are in :mod:`cxml.models._covariates`.
    """

    #: prepared-data class of the model, built from validated ``(x, t_x, T, w)``
    _data_class: type

    @staticmethod
    def _expected(params, t, x, tx, T):
        raise NotImplementedError

    @classmethod
    def _data_from_lifetimes(cls, df: pd.DataFrame):
        w = df["weights"].to_numpy(float) if "weights" in df else np.ones(len(df))
        x, tx, T = check_rfm(df["frequency"], df["recency"], df["T"])
        return cls._data_class(x, tx, T, w)

    #: parameter -> (covariate group, sign of the exponent), Fader & Hardie note 019
    _covariate_params: dict = {}

    def __init__(
        self, *, penalizer: float = 0.0, purchase_covariates=None, dropout_covariates=None
    ):
        self.penalizer = penalizer
        self.purchase_covariates = purchase_covariates
        self.dropout_covariates = dropout_covariates

    # -- covariates (issue 21; the encoding and mapping live in _covariates) -------------

    def _row_kernel(self, P, data):
        """Row-wise log-likelihood (n,) and its gradient (k, n) with respect to the
        per-customer parameters ``P`` (k, n)."""
        raise NotImplementedError

    #: ``_row_hessian(P, data) -> (ll, G, H)``, the kernel with each row's (k, k, n)
    #: Hessian, where a model has it (the covariate fit then uses Newton steps)
    _row_hessian: Callable[..., Any] | None = None

    def _wants_covariates(self) -> bool:
        return bool(
            getattr(self, "purchase_covariates", None) or getattr(self, "dropout_covariates", None)
        )

    def _fit_rfm(self, x, tx, T, w, covariates, index=None):
        """Fit on validated (x, t_x, T, w), with covariates when the model has some;
        ``index`` is frequency's pandas index, which the covariates' must equal."""
        from cxml.models._covariates import (
            CovariateData,
            CovariateDesign,
            check_aligned,
            check_no_covariates,
        )

        self.coefficients_ = None
        self.coefficient_names_: tuple[str, ...] = ()
        if not self._wants_covariates():
            check_no_covariates(self, covariates)
            data = self._data_class(x, tx, T, w)
            return self._fit_prepared(data, rfm_data_summary(x, tx, T, w, data.x.size))
        purchase, dropout = CovariateDesign.from_model(self)
        check_aligned(covariates, index)
        design = CovariateDesign.fit(purchase, dropout, covariates, x.size)
        designs: dict = {}
        free: dict = {}
        names: list[str] = []
        by_group = {
            g: design.matrix(covariates, x.size, g) for g, _ in self._covariate_params.values()
        }
        for p, (group, sign) in self._covariate_params.items():
            X = by_group[group]
            cols = design.columns(group)
            # A constant column is absorbed by the baseline: not identified, fixed at 0.
            f = (X.max(axis=0) > X.min(axis=0)) if X.shape[0] else np.zeros(0, bool)
            for c in np.asarray(cols, dtype=object)[~f]:
                logger.warning(
                    "%s: covariate column %r is constant in the training data; "
                    "its coefficient on %s is not identified and is fixed at 0.",
                    self._model_label,
                    c,
                    p,
                )
            designs[p], free[p] = (sign, X), f
            names.extend(f"{p}: {c}" for c, keep in zip(cols, f, strict=True) if keep)
        self.coefficient_names_ = tuple(names)
        # The plain model's penalty scale depends on max(T) only: take it from that row.
        i = [int(np.argmax(T))]
        base = self._data_class(x[i], tx[i], T[i], w[i])
        data = CovariateData(
            x,
            tx,
            T,
            w,
            designs,
            self._param_names,
            self._row_kernel,
            np.asarray(base.penalty_scale, dtype=float),
            free,
            hessian_kernel=self._row_hessian,
        )
        self._fit_prepared(data, rfm_data_summary(x, tx, T, w, data.x.size))
        # Split the fitted vector's covariance: baseline block, and the whole for the
        # coefficients.
        full = self.log_params_covariance_
        k = len(self._param_names)
        self.theta_covariance_ = full
        self.log_params_covariance_ = full[:k, :k]
        self._set_coefficients(design, free, self.theta_, full)
        return self

    def _set_coefficients(self, design, free, theta, full):
        k = len(self._param_names)
        sd = (
            np.sqrt(np.maximum(np.diag(full), 0.0))
            if np.all(np.isfinite(full))
            else np.full(full.shape[0], np.nan)
        )
        coefs: dict[str, dict[str, float]] = {}
        ses: dict[str, dict[str, float]] = {}
        at = k
        for p, (group, _) in self._covariate_params.items():
            coefs[p], ses[p] = {}, {}
            for c, keep in zip(design.columns(group), free[p], strict=True):
                if keep:
                    coefs[p][c], ses[p][c] = float(theta[at]), float(sd[at])
                    at += 1
                else:
                    coefs[p][c], ses[p][c] = 0.0, float("nan")
        self.covariate_design_ = design
        self.coefficients_ = coefs
        self.coefficient_standard_errors_ = ses

    def _params_for(self, covariates, n, index=None):
        """The baseline parameters (k,) without covariates, else per-customer (k, n)."""
        from cxml.models._covariates import check_aligned, check_no_covariates, row_params

        self._check_fitted()
        base = self._param_array()
        if getattr(self, "coefficients_", None) is None:
            check_no_covariates(self, covariates)
            return base
        check_aligned(covariates, index)
        design = self.covariate_design_
        fitted = cast(dict, self.coefficients_)
        designs: dict = {}
        coefs: dict = {}
        for p, (group, sign) in self._covariate_params.items():
            designs[p] = (sign, design.matrix(covariates, n, group))
            coefs[p] = np.asarray(list(fitted[p].values()), dtype=np.float64)
        return row_params(base, self._param_names, designs, coefs)

    def _covariates_to_dict(self):
        return {
            "design": self.covariate_design_.to_dict(),
            "coefficients": self.coefficients_,
            "standard_errors": {
                p: {c: _json_float(v) for c, v in d.items()}
                for p, d in self.coefficient_standard_errors_.items()
            },
            "theta_names": list(self._theta_names()),
            "theta_covariance": [[_json_float(v) for v in row] for row in self.theta_covariance_],
        }

    def _covariates_from_dict(self, d):
        from cxml.models._covariates import CovariateDesign

        try:
            des = d["design"]
            self.purchase_covariates = list(des["purchase"]) or None
            self.dropout_covariates = list(des["dropout"]) or None
            self.covariate_design_ = CovariateDesign(
                des["purchase"], des["dropout"], des["encoding"]
            )
            self.coefficients_ = {
                p: {c: float(v) for c, v in dd.items()} for p, dd in d["coefficients"].items()
            }
            self.coefficient_standard_errors_ = {
                p: {c: _from_json_float(v) for c, v in dd.items()}
                for p, dd in d["standard_errors"].items()
            }
            k = len(self._param_names)
            self.coefficient_names_ = tuple(d["theta_names"][k:])
            self.theta_covariance_ = np.array(
                [[_from_json_float(v) for v in row] for row in d["theta_covariance"]], dtype=float
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ModelLoadError(
                f"saved {type(self).__name__} has corrupt covariates: {exc}"
            ) from None

    def expected_purchases_interval(self, t, frequency, recency, T, *, level=0.95, covariates=None):
        """Expected purchases with a delta-method interval from the parameter covariance.

        Parameters
        ----------
        t : float or array-like
            Horizon, in the time unit of ``recency`` and ``T``.
        frequency : array-like
            Repeat purchases of each customer.
        recency : array-like
            Time from first to last purchase, in the unit of the fit.
        T : array-like
            Time from first purchase to the end of observation, same unit.
        level : float, default 0.95
            Coverage of the interval.
        covariates : pandas.DataFrame, optional
            The customers' covariates, for a model fitted with covariates; the interval
            then includes the coefficients' uncertainty.

        Returns
        -------
        estimate : numpy.ndarray
            Expected purchases (as :meth:`expected_purchases`).
        lower : numpy.ndarray
            Lower bound, built on the log scale (always positive).
        upper : numpy.ndarray
            Upper bound.
        """
        t = check_horizon("t", t)
        x, tx, T = check_rfm(frequency, recency, T, require_data=False)
        if getattr(self, "coefficients_", None) is None:
            # Refuses covariates= on a model fitted without them.
            self._params_for(covariates, x.size, getattr(frequency, "index", None))
            return self._delta_interval(lambda p: self._expected(p, t, x, tx, T), level)
        return self._theta_delta_interval(
            lambda P: self._expected(P, t, x, tx, T),
            covariates,
            x.size,
            level,
            getattr(frequency, "index", None),
        )

    def _theta_delta_interval(self, func, covariates, n, level, index=None):
        """Delta-method interval of ``func(per-customer parameters)`` over the fitted
        vector (log-parameters, coefficients), on the log scale of the prediction."""
        from cxml.models._covariates import check_aligned, row_params

        check_aligned(covariates, index)
        design = self.covariate_design_
        k = len(self._param_names)
        fitted = cast(dict, self.coefficients_)
        designs: dict = {}
        coefs: dict = {}
        slots: list[tuple[str, int]] = []
        for p, (group, sign) in self._covariate_params.items():
            designs[p] = (sign, design.matrix(covariates, n, group))
            coefs[p] = np.asarray(list(fitted[p].values()), dtype=np.float64)
            names = list(fitted[p])
            slots.extend(
                (p, names.index(nm.split(": ", 1)[1]))
                for nm in self.coefficient_names_
                if nm.split(": ", 1)[0] == p
            )
        base = self._param_array()

        def at(log_base, cf):
            return np.asarray(
                func(row_params(np.exp(log_base), self._param_names, designs, cf)), dtype=float
            )

        est = at(np.log(base), coefs)
        grads = []
        h = 1e-5
        for j in range(k + len(slots)):
            lb_up, lb_dn = np.log(base), np.log(base)
            c_up = {p: v.copy() for p, v in coefs.items()}
            c_dn = {p: v.copy() for p, v in coefs.items()}
            if j < k:
                lb_up[j] += h
                lb_dn[j] -= h
            else:
                p, i = slots[j - k]
                c_up[p][i] += h
                c_dn[p][i] -= h
            grads.append((at(lb_up, c_up) - at(lb_dn, c_dn)) / (2 * h))
        G = np.stack(grads)
        var = np.einsum("i...,ij,j...->...", G, self.theta_covariance_, G)
        with np.errstate(divide="ignore", invalid="ignore"):
            sd = np.sqrt(np.maximum(var, 0.0)) / est
        zq = z_quantile(level)
        lower = np.where(est > 0, est * np.exp(-zq * sd), 0.0)
        upper = np.where(est > 0, est * np.exp(zq * sd), 0.0)
        return est, lower, upper
