"""Campaign targeting: who to contact, with which arm, for the most incremental value.

Uplift models (:class:`UpliftClassifier` for a 0/1 response, :class:`UpliftRegressor` for
spend) estimate from a randomised campaign how much each arm changes each customer's
outcome against control.

Feature encoding, frozen at fit: numeric and boolean columns are used as numbers;
string, object and categorical columns become LightGBM categorical features over the
values seen at fit (a value unseen at fit is scored as missing); any other dtype is
refused with the column's name.
"""

from cxml.targeting._encoding import FrozenEncoding
from cxml.targeting._learners import UpliftClassifier, UpliftRegressor

__all__ = [
    "FrozenEncoding",
    "UpliftClassifier",
    "UpliftRegressor",
]
