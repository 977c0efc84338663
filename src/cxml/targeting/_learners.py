"""Meta-learners on LightGBM: how much a campaign arm changes each customer's outcome.

Two meta-learners, chosen by ``learner=``:

- ``"t"`` (the T-learner of Kunzel et al. 2019, below; "two models"): one outcome
  model per arm, :math:`\\hat\\mu_k(x) = E[Y | X = x, W = k]`, and the uplift of arm ``k``
  is :math:`\\hat\\tau_k(x) = \\hat\\mu_k(x) - \\hat\\mu_c(x)`.
- ``"x"`` (Kunzel, Sekhon, Bickel & Yu 2019, "Metalearners for estimating heterogeneous
  treatment effects using machine learning", PNAS 116(10), the X-learner's three stages):
  after the outcome models, the imputed effects :math:`D^1_i = Y_i - \\hat\\mu_c(X_i)` on
  arm ``k`` and :math:`D^0_i = \\hat\\mu_k(X_i) - Y_i` on control are regressed on X,
  giving :math:`\\hat\\tau_1, \\hat\\tau_0`, and
  :math:`\\hat\\tau(x) = g\\,\\hat\\tau_0(x) + (1 - g)\\,\\hat\\tau_1(x)`.
  Campaign data are randomised, so the propensity ``g`` of arm ``k`` against control is
  the known constant :math:`n_k / (n_k + n_c)`, not a fitted model.

With several arms, every arm is compared with the control arm on the rows of those two
arms only. Models persist as JSON plus LightGBM's native text format (no pickle).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from cxml._atomic import write_atomic
from cxml.exceptions import DataValidationError, ModelLoadError, NotFittedError
from cxml.targeting._encoding import FrozenEncoding
from cxml.targeting._validation import check_features, check_outcome, check_treatment

__all__ = ["UpliftClassifier", "UpliftRegressor", "load_uplift_model"]

logger = logging.getLogger(__name__)

_LEARNERS = ("t", "x")
_FORMAT = "cxml-uplift"
_META_FILE = "uplift.json"


class _UpliftModel(BaseEstimator):
    """Shared fit / predict / save logic; subclasses fix the outcome type."""

    _binary: bool = True

    def __init__(
        self,
        *,
        control,
        learner: str = "t",
        n_estimators: int = 200,
        learning_rate: float = 0.05,
        num_leaves: int = 15,
        min_child_samples: int = 100,
        reg_lambda: float = 1.0,
        min_rows_per_arm: int = 50,
        n_jobs: int = 1,
        random_state=None,
    ):
        self.control = control
        self.learner = learner
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.reg_lambda = reg_lambda
        self.min_rows_per_arm = min_rows_per_arm
        self.n_jobs = n_jobs
        self.random_state = random_state

    # -- fitting ---------------------------------------------------------------------------
    def fit(self, X: pd.DataFrame, treatment, y):
        """Fit one outcome model per arm (and, for the X-learner, two effect models per arm).

        Parameters
        ----------
        X : pandas.DataFrame
            Features, one row per customer: numeric, boolean, string or categorical columns
            (encoding frozen at fit, see :mod:`cxml.targeting`).
        treatment : array-like
            The arm each customer was randomised to; ``control`` names the control arm.
            Two or more arms, each with at least ``min_rows_per_arm`` rows.
        y : array-like
            Outcome per customer: 0/1 for :class:`UpliftClassifier`, any finite number
            (e.g. spend) for :class:`UpliftRegressor`.

        Returns
        -------
        self
            The fitted estimator.

        Raises
        ------
        cxml.exceptions.DataValidationError
            One arm only, ``control`` absent, missing labels, lengths that differ, too few
            rows in an arm, or an outcome that is missing (or not 0/1 for the classifier).
        """
        if self.learner not in _LEARNERS:
            raise DataValidationError(
                f"learner={self.learner!r} is not one of {list(_LEARNERS)}: use 't' or 'x'"
            )
        X = check_features(X)
        t = check_treatment(treatment, len(X), self.control, int(self.min_rows_per_arm))
        yv = check_outcome(y, len(X), binary=self._binary)
        encoding = FrozenEncoding.fit(X)
        Z = encoding.transform(X)
        labels = sorted(set(t.tolist()), key=str)
        arms = [a for a in labels if a != self.control]
        masks = {a: t == a for a in labels}
        objective = "binary" if self._binary else "regression"

        outcome_models = {
            a: self._train(Z[masks[a]], yv[masks[a]], objective, encoding)
            for a in [self.control, *arms]
        }
        effect_models: dict = {}
        propensity: dict = {}
        if self.learner == "x":
            mu_c = outcome_models[self.control]
            c = masks[self.control]
            for a in arms:
                k = masks[a]
                d1 = yv[k] - mu_c.predict(Z[k])
                d0 = outcome_models[a].predict(Z[c]) - yv[c]
                effect_models[a] = (
                    self._train(Z[k], d1, "regression", encoding),
                    self._train(Z[c], d0, "regression", encoding),
                )
                propensity[a] = float(k.sum() / (k.sum() + c.sum()))

        self.encoding_ = encoding
        self.feature_names_in_ = np.asarray(encoding.columns, dtype=object)
        self.n_features_in_ = len(encoding.columns)
        self.arms_ = arms
        self.n_rows_per_arm_ = {a: int(masks[a].sum()) for a in labels}
        self.outcome_models_ = outcome_models
        self.effect_models_ = effect_models
        self.propensity_ = propensity
        logger.info(
            "uplift %s-learner fitted: %d rows, arms %s against control %r",
            self.learner,
            len(X),
            arms,
            self.control,
        )
        return self

    def _lgb_params(self, objective: str) -> dict:
        params = {
            "objective": objective,
            "learning_rate": float(self.learning_rate),
            "num_leaves": int(self.num_leaves),
            "min_data_in_leaf": int(self.min_child_samples),
            "lambda_l2": float(self.reg_lambda),
            "num_threads": int(self.n_jobs),
            "deterministic": True,
            "force_col_wise": True,
            "verbose": -1,
        }
        if self.random_state is not None:
            params["seed"] = int(self.random_state)
        return params

    def _train(
        self, Z: np.ndarray, y: np.ndarray, objective: str, encoding: FrozenEncoding
    ) -> lgb.Booster:
        data = lgb.Dataset(
            Z,
            label=y,
            categorical_feature=encoding.categorical_indices,
            feature_name=[f"f{i}" for i in range(Z.shape[1])],
            params={"verbose": -1},
            free_raw_data=True,
        )
        return lgb.train(self._lgb_params(objective), data, num_boost_round=int(self.n_estimators))

    # -- prediction ------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "outcome_models_"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet: call fit(X, treatment, y) "
                "or load a saved model first"
            )

    def _encode(self, X) -> np.ndarray:
        return self.encoding_.transform(check_features(X))

    def predict_uplift(self, X: pd.DataFrame) -> pd.DataFrame:
        """Estimated effect of each arm against control, per customer.

        Parameters
        ----------
        X : pandas.DataFrame
            Features with (at least) the columns seen at fit.

        Returns
        -------
        pandas.DataFrame
            Indexed like ``X``, one column per non-control arm (``arms_``): the change in
            P(y = 1) for :class:`UpliftClassifier`, in the expected outcome (e.g. spend)
            for :class:`UpliftRegressor`, when the customer gets that arm instead of
            control.
        """
        self._check_fitted()
        Z = self._encode(X)
        out = {}
        if self.learner == "x":
            for a in self.arms_:
                tau1, tau0 = self.effect_models_[a]
                g = self.propensity_[a]
                out[a] = g * tau0.predict(Z) + (1.0 - g) * tau1.predict(Z)
        else:
            base = np.asarray(self.outcome_models_[self.control].predict(Z))
            for a in self.arms_:
                out[a] = np.asarray(self.outcome_models_[a].predict(Z)) - base
        return pd.DataFrame(out, index=X.index, columns=self.arms_)

    def predict_response(self, X: pd.DataFrame) -> pd.DataFrame:
        """Expected outcome under each arm, control included (the stage-one outcome models).

        Parameters
        ----------
        X : pandas.DataFrame
            Features with (at least) the columns seen at fit.

        Returns
        -------
        pandas.DataFrame
            Indexed like ``X``, one column per arm, control first: P(y = 1 | arm) for the
            classifier, E[y | arm] for the regressor.
        """
        self._check_fitted()
        Z = self._encode(X)
        arms = [self.control, *self.arms_]
        return pd.DataFrame(
            {a: self.outcome_models_[a].predict(Z) for a in arms}, index=X.index, columns=arms
        )

    # -- persistence -----------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """Write ``uplift.json`` and one LightGBM text model per booster into ``directory``.

        Parameters
        ----------
        directory : str or Path
            Created if absent; files of an earlier save are overwritten.

        Returns
        -------
        Path
            The directory.
        """
        self._check_fitted()
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        labels = [self.control, *self.arms_]
        files: dict[str, dict] = {}
        for i, a in enumerate(labels):
            name = f"outcome_{i}.txt"
            write_atomic(d / name, self.outcome_models_[a].model_to_string())
            entry = {"outcome": name}
            if a in self.effect_models_:
                entry["effect_treated"] = f"effect1_{i}.txt"
                entry["effect_control"] = f"effect0_{i}.txt"
                tau1, tau0 = self.effect_models_[a]
                write_atomic(d / entry["effect_treated"], tau1.model_to_string())
                write_atomic(d / entry["effect_control"], tau0.model_to_string())
            files[str(i)] = entry
        meta = {
            "format": _FORMAT,
            "format_version": 1,
            "estimator": type(self).__name__,
            "params": {k: _json_label(v) for k, v in self.get_params().items()},
            "labels": [_json_label(a) for a in labels],
            "models": files,
            "propensity": {
                str(i): self.propensity_[a] for i, a in enumerate(labels) if a in self.propensity_
            },
            "n_rows_per_arm": {str(i): self.n_rows_per_arm_[a] for i, a in enumerate(labels)},
            "encoding": self.encoding_.to_dict(),
        }
        write_atomic(d / _META_FILE, json.dumps(meta, indent=2))
        return d

    @classmethod
    def load(cls, directory: str | Path):
        """Read a model written by :meth:`save`.

        Parameters
        ----------
        directory : str or Path
            Directory holding ``uplift.json`` and the LightGBM text models.

        Returns
        -------
        UpliftClassifier or UpliftRegressor
            A fitted estimator of the saved class.

        Raises
        ------
        cxml.exceptions.ModelLoadError
            The directory, a file, or the format is missing or unreadable.
        """
        d = Path(directory)
        try:
            meta = json.loads((d / _META_FILE).read_text())
        except (OSError, ValueError) as exc:
            raise ModelLoadError(
                f"uplift model {d}: cannot read {_META_FILE} ({exc}); "
                "pass the directory written by save()"
            ) from exc
        if meta.get("format") != _FORMAT:
            raise ModelLoadError(f"uplift model {d}: {_META_FILE} is not a cxml uplift model")
        klass = {"UpliftClassifier": UpliftClassifier, "UpliftRegressor": UpliftRegressor}.get(
            meta.get("estimator")
        )
        if klass is None or (cls is not _UpliftModel and not issubclass(klass, cls)):
            raise ModelLoadError(
                f"uplift model {d}: holds a {meta.get('estimator')}, not a {cls.__name__}"
            )
        est = klass(**meta["params"])
        labels = meta["labels"]
        try:
            outcome, effect = {}, {}
            for i, a in enumerate(labels):
                entry = meta["models"][str(i)]
                outcome[a] = lgb.Booster(model_file=str(d / entry["outcome"]))
                if "effect_treated" in entry:
                    effect[a] = (
                        lgb.Booster(model_file=str(d / entry["effect_treated"])),
                        lgb.Booster(model_file=str(d / entry["effect_control"])),
                    )
        except Exception as exc:  # LightGBM raises its own error types on bad files
            raise ModelLoadError(f"uplift model {d}: cannot read a LightGBM model ({exc})") from exc
        est.encoding_ = FrozenEncoding.from_dict(meta["encoding"])
        est.feature_names_in_ = np.asarray(est.encoding_.columns, dtype=object)
        est.n_features_in_ = len(est.encoding_.columns)
        est.arms_ = labels[1:]
        est.n_rows_per_arm_ = {a: meta["n_rows_per_arm"][str(i)] for i, a in enumerate(labels)}
        est.outcome_models_ = outcome
        est.effect_models_ = effect
        est.propensity_ = {labels[int(i)]: g for i, g in meta["propensity"].items()}
        return est


def load_uplift_model(directory: str | Path):
    """Read a model written by ``UpliftClassifier.save`` or ``UpliftRegressor.save``.

    Parameters
    ----------
    directory : str or Path
        Directory holding ``uplift.json`` and the LightGBM text models.

    Returns
    -------
    UpliftClassifier or UpliftRegressor
        The fitted estimator, of the class that was saved.

    Raises
    ------
    cxml.exceptions.ModelLoadError
        The directory, a file, or the format is missing or unreadable.
    """
    return _UpliftModel.load(directory)


def _json_label(v):
    """Plain Python value for JSON (NumPy scalars become int / float / str / bool)."""
    return v.item() if isinstance(v, np.generic) else v


_PARAMS_DOC = """
    Parameters
    ----------
    control : str or int
        Label of the control arm (the customers who got no campaign) in ``treatment``.
    learner : {"t", "x"}, default "t"
        Meta-learner: ``"t"`` fits one outcome model per arm and subtracts; ``"x"`` is
        Kunzel et al.'s (2019) X-learner, better when an arm has few rows or the effect is
        simpler than the outcome.
    n_estimators : int, default 200
        Boosting rounds of every LightGBM model.
    learning_rate : float, default 0.05
        LightGBM shrinkage.
    num_leaves : int, default 15
        Leaves per tree.
    min_child_samples : int, default 100
        Minimum rows per leaf; uplift is a small difference of noisy outcomes, so leaves
        are kept large.
    reg_lambda : float, default 1.0
        L2 penalty on leaf values.
    min_rows_per_arm : int, default 50
        Fewer rows than this in any arm is refused at fit.
    n_jobs : int, default 1
        LightGBM threads.
    random_state : int or None, default None
        Seed of LightGBM's bagging and feature sampling (fits are deterministic either way).

    Attributes
    ----------
    arms_ : list
        The non-control arms, in the order of ``predict_uplift``'s columns.
    n_rows_per_arm_ : dict
        Training rows per arm, control included.
    outcome_models_ : dict of label to lightgbm.Booster
        Stage-one outcome model of each arm, control included.
    effect_models_ : dict of label to (lightgbm.Booster, lightgbm.Booster)
        X-learner only: the effect models fitted on the arm's and on control's rows.
    propensity_ : dict of label to float
        X-learner only: the share of the arm among the rows of the arm and control.
    encoding_ : FrozenEncoding
        Feature columns and category lists frozen at fit.
    feature_names_in_ : numpy.ndarray
        Feature names seen at fit.
    n_features_in_ : int
        Number of features seen at fit.
"""


class UpliftClassifier(_UpliftModel):
    _binary = True
    __doc__ = (
        """Uplift model for a 0/1 outcome (visit, conversion, retention).

    ``predict_uplift`` gives, per customer and non-control arm, the estimated change in
    P(y = 1) if the customer gets that arm instead of control.
"""
        + _PARAMS_DOC
        + """
    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"age": rng.normal(size=400),
    ...                   "channel": rng.choice(["web", "phone"], 400)})
    >>> t = rng.choice(["none", "email"], 400)
    >>> y = rng.binomial(1, np.where(t == "email", 0.3, 0.2))
    >>> model = UpliftClassifier(control="none", n_estimators=20, random_state=0).fit(X, t, y)
    >>> model.predict_uplift(X).columns.tolist()
    ['email']
"""
    )


class UpliftRegressor(_UpliftModel):
    _binary = False
    __doc__ = (
        """Uplift model for a continuous outcome, such as spend: incremental spend per arm.

    ``predict_uplift`` gives, per customer and non-control arm, the estimated change in
    the expected outcome if the customer gets that arm instead of control.
"""
        + _PARAMS_DOC
    )
