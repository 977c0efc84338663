"""BTYD models: BG/NBD, MBG/NBD, Pareto/NBD, BG/BB (purchases, P(alive)) and Gamma-Gamma
(spend).

Each model is a thin scikit-learn-style shell over vectorised NumPy/SciPy log-likelihoods
with analytic gradients (Pareto/NBD: central differences, its 2F1 has no closed-form
parameter derivatives), fitted by L-BFGS-B on log-parameters.
"""

from cxml.models._bgbb import BetaGeoBetaBinomModel
from cxml.models._bgnbd import BetaGeoModel
from cxml.models._churn import ChurnClassifier
from cxml.models._gammagamma import GammaGammaModel
from cxml.models._mbgnbd import ModifiedBetaGeoModel
from cxml.models._paretonbd import ParetoNBDModel
from cxml.models._value import ValueModel

__all__ = [
    "BetaGeoBetaBinomModel",
    "BetaGeoModel",
    "ChurnClassifier",
    "GammaGammaModel",
    "ModifiedBetaGeoModel",
    "ParetoNBDModel",
    "ValueModel",
]
