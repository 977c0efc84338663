"""Reports for the people who act on segments: one self-contained HTML page per scoring.

:func:`build_report` turns a scores table (``cxml score``) and its model into a page with
the headline numbers, the segment table, CLV and churn distributions, the value x risk
heat map, the top churn drivers and the model's holdout quality; with earlier scores it
adds segment migration, population stability and a backtest, with events NPS/CSAT/CES.
Charts are matplotlib SVG inlined in the page: it loads nothing from the network.
"""

from cxml.reporting._content import SHAP_SAMPLE
from cxml.reporting._drift import backtest, migration_matrix, population_stability_index
from cxml.reporting._inputs import REQUIRED_COLUMNS, check_scores
from cxml.reporting._render import build_report, write_report

__all__ = [
    "REQUIRED_COLUMNS",
    "SHAP_SAMPLE",
    "backtest",
    "build_report",
    "check_scores",
    "migration_matrix",
    "population_stability_index",
    "write_report",
]
