"""Campaign targeting: who to contact, with which arm, for the most incremental value.

Uplift models (:class:`UpliftClassifier` for a 0/1 response, :class:`UpliftRegressor` for
spend) estimate from a randomised campaign how much each arm changes each customer's
outcome against control. Holdout metrics (uplift@k, Qini, AUUC, deciles, the multi-arm
policy) and their plots evaluate them; :func:`policy_value` estimates what a targeting
policy is worth; :func:`select_targets` turns uplift x customer value - contact cost into
a target list under a budget; :func:`split_campaign` holds customers out, stratified by
arm x outcome; :func:`train_uplift` trains, evaluates, saves and tracks a
model from a campaign table (``cxml uplift train -c CONFIG``).

Feature encoding, frozen at fit: numeric and boolean columns are used as numbers;
string, object and categorical columns become LightGBM categorical features over the
values seen at fit (a value unseen at fit is scored as missing); any other dtype is
refused with the column's name.
"""

from cxml.targeting._config import CustomerFeatures, UpliftConfig, load_uplift_config
from cxml.targeting._decision import TARGET_COLUMNS, select_targets
from cxml.targeting._encoding import FrozenEncoding
from cxml.targeting._learners import UpliftClassifier, UpliftRegressor, load_uplift_model
from cxml.targeting._metrics import (
    auuc,
    policy_arm,
    qini_coefficient,
    qini_curve,
    uplift_at_k,
    uplift_by_decile,
    uplift_curve,
    uplift_table,
)
from cxml.targeting._plots import plot_qini, plot_uplift_by_decile
from cxml.targeting._policy import policy_value, policy_value_ci
from cxml.targeting._split import split_campaign
from cxml.targeting._train import UpliftTrainResult, campaign_frame, train_uplift

__all__ = [
    "TARGET_COLUMNS",
    "CustomerFeatures",
    "FrozenEncoding",
    "UpliftClassifier",
    "UpliftConfig",
    "UpliftRegressor",
    "UpliftTrainResult",
    "auuc",
    "campaign_frame",
    "load_uplift_config",
    "load_uplift_model",
    "plot_qini",
    "plot_uplift_by_decile",
    "policy_arm",
    "policy_value",
    "policy_value_ci",
    "qini_coefficient",
    "qini_curve",
    "select_targets",
    "split_campaign",
    "train_uplift",
    "uplift_at_k",
    "uplift_by_decile",
    "uplift_curve",
    "uplift_table",
]
