"""LightGBM churn classifier with early stopping and probability calibration.

The estimator follows scikit-learn's conventions and persists without pickle: the booster in
LightGBM's native text format and the calibration map as JSON.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from cxml._atomic import write_atomic
from cxml.exceptions import DataValidationError, NotFittedError
from cxml.models._lgbm_io import load_booster, save_booster
from cxml.models._tabular import (
    check_binary_labels,
    check_feature_frame,
    holdout_split,
    training_columns,
)

# holdout_split is re-exported: tests and older code import it from here.
__all__ = ["ChurnClassifier", "holdout_split"]

logger = logging.getLogger(__name__)

_CALIBRATIONS = ("isotonic", "sigmoid", "none")


class ChurnClassifier(ClassifierMixin, BaseEstimator):
    """Gradient-boosted churn classifier (LightGBM) with calibrated probabilities.

    ``fit`` holds out part of the training rows: the first half of that hold-out drives
    early stopping, the second half fits the calibration map, so the reported
    probabilities are calibrated on rows the booster did not see. Pass ``groups`` (for
    example the cut-off date of stacked training snapshots) and the hold-out comes from the
    latest group, a time-based split: early stopping and calibration then happen on the
    most recent period, the one closest to the customers the model will score (see
    :func:`holdout_split`).

    Explanations: :attr:`feature_importances_` (total gain) and :meth:`shap_values`
    (exact TreeSHAP from LightGBM's ``pred_contrib``); :meth:`save_explanations` writes
    both as CSV next to the model.

    Parameters
    ----------
    n_estimators : int, default 1000
        Upper bound on boosting rounds; early stopping picks the number used.
    learning_rate : float, default 0.05
        Shrinkage of each tree's contribution; small values need more rounds, which
        early stopping provides. 0.02 gave the same AUC on five real-data splits
        (``benchmarks/eval_real.py --robustness``) with 2.5x the trees, which scoring pays
        for on every customer.
    num_leaves : int, default 7
        Small trees: customer tables are noisy and low-dimensional; deeper trees did not
        help on CDNOW or Online Retail II.
    min_child_samples : int, default 100
        Minimum number of rows in a leaf; large values keep leaves from fitting noise.
    subsample : float, default 0.8
        Row subsampling per tree (bagging, every iteration).
    colsample_bytree : float, default 0.8
        Share of the features sampled for each tree.
    reg_lambda : float, default 1.0
        L2 penalty on leaf values.
    class_weight : {"balanced", None} or dict, default "balanced"
        Passed to LightGBM: "balanced" weighs each class inversely to its frequency so
        that a rare class (churners in a loyal base, or buyers in a lapsed one) shapes the
        trees. The calibration map, fitted on unweighted held-out rows, undoes the shift
        in probabilities that the re-weighting causes.
    validation_fraction : float, default 0.25
        Share of rows held out for early stopping and calibration.
    early_stopping_rounds : int, default 50
        Boosting stops when the log loss on the early-stopping rows has not improved for
        this many rounds; the best round is kept.
    calibration : {"sigmoid", "isotonic", "none"}, default "sigmoid"
        Platt scaling keeps the ranking (and so the AUC) of the booster; isotonic is
        more flexible but creates ties.
    random_state : int, default 0
        Seed of the hold-out split and of LightGBM's row and feature sampling.

    Attributes
    ----------
    booster_ : lightgbm.Booster
    feature_names_in_ : ndarray of str
        Columns of ``X`` at fit, in order; prediction selects them from its input.
    n_features_in_ : int
        Number of those columns.
    best_iteration_ : int
    feature_importances_ : pandas.Series
        Total gain per feature, sorted descending.
    calibration_ : dict
        The fitted calibration map (JSON-serialisable).
    classes_ : ndarray, ``[0, 1]``; 1 means churned.
    """

    def __init__(
        self,
        *,
        n_estimators: int = 1000,
        learning_rate: float = 0.05,
        num_leaves: int = 7,
        min_child_samples: int = 100,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        reg_lambda: float = 1.0,
        class_weight="balanced",
        validation_fraction: float = 0.25,
        early_stopping_rounds: int = 50,
        calibration: str = "sigmoid",
        random_state: int = 0,
    ):
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.class_weight = class_weight
        self.validation_fraction = validation_fraction
        self.early_stopping_rounds = early_stopping_rounds
        self.calibration = calibration
        self.random_state = random_state

    # -- fitting -------------------------------------------------------------------------
    def fit(self, X: pd.DataFrame, y, *, groups=None) -> ChurnClassifier:
        """Fit the booster with early stopping, then the calibration map.

        Parameters
        ----------
        X : pandas.DataFrame
            Numeric feature matrix (NaN allowed: LightGBM routes missing values).
        y : array-like of {0, 1}
            1 = churned; booleans, integers or floats 0.0/1.0. Any other value (0.5, 2,
            NaN, text) is refused, never truncated.
        groups : array-like, optional
            Sortable group per row (for example the cut-off date). When given, the hold-out
            for early stopping and calibration is drawn from the latest group (time-based
            split, see :func:`holdout_split`).

        Returns
        -------
        ChurnClassifier
            The fitted estimator.

        Raises
        ------
        DataValidationError
            ``X`` is not a numeric DataFrame, ``y`` has another length or labels other
            than 0 and 1, or a single class.
        """
        import lightgbm as lgb

        if self.calibration not in _CALIBRATIONS:
            raise ValueError(
                f"calibration must be one of {_CALIBRATIONS}, got {self.calibration!r}"
            )
        X = check_feature_frame(X)
        y = check_binary_labels(y, len(X))
        if len(np.unique(y)) < 2:
            raise DataValidationError(
                f"y has a single class ({int(y[0])} for all {len(y):,} rows): a churn model "
                "needs both churned and retained customers; widen the holdout or the data range"
            )
        fit_idx, es_idx, cal_idx = self._split(y, groups)
        self.classes_ = np.array([0, 1])
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        model = lgb.LGBMClassifier(
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            min_child_samples=self.min_child_samples,
            subsample=self.subsample,
            subsample_freq=1 if self.subsample < 1 else 0,
            colsample_bytree=self.colsample_bytree,
            reg_lambda=self.reg_lambda,
            class_weight=self.class_weight,
            random_state=self.random_state,
            deterministic=True,
            force_row_wise=True,
            n_jobs=1,
            verbose=-1,
        )
        model.fit(
            X.iloc[fit_idx],
            y[fit_idx],
            eval_X=(X.iloc[es_idx],),
            eval_y=(y[es_idx],),
            eval_metric="binary_logloss",
            callbacks=[lgb.early_stopping(self.early_stopping_rounds, verbose=False)],
        )
        self.booster_ = model.booster_
        self.best_iteration_ = int(model.best_iteration_ or model.n_estimators)
        raw = self._raw_proba(X.iloc[cal_idx])
        self.calibration_ = _fit_calibration(self.calibration, raw, y[cal_idx])
        gain = self.booster_.feature_importance(
            importance_type="gain", iteration=self.best_iteration_
        )
        self.feature_importances_ = pd.Series(gain, index=X.columns, name="gain").sort_values(
            ascending=False
        )
        logger.info("churn model: %d rounds, %d features", self.best_iteration_, X.shape[1])
        return self

    def _split(self, y, groups):
        fit_idx, hold = holdout_split(
            len(y), self.validation_fraction, groups=groups, y=y, random_state=self.random_state
        )
        half = len(hold) // 2
        return fit_idx, np.sort(hold[:half]), np.sort(hold[half:])

    # -- prediction ----------------------------------------------------------------------
    def _check_fitted(self):
        if not hasattr(self, "booster_"):
            raise NotFittedError(
                "This ChurnClassifier is not fitted yet; call fit(X, y) or ChurnClassifier.load()"
            )

    def _raw_proba(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.booster_.predict(X, num_iteration=self.best_iteration_))

    def _align(self, X) -> pd.DataFrame:
        return training_columns(check_feature_frame(X), self.feature_names_in_, "churn model")

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated class probabilities.

        Parameters
        ----------
        X : pandas.DataFrame
            Must contain the training columns (extra columns are ignored).

        Returns
        -------
        ndarray of shape (n_samples, 2)
            Column 1 is the probability of churn.
        """
        self._check_fitted()
        p = _apply_calibration(self.calibration_, self._raw_proba(self._align(X)))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Churn label (1) where the calibrated probability is at least 0.5.

        Parameters
        ----------
        X : pandas.DataFrame
            Must contain the training columns (extra columns are ignored).

        Returns
        -------
        ndarray of int, shape (n_samples,)
            1 = predicted to churn, 0 = predicted to stay.
        """
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def shap_values(self, X: pd.DataFrame) -> pd.DataFrame:
        """Per-row SHAP contributions on the raw (log-odds) scale.

        Uses LightGBM's exact TreeSHAP (``pred_contrib=True``). The last column,
        ``expected_value``, is the bias term; each row sums to the booster's raw score.

        Parameters
        ----------
        X : pandas.DataFrame
            Rows to explain; must contain the training columns (extra columns are
            ignored).

        Returns
        -------
        pandas.DataFrame
            One column per feature plus ``expected_value``, same index as ``X``.
        """
        self._check_fitted()
        Xa = self._align(X)
        contrib = self.booster_.predict(Xa, num_iteration=self.best_iteration_, pred_contrib=True)
        return pd.DataFrame(contrib, index=Xa.index, columns=[*Xa.columns, "expected_value"])

    def save_explanations(
        self, X: pd.DataFrame, directory: str | Path, *, max_rows: int | None = 10_000
    ) -> dict[str, Path]:
        """Write gain importances and SHAP values of ``X`` as CSV files.

        Parameters
        ----------
        X : pandas.DataFrame
            Rows to explain (for example the customers scored at the cut-off).
        directory : str or Path
            Created if needed.
        max_rows : int or None, default 10,000
            SHAP values of at most this many rows (the first ones) keep the file small;
            None writes every row.

        Returns
        -------
        dict
            ``{"importance": path, "shap": path, "shap_summary": path}``: gain per
            feature; per-row SHAP values; mean absolute SHAP per feature, sorted.
        """
        self._check_fitted()
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        rows = X if max_rows is None else X.iloc[: int(max_rows)]
        shap = self.shap_values(rows)
        summary = (
            shap.drop(columns="expected_value")
            .abs()
            .mean()
            .sort_values(ascending=False)
            .rename("mean_abs_shap")
        )
        paths = {
            "importance": d / "feature_importance_gain.csv",
            "shap": d / "shap_values.csv",
            "shap_summary": d / "shap_summary.csv",
        }
        _atomic_csv(
            self.feature_importances_.rename_axis("feature").to_frame(), paths["importance"]
        )
        _atomic_csv(shap, paths["shap"])
        _atomic_csv(summary.rename_axis("feature").to_frame(), paths["shap_summary"])
        return paths

    # -- persistence (no pickle) ---------------------------------------------------------
    def save(self, directory: str | Path) -> None:
        """Write ``churn_lgbm.txt`` (LightGBM text model) and ``churn.json`` into ``directory``.

        Parameters
        ----------
        directory : str or Path
            Created if needed; existing files of the same names are overwritten.

        Raises
        ------
        NotFittedError
            The classifier is not fitted.
        """
        self._check_fitted()
        meta = {
            "params": self.get_params(),
            "feature_names": [str(c) for c in self.feature_names_in_],
            "best_iteration": self.best_iteration_,
            "calibration": self.calibration_,
            "feature_importances": {str(k): float(v) for k, v in self.feature_importances_.items()},
        }
        save_booster(
            directory, self.booster_, self.best_iteration_, "churn_lgbm.txt", "churn.json", meta
        )

    @classmethod
    def load(cls, directory: str | Path) -> ChurnClassifier:
        """Read a classifier written by :meth:`save`.

        Parameters
        ----------
        directory : str or Path
            Directory holding ``churn_lgbm.txt`` and ``churn.json``.

        Returns
        -------
        ChurnClassifier
            A fitted classifier with the saved hyperparameters, booster (at its best
            iteration), feature names, calibration map and gain importances.

        Raises
        ------
        ModelLoadError
            A file is missing or unreadable.
        """
        booster, meta = load_booster(directory, "churn_lgbm.txt", "churn.json", "churn model")
        est = cls(**meta["params"])
        est.booster_ = booster
        est.best_iteration_ = booster.current_iteration()
        est.feature_names_in_ = np.asarray(meta["feature_names"], dtype=object)
        est.n_features_in_ = len(est.feature_names_in_)
        est.calibration_ = meta["calibration"]
        est.classes_ = np.array([0, 1])
        est.feature_importances_ = pd.Series(meta["feature_importances"], name="gain")
        return est


def _atomic_csv(df: pd.DataFrame, path: Path) -> None:
    write_atomic(path, df.to_csv())


def _fit_calibration(kind: str, raw: np.ndarray, y: np.ndarray) -> dict:
    if kind == "none" or len(np.unique(y)) < 2:
        return {"kind": "none"}
    if kind == "isotonic":
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, y)
        return {
            "kind": "isotonic",
            "x": iso.X_thresholds_.tolist(),
            "y": iso.y_thresholds_.tolist(),
        }
    # Platt scaling on the log-odds of the booster.
    logit = np.log(np.clip(raw, 1e-12, 1 - 1e-12) / np.clip(1 - raw, 1e-12, 1)).reshape(-1, 1)
    lr = LogisticRegression(C=1e6).fit(logit, y)
    return {"kind": "sigmoid", "a": float(lr.coef_[0, 0]), "b": float(lr.intercept_[0])}


def _apply_calibration(cal: dict, raw: np.ndarray) -> np.ndarray:
    kind = cal["kind"]
    if kind == "none":
        return raw
    if kind == "isotonic":
        return np.interp(raw, cal["x"], cal["y"])
    logit = np.log(np.clip(raw, 1e-12, 1 - 1e-12) / np.clip(1 - raw, 1e-12, 1))
    return 1.0 / (1.0 + np.exp(-(cal["a"] * logit + cal["b"])))
