"""Zero-inflated customer value model on LightGBM (the decomposition of Google's ZILN).

Wang, Liu & Miao (2019), "A Deep Probabilistic Model for Customer Lifetime Value
Prediction", model future spend as a zero-inflated lognormal: with probability ``1 - p`` a
customer spends nothing, otherwise spend is lognormal; the expected value is
``p * E[spend | spend > 0]`` (their eq. 2-3). :class:`ValueModel` keeps that decomposition
with two gradient-boosted parts instead of one network:

- ``P(buy)``: a calibrated :class:`~cxml.models.ChurnClassifier` on "no spend in the horizon";
- ``E[spend | buy]``: a LightGBM regressor fitted on the buyers only, with a log link
  (``objective="gamma"``, whose fitted values estimate the conditional mean directly) or,
  as in ZILN, a lognormal (L2 on log spend, mean ``exp(mu + sigma^2 / 2)``), rescaled so
  that its total matches the held-out buyers' spend.

Both parts stop early on a held-out part of the training rows (the latest ``groups`` when
given, a time-based split) and persist as LightGBM text + JSON, never pickle.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin

from cxml.exceptions import DataValidationError, NotFittedError
from cxml.models._churn import ChurnClassifier
from cxml.models._lgbm_io import load_booster, save_booster
from cxml.models._tabular import check_feature_frame, holdout_split, training_columns

__all__ = ["ValueModel"]

logger = logging.getLogger(__name__)

_SPEND_OBJECTIVES = ("gamma", "lognormal")


class ValueModel(RegressorMixin, BaseEstimator):
    """Expected spend over a horizon as ``P(buy) x E[spend | buy]`` (ZILN-style, LightGBM).

    Parameters
    ----------
    spend_objective : {"gamma", "lognormal"}, default "gamma"
        How ``E[spend | buy]`` is learnt: LightGBM's gamma deviance (log link; predicts the
        mean) or L2 on ``log(spend)`` with the lognormal mean correction
        ``exp(mu + sigma^2 / 2)``, ``sigma^2`` the residual variance on the hold-out.
    btyd_spend_feature : bool, default True
        When ``X`` has ``expected_purchases`` and ``expected_average_value`` (the BG/NBD and
        Gamma-Gamma outputs of cxml's feature rows), add their product, the BTYD expected
        spend, as a feature: trees approximate a product of two features poorly, and it is
        the strongest single predictor of future spend.
    n_estimators : int, default 1000
        Upper bound on boosting rounds of each part (early stopping picks the number).
    learning_rate : float, default 0.02
        Shrinkage of each tree's contribution, for both parts.
    num_leaves : int, default 7
        Small trees: customer tables are noisy and low-dimensional; deeper trees did not
        help on CDNOW or Online Retail II.
    min_child_samples : int, default 100
        Minimum number of rows in a leaf, for both parts.
    subsample, colsample_bytree, reg_lambda : float
        As in :class:`~cxml.models.ChurnClassifier`.
    validation_fraction : float, default 0.25
        Share of rows held out for early stopping (and calibration of ``P(buy)``).
    early_stopping_rounds : int, default 50
        Each part stops boosting when its loss on the held-out rows has not improved for
        this many rounds.
    random_state : int, default 0
        Seed of the hold-out splits and of LightGBM's row and feature sampling.

    Attributes
    ----------
    buy_model_ : ChurnClassifier
        Calibrated probability of *no* spend (``P(buy) = 1 - proba``).
    spend_booster_ : lightgbm.Booster
        ``E[spend | buy]`` (gamma) or ``E[log spend | buy]`` (lognormal).
    spend_best_iteration_ : int
    sigma2_ : float
        Residual variance of log spend (lognormal only; 0 for gamma).
    spend_scale_ : float
        Calibration in the large of ``E[spend | buy]``: held-out buyers' total spend over
        its prediction (the hold-out is the latest period with ``groups``).
    feature_names_in_ : ndarray of str
        Input columns (without the derived ones).
    n_features_in_ : int
        Number of input columns.
    derived_features_ : list of str
        Columns computed from the input (``["btyd_expected_spend"]`` or ``[]``).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"f": rng.normal(size=2000)})
    >>> buy = rng.random(2000) < 1 / (1 + np.exp(-2 * X["f"]))
    >>> spend = np.where(buy, rng.lognormal(3 + 0.5 * X["f"], 0.5), 0.0)
    >>> m = ValueModel(n_estimators=200).fit(X, spend)
    >>> m.predict(X).shape
    (2000,)
    """

    def __init__(
        self,
        *,
        spend_objective: str = "gamma",
        btyd_spend_feature: bool = True,
        n_estimators: int = 1000,
        learning_rate: float = 0.02,
        num_leaves: int = 7,
        min_child_samples: int = 100,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        reg_lambda: float = 1.0,
        validation_fraction: float = 0.25,
        early_stopping_rounds: int = 50,
        random_state: int = 0,
    ):
        self.spend_objective = spend_objective
        self.btyd_spend_feature = btyd_spend_feature
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.validation_fraction = validation_fraction
        self.early_stopping_rounds = early_stopping_rounds
        self.random_state = random_state

    def _lgb_params(self) -> dict:
        return dict(
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            min_child_samples=self.min_child_samples,
            subsample=self.subsample,
            subsample_freq=1 if self.subsample < 1 else 0,
            colsample_bytree=self.colsample_bytree,
            reg_lambda=self.reg_lambda,
            random_state=self.random_state,
            deterministic=True,
            force_row_wise=True,
            n_jobs=1,
            verbose=-1,
        )

    def fit(self, X: pd.DataFrame, spend, *, groups=None) -> ValueModel:
        """Fit ``P(buy)`` on every row and ``E[spend | buy]`` on the rows with spend > 0.

        Parameters
        ----------
        X : pandas.DataFrame
            Numeric features (NaN allowed).
        spend : array-like of float
            Spend in the horizon after each row's cut-off (0 = no purchase; negative net
            spend counts as 0).
        groups : array-like, optional
            Sortable group per row (the cut-off date of stacked snapshots): the hold-out for
            early stopping is then the latest groups.

        Returns
        -------
        ValueModel
            The fitted estimator.

        Raises
        ------
        DataValidationError
            Lengths differ, NaN spend, or too few buyers / non-buyers to learn from.
        """
        import lightgbm as lgb

        if self.spend_objective not in _SPEND_OBJECTIVES:
            raise ValueError(
                f"spend_objective must be one of {_SPEND_OBJECTIVES}, got {self.spend_objective!r}"
            )
        X = check_feature_frame(X)
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        self.derived_features_ = (
            ["btyd_expected_spend"]
            if self.btyd_spend_feature
            and {"expected_purchases", "expected_average_value"} <= set(X.columns)
            else []
        )
        X = self._with_derived(X)
        s = np.asarray(spend, dtype=float).ravel()
        if len(s) != len(X):
            raise DataValidationError(f"spend has {len(s)} rows but X has {len(X)}")
        bad = ~np.isfinite(s)
        if bad.any():
            raise DataValidationError(
                f"spend is NaN or infinite for {int(bad.sum()):,} of {len(s):,} rows"
            )
        s = np.maximum(s, 0.0)
        buy = s > 0
        if buy.sum() < 20:
            raise DataValidationError(
                f"only {int(buy.sum())} of {len(s):,} rows have spend > 0; the spend model "
                "needs at least 20 buyers: widen the horizon or the data range"
            )
        self.buy_model_ = ChurnClassifier(
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            min_child_samples=self.min_child_samples,
            subsample=self.subsample,
            colsample_bytree=self.colsample_bytree,
            reg_lambda=self.reg_lambda,
            validation_fraction=self.validation_fraction,
            early_stopping_rounds=self.early_stopping_rounds,
            random_state=self.random_state,
        ).fit(X, (~buy).astype(int), groups=groups)

        idx = np.flatnonzero(buy)
        g = None if groups is None else np.asarray(groups)[idx]
        fit_i, hold_i = holdout_split(
            len(idx), self.validation_fraction, groups=g, random_state=self.random_state
        )
        fit_i, hold_i = idx[fit_i], idx[hold_i]
        gamma = self.spend_objective == "gamma"
        target = s if gamma else np.log(s, where=buy, out=np.zeros_like(s))
        reg = lgb.LGBMRegressor(objective="gamma" if gamma else "regression", **self._lgb_params())
        reg.fit(
            X.iloc[fit_i],
            target[fit_i],
            eval_X=(X.iloc[hold_i],),
            eval_y=(target[hold_i],),
            callbacks=[lgb.early_stopping(self.early_stopping_rounds, verbose=False)],
        )
        self.spend_booster_ = reg.booster_
        self.spend_best_iteration_ = int(reg.best_iteration_ or reg.n_estimators)
        raw_hold = self.spend_booster_.predict(
            X.iloc[hold_i], num_iteration=self.spend_best_iteration_
        )
        self.sigma2_ = 0.0 if gamma else float(np.var(target[hold_i] - raw_hold))
        # calibration in the large on the held-out buyers: a log-link booster's mean of
        # exp(f) drifts from the mean spend (bagging, early stopping, heavy tails), and on a
        # time split the hold-out is the latest period, whose spend level the model should
        # carry (the value analogue of the churn model's calibration map)
        self.spend_scale_ = 1.0
        pred_hold = self._spend_from_raw(raw_hold)
        if pred_hold.sum() > 0:
            self.spend_scale_ = float(s[hold_i].sum() / pred_hold.sum())
        logger.info(
            "value model: %d + %d rounds, %d buyers of %d rows",
            self.buy_model_.best_iteration_,
            self.spend_best_iteration_,
            int(buy.sum()),
            len(s),
        )
        return self

    def _with_derived(self, X: pd.DataFrame) -> pd.DataFrame:
        if "btyd_expected_spend" in self.derived_features_:
            X = X.assign(btyd_expected_spend=X["expected_purchases"] * X["expected_average_value"])
        return X

    def _check_fitted(self):
        if not hasattr(self, "spend_booster_"):
            raise NotFittedError(
                "This ValueModel is not fitted yet; call fit(X, spend) or ValueModel.load()"
            )

    def predict_components(self, X: pd.DataFrame) -> pd.DataFrame:
        """``p_buy``, ``spend_if_buy`` and their product ``expected_spend``, per row.

        Parameters
        ----------
        X : pandas.DataFrame
            Must contain the training columns (extra columns are ignored).

        Returns
        -------
        pandas.DataFrame
            Same index as ``X``.
        """
        self._check_fitted()
        # The training columns plus the derived ones, in the order both parts were fitted on.
        X = self._with_derived(
            training_columns(check_feature_frame(X), self.feature_names_in_, "value model")
        )
        p_buy = 1.0 - self.buy_model_.predict_proba(X)[:, 1]
        raw = self.spend_booster_.predict(X, num_iteration=self.spend_best_iteration_)
        spend = self.spend_scale_ * self._spend_from_raw(raw)
        return pd.DataFrame(
            {"p_buy": p_buy, "spend_if_buy": spend, "expected_spend": p_buy * spend}, index=X.index
        )

    def _spend_from_raw(self, raw) -> np.ndarray:
        # lognormal mean exp(mu + sigma^2/2) (ZILN eq. 3); gamma already predicts the mean
        raw = np.asarray(raw, dtype=float)
        if self.spend_objective == "gamma":
            return raw
        return np.exp(raw + self.sigma2_ / 2.0)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Expected spend over the horizon, ``P(buy) x E[spend | buy]``.

        Parameters
        ----------
        X : pandas.DataFrame
            Must contain the training columns (extra columns are ignored).

        Returns
        -------
        ndarray of float, shape (n_samples,)
            The ``expected_spend`` column of :meth:`predict_components`.
        """
        return self.predict_components(X)["expected_spend"].to_numpy()

    def save(self, directory: str | Path) -> None:
        """Write the two parts of the model into ``directory``.

        Files: ``value_buy/`` (the ``P(buy)`` part, a :class:`ChurnClassifier`),
        ``value_spend_lgbm.txt`` (the spend booster, LightGBM text format) and
        ``value.json`` (hyperparameters, ``sigma2_``, ``spend_scale_`` and feature names).

        Parameters
        ----------
        directory : str or Path
            Created if needed; existing files of the same names are overwritten.

        Raises
        ------
        NotFittedError
            The model is not fitted.
        """
        self._check_fitted()
        self.buy_model_.save(Path(directory) / "value_buy")
        meta = {
            "params": self.get_params(),
            "sigma2": self.sigma2_,
            "spend_scale": self.spend_scale_,
            "derived_features": self.derived_features_,
            "feature_names": [str(c) for c in self.feature_names_in_],
        }
        save_booster(
            directory,
            self.spend_booster_,
            self.spend_best_iteration_,
            "value_spend_lgbm.txt",
            "value.json",
            meta,
        )

    @classmethod
    def load(cls, directory: str | Path) -> ValueModel:
        """Read a model written by :meth:`save`.

        Parameters
        ----------
        directory : str or Path
            Directory holding ``value_buy/``, ``value_spend_lgbm.txt`` and ``value.json``.

        Returns
        -------
        ValueModel
            A fitted model with the saved hyperparameters and both parts.

        Raises
        ------
        ModelLoadError
            A file is missing or unreadable.
        """
        d = Path(directory)
        booster, meta = load_booster(d, "value_spend_lgbm.txt", "value.json", "value model")
        est = cls(**meta["params"])
        est.buy_model_ = ChurnClassifier.load(d / "value_buy")
        est.spend_booster_ = booster
        est.spend_best_iteration_ = booster.current_iteration()
        est.sigma2_ = float(meta["sigma2"])
        est.spend_scale_ = float(meta["spend_scale"])
        est.derived_features_ = list(meta["derived_features"])
        est.feature_names_in_ = np.asarray(meta["feature_names"], dtype=object)
        est.n_features_in_ = len(est.feature_names_in_)
        return est
