"""Customer-experience KPIs: NPS, CSAT, CES, churn, retention and repeat purchase rates.

Survey scores follow the industry definitions (NPS on -100..100, CSAT in percent, CES as a
mean); customer-base rates are fractions in [0, 1]. :func:`metric_by` computes any of
them per segment, per cohort (first-purchase month) or per calendar month, and
:func:`customer_flows` gives the monthly start / end / new / retained / lost counts.
:func:`count_of` is the wording of row counts in error messages (shared with
:mod:`cxml.segments`).
"""

from cxml.metrics._grouped import customer_flows, metric_by
from cxml.metrics._rates import churn_rate, repeat_purchase_rate, retention_rate
from cxml.metrics._survey import ces, csat, nps
from cxml.metrics._validation import count_of

__all__ = [
    "ces",
    "churn_rate",
    "count_of",
    "csat",
    "customer_flows",
    "metric_by",
    "nps",
    "repeat_purchase_rate",
    "retention_rate",
]
