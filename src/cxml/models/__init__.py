"""BTYD models: BG/NBD, MBG/NBD, Pareto/NBD, BG/BB (purchases, P(alive)) and Gamma-Gamma
(spend); LightGBM models of churn (ChurnClassifier) and of spend over a horizon
(ValueModel).

Each BTYD model is a scikit-learn estimator (``BaseEstimator``: ``get_params``,
``set_params``, ``clone``; the ``repr`` shows the hyper-parameter ``penalizer``) over
vectorised NumPy/SciPy log-likelihoods with exact gradients (Pareto/NBD: the
"died unseen" integral and its parameter derivatives by one Gauss-Legendre rule), fitted
by L-BFGS-B on log-parameters. Fitted values end in ``_`` (``params_``,
``log_likelihood_``, ...); ``summary()`` tabulates them with standard errors and
intervals.

The functions :func:`check_rfm` (validation of frequency, recency and ``T``),
:func:`gamma_gamma_expected_value`, :func:`log_gradient` and :func:`z_quantile` (delta-method
intervals) are public for :mod:`cxml.clv`, which builds CLV from these models.
"""

from cxml.models._base import log_gradient, z_quantile
from cxml.models._bgbb import BetaGeoBetaBinomModel
from cxml.models._bgnbd import BetaGeoModel
from cxml.models._churn import ChurnClassifier
from cxml.models._gammagamma import GammaGammaModel, gamma_gamma_expected_value
from cxml.models._mbgnbd import ModifiedBetaGeoModel
from cxml.models._paretonbd import ParetoNBDModel
from cxml.models._validation import check_rfm
from cxml.models._value import ValueModel

__all__ = [
    "BetaGeoBetaBinomModel",
    "BetaGeoModel",
    "ChurnClassifier",
    "GammaGammaModel",
    "ModifiedBetaGeoModel",
    "ParetoNBDModel",
    "ValueModel",
    "check_rfm",
    "gamma_gamma_expected_value",
    "log_gradient",
    "z_quantile",
]
