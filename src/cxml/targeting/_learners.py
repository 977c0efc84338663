"""Meta-learners on LightGBM: how much a campaign arm changes each customer's outcome.

Three meta-learners, chosen by ``learner=``:

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
- ``"dr"`` (the DR-learner of Kennedy 2023, "Towards optimal doubly robust estimation of
  heterogeneous causal effects", Electronic Journal of Statistics 17(2), its Algorithm 1;
  the pseudo-outcome is the AIPW score of Robins, Rotnitzky & Zhao 1994): with
  cross-fitted outcome models :math:`\\hat\\mu_k, \\hat\\mu_c` and propensity
  :math:`\\hat e(x) = P(W = k | X = x, W \\in \\{k, c\\})`, the pseudo-outcome

  .. math:: \\hat\\varphi_i = \\hat\\mu_k(X_i) - \\hat\\mu_c(X_i)
     + \\frac{T_i (Y_i - \\hat\\mu_k(X_i))}{\\hat e(X_i)}
     - \\frac{(1 - T_i)(Y_i - \\hat\\mu_c(X_i))}{1 - \\hat e(X_i)},
     \\quad T_i = 1\\{W_i = k\\}

  is regressed on X over the rows of arm ``k`` and control, one regression per non-control
  arm; its mean is the AIPW estimate of the average effect. Cross-fitting (Kennedy 2023,
  section 3; ``n_folds`` folds stratified by arm, seeded): the nuisance models that give
  :math:`\\hat\\varphi_i` are fitted on the other folds, never on row ``i``. The propensity is
  a cross-fitted LightGBM classifier, or known: ``propensity="shares"`` (the observed
  :math:`n_k / (n_k + n_c)`) or a dict of each arm's assignment probability in the
  campaign's design; estimated values are clipped to [0.01, 0.99].

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
from sklearn.model_selection import StratifiedKFold

from cxml._atomic import write_atomic
from cxml.exceptions import DataValidationError, ModelLoadError, NotFittedError
from cxml.targeting._encoding import FrozenEncoding
from cxml.targeting._validation import check_features, check_outcome, check_treatment

__all__ = ["UpliftClassifier", "UpliftRegressor", "load_uplift_model"]

logger = logging.getLogger(__name__)

_LEARNERS = ("t", "x", "dr")
# Estimated propensities are clipped away from 0 and 1, so that one row cannot dominate
# the pseudo-outcome (Kennedy 2023 assumes e bounded away from 0 and 1).
_CLIP = 0.01
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
        propensity=None,
        n_folds: int = 2,
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
        self.propensity = propensity
        self.n_folds = n_folds
        self.n_jobs = n_jobs
        self.random_state = random_state

    # -- fitting ---------------------------------------------------------------------------
    def fit(self, X: pd.DataFrame, treatment, y):
        """Fit one outcome model per arm, and the effect models of the X- or DR-learner.

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
            rows in an arm, an outcome that is missing (or not 0/1 for the classifier), or
            a ``propensity`` / ``n_folds`` that does not fit the learner or the arms.
        """
        if self.learner not in _LEARNERS:
            raise DataValidationError(
                f"learner={self.learner!r} is not one of {list(_LEARNERS)}: use 't', 'x' or 'dr'"
            )
        if self.learner != "dr" and self.propensity is not None:
            raise DataValidationError(
                f"propensity= is used by the DR-learner only (learner={self.learner!r}): "
                "pass learner='dr' or leave propensity=None"
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
        # DR parameters are checked before anything is fitted.
        known = self._check_dr(t, labels, arms) if self.learner == "dr" else None

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
        elif self.learner == "dr":
            effect_models, propensity, ate = self._fit_dr(Z, t, yv, labels, arms, encoding, known)
            self.ate_ = ate
        elif hasattr(self, "ate_"):  # a DR fit before this one
            del self.ate_

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

    def _known_propensity(self, t: np.ndarray, labels: list, arms: list) -> dict | None:
        """Pairwise P(arm | arm or control) from ``propensity``; None when it is estimated."""
        spec = self.propensity
        if spec is None:
            return None
        n = {a: int((t == a).sum()) for a in labels}
        if isinstance(spec, str) and spec == "shares":
            return {a: n[a] / (n[a] + n[self.control]) for a in arms}
        if not isinstance(spec, dict):
            raise DataValidationError(
                f"propensity={spec!r} is not understood: pass None (estimated), 'shares' "
                "(the observed arm shares) or a dict of each arm's assignment probability"
            )
        missing = [a for a in labels if a not in spec]
        if missing:
            raise DataValidationError(
                f"propensity has no probability for arm(s) {missing}: give one for every "
                f"arm {labels}, control included"
            )
        bad = {a: spec[a] for a in labels if not (0 < _as_float(spec[a]) < 1)}
        if bad:
            raise DataValidationError(
                f"propensity must be strictly between 0 and 1 for every arm, got {bad}"
            )
        c = float(spec[self.control])
        return {a: float(spec[a]) / (float(spec[a]) + c) for a in arms}

    def _check_dr(self, t: np.ndarray, labels: list, arms: list) -> dict | None:
        """Check ``n_folds`` against the arms; return the known propensity (or None)."""
        k_folds = self.n_folds
        if isinstance(k_folds, bool) or not isinstance(k_folds, (int, np.integer)) or k_folds < 2:
            raise DataValidationError(
                f"n_folds={k_folds!r}: cross-fitting needs an integer number of folds >= 2"
            )
        smallest = min(labels, key=lambda a: int((t == a).sum()))
        if int((t == smallest).sum()) < 2 * k_folds:
            raise DataValidationError(
                f"arm {smallest!r} has {int((t == smallest).sum())} rows, fewer than "
                f"2 x n_folds = {2 * k_folds}: lower n_folds or collect more rows"
            )
        return self._known_propensity(t, labels, arms)

    def _fit_dr(self, Z, t, yv, labels, arms, encoding, known):
        """Cross-fitted AIPW pseudo-outcomes, one effect regression per non-control arm."""
        k_folds = int(self.n_folds)
        objective = "binary" if self._binary else "regression"
        seed = 0 if self.random_state is None else int(self.random_state)
        folds = StratifiedKFold(n_splits=int(k_folds), shuffle=True, random_state=seed)
        mu = {a: np.empty(len(t)) for a in labels}
        e = {a: np.empty(len(t)) for a in arms}
        codes = np.array([labels.index(v) for v in t])
        for train_idx, test_idx in folds.split(Z, codes):
            tr_t = t[train_idx]
            for a in labels:
                rows = train_idx[tr_t == a]
                mu[a][test_idx] = self._train(Z[rows], yv[rows], objective, encoding).predict(
                    Z[test_idx]
                )
            if known is None:
                for a in arms:
                    rows = train_idx[(tr_t == a) | (tr_t == self.control)]
                    label = (t[rows] == a).astype(float)
                    model = self._train(Z[rows], label, "binary", encoding)
                    e[a][test_idx] = np.clip(model.predict(Z[test_idx]), _CLIP, 1 - _CLIP)
        effect_models, propensity, ate = {}, {}, {}
        c = t == self.control
        for a in arms:
            rows = (t == a) | c
            treated = (t[rows] == a).astype(float)
            ea = np.full(int(rows.sum()), known[a]) if known is not None else e[a][rows]
            mk, mc, yr = mu[a][rows], mu[self.control][rows], yv[rows]
            phi = mk - mc + treated * (yr - mk) / ea - (1.0 - treated) * (yr - mc) / (1.0 - ea)
            effect_models[a] = (self._train(Z[rows], phi, "regression", encoding),)
            propensity[a] = float(np.mean(ea))
            # The mean pseudo-outcome is the AIPW average effect; its standard error is
            # the pseudo-outcomes' standard deviation over sqrt(n) (cross-fitted, so honest).
            ate[a] = (float(np.mean(phi)), float(np.std(phi, ddof=1) / np.sqrt(len(phi))))
            logger.info(
                "DR-learner arm %r: AIPW average effect %.5g (se %.2g, mean propensity %.3f)",
                a,
                ate[a][0],
                ate[a][1],
                propensity[a],
            )
        return effect_models, propensity, ate

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
        elif self.learner == "dr":
            for a in self.arms_:
                out[a] = np.asarray(self.effect_models_[a][0].predict(Z))
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
            if a in self.effect_models_ and self.learner == "dr":
                entry["effect"] = f"effect_{i}.txt"
                self.effect_models_[a][0].save_model(str(d / entry["effect"]))
            elif a in self.effect_models_:
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
            "params": {k: _json_param(v) for k, v in self.get_params().items()},
            "labels": [_json_label(a) for a in labels],
            "models": files,
            "propensity": {
                str(i): self.propensity_[a] for i, a in enumerate(labels) if a in self.propensity_
            },
            "n_rows_per_arm": {str(i): self.n_rows_per_arm_[a] for i, a in enumerate(labels)},
            "ate": {
                str(i): list(self.ate_[a])
                for i, a in enumerate(labels)
                if a in getattr(self, "ate_", {})
            },
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
        params = dict(meta["params"])
        if isinstance(params.get("propensity"), list):  # a dict saved as [label, p] pairs
            params["propensity"] = {a: p for a, p in params["propensity"]}
        est = klass(**params)
        labels = meta["labels"]
        try:
            outcome: dict = {}
            effect: dict[object, tuple[lgb.Booster, ...]] = {}
            for i, a in enumerate(labels):
                entry = meta["models"][str(i)]
                outcome[a] = lgb.Booster(model_file=str(d / entry["outcome"]))
                if "effect" in entry:
                    effect[a] = (lgb.Booster(model_file=str(d / entry["effect"])),)
                elif "effect_treated" in entry:
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
        if est.learner == "dr":
            est.ate_ = {labels[int(i)]: tuple(v) for i, v in meta.get("ate", {}).items()}
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


def _json_param(v):
    """A parameter for JSON; a dict (propensity) as [label, value] pairs, labels kept."""
    if isinstance(v, dict):
        return [[_json_label(k), _json_label(p)] for k, p in v.items()]
    return _json_label(v)


def _as_float(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


_PARAMS_DOC = """
    Parameters
    ----------
    control : str or int
        Label of the control arm (the customers who got no campaign) in ``treatment``.
    learner : {"t", "x", "dr"}, default "t"
        Meta-learner: ``"t"`` fits one outcome model per arm and subtracts; ``"x"`` is
        Kunzel et al.'s (2019) X-learner, better when an arm has few rows or the effect is
        simpler than the outcome; ``"dr"`` is Kennedy's (2023) DR-learner, a regression
        of cross-fitted AIPW pseudo-outcomes (doubly robust: consistent when either the
        outcome models or the propensity are right).
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
    propensity : None, "shares" or dict, default None
        DR-learner only: the probability of getting each arm. None estimates
        P(arm | arm or control, x) with a cross-fitted LightGBM classifier (clipped to
        [0.01, 0.99]); ``"shares"`` uses the observed share of each arm (a randomised
        campaign with a constant design); a dict gives every arm's assignment probability
        in the design, control included (e.g. ``{"none": 0.5, "email": 0.5}``).
    n_folds : int, default 2
        DR-learner only: cross-fitting folds (stratified by arm, seeded by
        ``random_state``, 0 when None); each row's pseudo-outcome comes from nuisance
        models fitted on the other folds.
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
    effect_models_ : dict of label to tuple of lightgbm.Booster
        X-learner: the effect models fitted on the arm's and on control's rows;
        DR-learner: the one regression of the pseudo-outcome. Empty for the T-learner.
    propensity_ : dict of label to float
        X-learner: the share of the arm among the rows of the arm and control;
        DR-learner: the mean propensity used in the pseudo-outcomes (the known value
        when ``propensity`` is given).
    ate_ : dict of label to (float, float)
        DR-learner only: the AIPW estimate of the arm's average effect against control
        on the training rows of the two arms (the mean cross-fitted pseudo-outcome) and
        its standard error.
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
