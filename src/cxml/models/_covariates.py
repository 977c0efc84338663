"""Static customer covariates in the BTYD purchase models (issue 21).

The form is Fader & Hardie's note 019, "Incorporating Time-Invariant Covariates into the
Pareto/NBD and BG/NBD Models" (http://brucehardie.com/notes/019/), the one pymc-marketing
and CLVTools use: a scale parameter of the population becomes customer-specific,

    BG/NBD, MBG/NBD: alpha_i = alpha exp(-x_p,i g_alpha), a_i = a exp(x_d,i g_a),
                     b_i = b exp(x_d,i g_b);
    Pareto/NBD:      alpha_i = alpha exp(-x_p,i g_alpha), beta_i = beta exp(-x_d,i g_beta),

so exp(g_alpha) multiplies the mean purchase rate r / alpha_i and (Pareto/NBD) exp(g_beta)
the mean dropout rate s / beta_i. The baseline scales are those of a customer with x = 0.

This module is the one place that turns a covariate table into design matrices (the
encoding rule below), maps the fitted vector (log baseline parameters, coefficients) to
per-customer parameters and back, and builds the coefficient table; each model supplies a
row-wise likelihood kernel with its gradient with respect to the per-customer parameters.

Encoding rule
-------------
* Numeric (and boolean, as 0/1) columns are used as given; a column far from standardised
  (|mean| > 3 sd or sd > 10) is logged as a warning, because the coefficients then mean
  "per unit" of a large scale and the optimiser works harder.
* Any other column is categorical: its levels are the distinct values seen at fit, as
  text, sorted; the first is the reference level and every other level gets a 0/1 column
  named ``"<column>=<level>"``. The levels are frozen at fit and saved with the model; a
  level not seen at fit is refused at prediction (:class:`~cxml.exceptions.DataValidationError`
  naming it and the known levels).
* A design column that is constant in the training data is not identified (the baseline
  absorbs it); its coefficient is fixed at 0 with a warning and a NaN standard error, so an
  all-zero column gives exactly the plain model.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from cxml.exceptions import CxmlUserError, DataValidationError
from cxml.models._base import compress_rows, row_codes, z_quantile

__all__ = [
    "CovariateData",
    "check_aligned",
    "CovariateDesign",
    "check_no_covariates",
    "coefficient_table",
    "row_params",
]

logger = logging.getLogger(__name__)

#: which covariate list drives each parameter, and the sign of its exponent (note 019)
GROUPS = ("purchase", "dropout")


def _as_list(cols, name):
    if cols is None:
        return []
    if isinstance(cols, str):
        raise CxmlUserError(
            f"{name} must be a list of column names, got the string {cols!r}; write [{cols!r}]"
        )
    out = list(cols)
    bad = [c for c in out if not isinstance(c, str)]
    if bad:
        raise CxmlUserError(f"{name} must list column names (text); got {bad[:3]}")
    if len(set(out)) != len(out):
        raise CxmlUserError(f"{name} lists a column twice: {out}")
    return out


def check_no_covariates(model, covariates):
    """Refuse ``covariates=`` on a model without covariate columns."""
    if covariates is not None:
        raise CxmlUserError(
            f"covariates were given but this {type(model).__name__} has no "
            "purchase_covariates or dropout_covariates; set them (e.g. "
            f"{type(model).__name__}(purchase_covariates=['channel'])) or drop covariates="
        )


def check_aligned(covariates, index):
    """Refuse covariates whose pandas index differs from frequency's: rows are matched by
    position, and two tables in different orders would pair customers silently wrong."""
    if index is None or not isinstance(covariates, pd.DataFrame):
        return
    if len(covariates) == len(index) and not covariates.index.equals(index):
        differ = np.flatnonzero(covariates.index.to_numpy() != index.to_numpy())
        i = int(differ[0]) if differ.size else 0
        raise DataValidationError(
            f"covariates' index differs from frequency's in {differ.size:,} rows (e.g. row "
            f"{i}: {covariates.index[i]!r} vs {index[i]!r}); rows are matched by position, so "
            "align them first, e.g. covariates.loc[frequency.index]"
        )


class CovariateDesign:
    """Frozen encoding of the covariate columns of one model.

    Parameters
    ----------
    purchase, dropout : list of str
        Column names of the purchase and dropout covariates.
    encoding : dict
        Column -> ``{"kind": "numeric"}`` or ``{"kind": "categorical", "levels": [...]}``.
    """

    def __init__(self, purchase, dropout, encoding):
        self.purchase = list(purchase)
        self.dropout = list(dropout)
        self.encoding = encoding

    @classmethod
    def from_model(cls, model):
        return (
            _as_list(model.purchase_covariates, "purchase_covariates"),
            _as_list(model.dropout_covariates, "dropout_covariates"),
        )

    @classmethod
    def fit(cls, purchase, dropout, covariates, n):
        frame = _check_frame(covariates, purchase + dropout, n)
        encoding: dict[str, dict] = {}
        for col in dict.fromkeys(purchase + dropout):
            s = frame[col]
            numeric = pd.api.types.is_numeric_dtype(s) and not isinstance(
                s.dtype, pd.CategoricalDtype
            )
            if pd.api.types.is_bool_dtype(s) or numeric:
                v = s.to_numpy(dtype=float)
                mean, sd = float(np.mean(v)), float(np.std(v))
                if (abs(mean) > 3 * sd and sd > 0) or sd > 10:
                    logger.warning(
                        "covariate %r is far from standardised (mean %.3g, sd %.3g); its "
                        "coefficient is per unit of that scale. Consider (x - mean) / sd.",
                        col,
                        mean,
                        sd,
                    )
                encoding[col] = {"kind": "numeric"}
            else:
                levels = sorted(pd.unique(s.astype(str)))
                encoding[col] = {"kind": "categorical", "levels": [str(v) for v in levels]}
        return cls(purchase, dropout, encoding)

    def columns(self, group):
        """Design-column names of ``group`` ("purchase" or "dropout")."""
        out = []
        for col in self.purchase if group == "purchase" else self.dropout:
            enc = self.encoding[col]
            if enc["kind"] == "numeric":
                out.append(col)
            else:
                out.extend(f"{col}={lv}" for lv in enc["levels"][1:])
        return out

    def matrix(self, covariates, n, group):
        """Design matrix (n x len(columns(group))) of ``group`` for ``covariates``."""
        cols = self.purchase if group == "purchase" else self.dropout
        if not cols:
            return np.zeros((n, 0))
        frame = _check_frame(covariates, cols, n)
        parts = []
        for col in cols:
            enc = self.encoding[col]
            s = frame[col]
            if enc["kind"] == "numeric":
                try:
                    parts.append(s.to_numpy(dtype=float)[:, None])
                except (TypeError, ValueError):
                    raise DataValidationError(
                        f"covariate {col!r} was numeric at fit but holds non-numbers now "
                        f"(e.g. {s.iloc[0]!r}); pass the same kind of values"
                    ) from None
                continue
            levels = enc["levels"]
            # Codes into the frozen levels (-1: not seen at fit): each distinct value is
            # turned into text and looked up once, not every row compared with each level.
            codes, uniq = pd.factorize(s, sort=False)
            codes = pd.Index(levels).get_indexer(pd.Index(uniq).astype(str))[codes]
            unseen = codes < 0
            if unseen.any():
                bad = pd.unique(s.astype(str).to_numpy()[unseen])
                raise DataValidationError(
                    f"covariate {col!r} has {int(unseen.sum()):,} rows with a level not seen "
                    f"at fit (e.g. {bad[0]!r}); known levels: {levels}. Map it to a known "
                    "level or refit with it"
                )
            parts.append((codes[:, None] == np.arange(1, len(levels))[None, :]).astype(float))
        return np.hstack(parts)

    def to_dict(self):
        return {"purchase": self.purchase, "dropout": self.dropout, "encoding": self.encoding}


def _check_frame(covariates, cols, n):
    if covariates is None:
        raise CxmlUserError(
            f"this model uses the covariates {cols}; pass covariates= (a DataFrame with one "
            "row per customer, in the order of frequency/recency/T)"
        )
    if not isinstance(covariates, pd.DataFrame):
        try:
            covariates = pd.DataFrame(covariates)
        except (TypeError, ValueError):
            raise CxmlUserError(
                f"covariates must be a DataFrame, got {type(covariates).__name__}"
            ) from None
    missing = [c for c in cols if c not in covariates.columns]
    if missing:
        raise DataValidationError(
            f"covariates lack the column(s) {missing}; it has {list(covariates.columns)[:10]}"
        )
    if len(covariates) != n:
        raise DataValidationError(
            f"covariates has {len(covariates):,} rows but there are {n:,} customers; pass "
            "one row per customer, in the same order"
        )
    for c in cols:
        bad = covariates[c].isna().to_numpy()
        if bad.any():
            raise DataValidationError(
                f"covariate {c!r} is missing in {int(bad.sum()):,} rows (e.g. row "
                f"{int(np.flatnonzero(bad)[0])}); fill it (a level such as 'unknown' or a "
                "number) before fitting or predicting"
            )
        if covariates[c].dtype.kind == "f" and not np.all(np.isfinite(covariates[c])):
            raise DataValidationError(f"covariate {c!r} holds inf values")
    return covariates


class CovariateData:
    """Prepared data of a fit with covariates: compressed rows, the design matrices and the
    map from the fitted vector to per-customer parameters.

    The fitted vector is (ln theta_1 .. ln theta_k, g_1 .. g_m). The base class optimises
    ``ln`` of whatever it is handed, so the coefficients travel through it as exp(g) and
    :meth:`covariate_loglik` undoes that (d/d exp(g) = e^-g d/dg); their penalty scale is 0.

    Parameters
    ----------
    x, tx, T, w : numpy.ndarray
        Validated frequency, recency, T and weights.
    designs : dict
        Parameter name -> (sign, design matrix n x m_j) for the parameters with covariates.
    param_names : tuple of str
        The model's baseline parameters.
    kernel : callable
        ``kernel(P, data) -> (ll_rows, G)`` with ``P`` the (k, n) per-row parameters and
        ``G`` the (k, n) gradient of each row's log-likelihood.
    base_penalty_scale : numpy.ndarray
        The plain model's penalty scale (k,).
    free : dict
        Parameter name -> boolean mask of the design columns that are estimated.
    hessian_kernel : callable, optional
        ``hessian_kernel(P, data) -> (ll_rows, G, H)`` with ``H`` the (k, k, n) Hessian of
        each row's log-likelihood; with it :meth:`loglik_hessian` gives the exact Hessian
        of the total (the fit then polishes by Newton steps and needs no finite
        differences for the standard errors).
    """

    def __init__(
        self,
        x,
        tx,
        T,
        w,
        designs,
        param_names,
        kernel,
        base_penalty_scale,
        free,
        compress=True,
        hessian_kernel=None,
    ):
        mats = [designs[p][1] for p in designs]
        Z = np.hstack(mats) if mats else np.zeros((x.size, 0))
        if compress:
            cols, w_c = compress_rows(x, tx, T, *Z.T, weights=w)
            if w_c is not w:  # rows were merged (else the columns come back as given)
                x, tx, T = cols[:3]
                Z = np.column_stack(cols[3:]) if len(cols) > 3 else np.zeros((x.size, 0))
                w = w_c
        self.x, self.tx, self.T, self.w = x, tx, T, w
        self.W = float(w.sum())
        self.param_names = tuple(param_names)
        self.kernel = kernel
        self.hessian_kernel = hessian_kernel
        self.has_hessian = hessian_kernel is not None
        # The last evaluation, by fitted vector: the optimiser, the final check, the
        # log-likelihood and the Hessian ask for the optimum several times.
        self._last: tuple = (None, None)
        self.free = free
        self.designs = {}
        at = 0
        for p in designs:
            sign, m = designs[p][0], designs[p][1].shape[1]
            self.designs[p] = (sign, Z[:, at : at + m][:, free[p]])
            at += m
        self._Z, self._raw = Z, designs
        self.n_coef = sum(int(f.sum()) for f in free.values())
        self.penalty_scale = np.concatenate([base_penalty_scale, np.zeros(self.n_coef)])
        self._base_scale = base_penalty_scale
        # Blocks of rows: a block's temporaries stay in cache (2-3x faster than whole
        # columns on a million rows). Within a block, rows sharing x and the dropout design
        # share BG/NBD's x-and-(a, b) terms (``group``).
        self.chunks = []
        for lo in range(0, x.size, _CHUNK):
            sl = slice(lo, min(lo + _CHUNK, x.size))
            c = _Rows(
                x[sl], tx[sl], T[sl], w[sl], {p: (sg, X[sl]) for p, (sg, X) in self.designs.items()}
            )
            drop = [X for p, (_, X) in c.designs.items() if p != "alpha"]
            codes, n_unique = row_codes(c.x, *[col for X in drop for col in X.T])
            if n_unique < 0.5 * c.x.size:
                first = np.full(n_unique, c.x.size, dtype=np.int64)
                np.minimum.at(first, codes, np.arange(c.x.size))
                c.group = (first, codes)
            self.chunks.append(c)

    def subsample(self, n_rows):
        if self.x.size <= n_rows:
            return None
        idx = np.random.default_rng(0).choice(self.x.size, n_rows, replace=False)
        designs, at = {}, 0
        for p, (s, mat) in self._raw.items():
            m = mat.shape[1]
            designs[p] = (s, self._Z[idx, at : at + m])
            at += m
        return CovariateData(
            self.x[idx],
            self.tx[idx],
            self.T[idx],
            self.w[idx],
            designs,
            self.param_names,
            self.kernel,
            self._base_scale,
            self.free,
            compress=False,
            hessian_kernel=self.hessian_kernel,
        )

    def split(self, theta):
        """Baseline parameters (k,) and coefficient vectors of the natural fitted vector."""
        k = len(self.param_names)
        base = np.asarray(theta[:k], dtype=float)
        coefs, at = {}, k
        for p, (_, X) in self.designs.items():
            m = X.shape[1]
            coefs[p] = np.log(theta[at : at + m])
            at += m
        return base, coefs

    def covariate_loglik(self, theta):
        """Total log-likelihood and its gradient with respect to the natural fitted
        vector (baseline parameters, exp(coefficients)).

        Chain rule through the log-parameters: with ln theta_ij = ln theta_j + sign_j
        x_i g_j, d ll / d ln theta_j = sum_i w_i theta_ij G_ij and d ll / d g_j =
        sign_j sum_i w_i theta_ij G_ij x_i.
        """
        key = np.asarray(theta, dtype=float).tobytes()
        if self._last[0] == key:
            return self._last[1][:2]
        base, coefs = self.split(theta)
        ll = 0.0
        g_base = np.zeros(len(self.param_names))
        g_coef = {p: np.zeros(X.shape[1]) for p, (_, X) in self.designs.items()}
        for c in self.chunks:
            P = row_params(base, self.param_names, c.designs, coefs)
            ll_rows, G = self.kernel(P, c)
            ll += float(np.einsum("i,i->", c.w, ll_rows))
            G *= P
            G *= c.w  # d ll_i / d ln theta_ij, weighted
            g_base += G.sum(axis=1)
            for p, (sign, X) in c.designs.items():
                g_coef[p] += sign * np.einsum("ij,i->j", X, G[self.param_names.index(p)])
        grad = list(g_base / base)
        for p in self.designs:
            grad.extend(g_coef[p] / np.exp(coefs[p]))
        out = (ll, np.asarray(grad, dtype=float))
        self._last = (key, out)
        return out

    def loglik_hessian(self, theta):
        """Total log-likelihood with its gradient and Hessian with respect to the
        log-scale fitted vector u = (ln theta_1 .. ln theta_k, g_1 .. g_m), given the
        natural vector ``theta`` (as :meth:`covariate_loglik`).

        With u_ij = ln theta_ij the row's log-parameters (linear in u: u_ij = u_j +
        sign_j x_i g_j), d^2 ll_i / du_ij du_il = theta_ij theta_il H_ijl + delta_jl
        theta_ij G_ij, and the total's Hessian sums a_ij a_il^T times that over rows, a_ij
        being d u_ij / d u (1 at ln theta_j, sign_j x_i at g_j).
        """
        key = np.asarray(theta, dtype=float).tobytes()
        if self._last[0] == key and len(self._last[1]) == 4:
            ll, _, g_u, H_u = self._last[1]
            return ll, g_u, H_u
        base, coefs = self.split(theta)
        k = len(self.param_names)
        idx, at = [], k
        for j, p in enumerate(self.param_names):
            m = self.designs[p][1].shape[1] if p in self.designs else 0
            idx.append(np.r_[j, at : at + m])
            at += m
        n_u = at
        ll, g_u, H_u = 0.0, np.zeros(n_u), np.zeros((n_u, n_u))
        for c in self.chunks:
            P = row_params(base, self.param_names, c.designs, coefs)
            ll_rows, G, Hr = self.hessian_kernel(P, c)
            ll += float(np.einsum("i,i->", c.w, ll_rows))
            G *= P  # d ll_i / d u_ij
            X = [c.designs.get(p, (1.0, None)) for p in self.param_names]
            for j in range(k):
                for m in range(j, k):
                    h = Hr[j, m]  # -> w_i d^2 ll_i / du_ij du_im, in place
                    h *= P[j]
                    h *= P[m]
                    if m == j:
                        h += G[j]
                    h *= c.w
                    _add_block(H_u, idx[j], idx[m], h, X[j], X[m])
                G[j] *= c.w
                g_u[idx[j][0]] += G[j].sum()
                if X[j][1] is not None:
                    g_u[idx[j][1:]] += X[j][0] * (G[j] @ X[j][1])
        # d/d theta = d/du / theta: what covariate_loglik returns at the same point
        nat = g_u / np.asarray(theta, dtype=float)
        self._last = (key, (ll, nat, g_u, H_u))
        return ll, g_u, H_u


_CHUNK = 65_536


def _add_block(H, ij, im, h, Xj, Xm):
    """Add sum_i h_i a_ij a_im' to the (ij, im) block of ``H`` (and its transpose),
    a_ij = [1, sign_j x_ij] as in :meth:`CovariateData.loglik_hessian`, without building
    a_ij: ``Xj`` is (sign_j, design or None)."""
    (sj, Dj), (sm, Dm) = Xj, Xm
    blk = np.empty((ij.size, im.size))
    blk[0, 0] = h.sum()
    if Dm is not None:
        blk[0, 1:] = sm * (h @ Dm)
    if Dj is not None:
        blk[1:, 0] = sj * (h @ Dj)
        if Dm is not None:
            blk[1:, 1:] = (sj * sm) * ((Dj * h[:, None]).T @ Dm)
    H[np.ix_(ij, im)] += blk
    if ij[0] != im[0]:
        H[np.ix_(im, ij)] += blk.T


class _Rows:
    """One block of rows: what a row-wise kernel reads."""

    def __init__(self, x, tx, T, w, designs):
        self.x, self.tx, self.T, self.w, self.designs = x, tx, T, w, designs
        self.group = None


def row_params(base, param_names, designs, coefs):
    """Per-customer parameters (k, n): theta_j exp(sign_j X_j g_j) (note 019)."""
    n = next(iter(designs.values()))[1].shape[0]
    P = np.empty((len(param_names), n))
    for j, name in enumerate(param_names):
        P[j] = base[j]
        if name in designs:
            sign, X = designs[name]
            if X.shape[1]:
                P[j] *= np.exp(sign * (X @ coefs[name]))
    return P


#: what exp(coefficient) multiplies, per parameter (the sign of note 019 makes it the rate)
_EFFECT = {"alpha": "purchase rate", "beta": "dropout rate", "a": "a", "b": "b"}


def coefficient_table(model, level):
    """Rows of :meth:`summary` for the coefficients: estimate, se, interval, multiplier."""
    zq = z_quantile(level)
    rows, index = [], []
    for p, coefs in model.coefficients_.items():
        for name, g in coefs.items():
            se = model.coefficient_standard_errors_[p][name]
            lo, hi = g - zq * se, g + zq * se
            index.append(f"{p}: {name}")
            # an unidentified coefficient has a huge se: its interval is (0, inf), said so
            with np.errstate(over="ignore"):
                rows.append(
                    {
                        "estimate": g,
                        "se": se,
                        "lower": lo,
                        "upper": hi,
                        "multiplier": np.exp(g),
                        "multiplier_lower": np.exp(lo),
                        "multiplier_upper": np.exp(hi),
                        "multiplies": _EFFECT[p],
                    }
                )
    return pd.DataFrame(rows, index=index)
