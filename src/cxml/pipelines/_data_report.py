"""The data report as users and MLflow see it: what the read and feature policies did.

The report itself is made by the feature builders (``attrs["report"]`` of
:func:`cxml.features.calibration_holdout`); this module only flattens it for MLflow metrics
and lists its lines for a printed table, so that the CLI and a tracked run show the same
numbers under the same names.
"""

from __future__ import annotations

__all__ = ["report_lines", "report_metrics"]

# (report key, label); nested "customers_excluded" is expanded below
_LINES = [
    ("n_rows", "rows read"),
    ("null_customer_id_rows_dropped", "rows without a customer id dropped (guests)"),
    ("duplicate_rows", "exact duplicate rows"),
    ("duplicate_rows_dropped", "exact duplicate rows dropped"),
    ("return_rows", "return rows (negative amount)"),
    ("return_rows_netted", "return rows netted against their day"),
    ("return_rows_dropped", "return rows dropped"),
    ("negative_value_days_dropped", "days with a negative net value dropped"),
    ("zero_value_days", "zero-value purchase days"),
    ("zero_value_days_dropped", "zero-value purchase days dropped"),
    ("purchase_days", "purchase days"),
    ("n_customers_input", "customers in the input"),
    ("n_customers", "customers modelled"),
    ("n_customers_scored", "customers scored"),
    ("insufficient_history", "customers scored from the prior (no usable purchase)"),
    ("latest_transaction", "latest transaction"),
    ("days_from_latest_transaction_to_as_of", "days from the latest transaction to as-of"),
]


def _value(v) -> str:
    return f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v)


def report_lines(report: dict) -> list[tuple[str, str]]:
    """Label / value pairs of a data report, for a printed table.

    Parameters
    ----------
    report : dict
        A data report (see the module docstring).

    Returns
    -------
    list of (str, str)
        Counts that apply (a policy that did nothing shows 0 only for the rows it
        concerns), the excluded customers by reason, and the policies in one line.
    """
    out = [(label, _value(report[key])) for key, label in _LINES if report.get(key) is not None]
    for reason, n in (report.get("customers_excluded") or {}).items():
        out.append((f"customers excluded: {reason.replace('_', ' ')}", f"{n:,}"))
    policies = report.get("policies") or {}
    if policies:
        out.append(("policies", ", ".join(f"{k}={v}" for k, v in policies.items())))
    return out


def report_metrics(report: dict) -> dict[str, float]:
    """The report's counts as MLflow metrics named ``data.<key>``.

    Parameters
    ----------
    report : dict
        A data report.

    Returns
    -------
    dict
        ``{"data.n_rows": 69659.0, "data.customers_excluded.no_purchase_day": 0.0, ...}``.
    """
    out = {
        f"data.{k}": float(v)
        for k, v in report.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool) and v is not None
    }
    for reason, n in (report.get("customers_excluded") or {}).items():
        out[f"data.customers_excluded.{reason}"] = float(n)
    return out
