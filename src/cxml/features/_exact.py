"""Order-free aggregates: feature values that do not depend on how an engine adds rows up.

A floating-point sum depends on the order of its terms, and every engine adds a customer's
rows in its own order (PostgreSQL in scan and hash order, DuckDB by thread, Spark by
partition). The sums then differ in the last bit, which is enough to move a Gamma-Gamma
optimum and a LightGBM split threshold: a model trained from PostgreSQL scored customers
up to 0.0084 apart in churn probability from the same model trained from the CSV.

So money is summed in fixed point: an amount becomes ``DECIMAL(18, 6)`` (a millionth of the
currency unit; validation refuses |amount| >= 10^12,
``cxml.data.MAX_ABS_AMOUNT``), every sum of it is exact, and a
customer's sum is turned into float64 once, by the engine, at the customer level. That
conversion is correctly rounded in DuckDB, PostgreSQL and Spark while the unscaled value is
below 2^53 (a customer total under 9 * 10^9), so the same rows give the same float64
everywhere. Spreads of whole-day gaps likewise come from exact integer sums
(:func:`sample_std`) instead of each engine's own running-variance algorithm.
"""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt

__all__ = ["EXACT_AMOUNT", "exact", "as_float", "exact_mean", "sample_std"]

#: fixed-point type every amount (and quantity) is summed in; validation refuses values
#: that do not fit (cxml.data.MAX_ABS_AMOUNT)
EXACT_AMOUNT = dt.Decimal(18, 6)


def exact(expr: ibis.NumericValue) -> ibis.NumericValue:
    """``expr`` in fixed point when it is floating (integers already add up exactly)."""
    return expr.cast(EXACT_AMOUNT) if expr.type().is_floating() else expr


def as_float(expr: ibis.NumericValue) -> ibis.NumericValue:
    """An exact (decimal or integer) aggregate as float64, converted by the engine."""
    return expr.cast("float64")


def exact_mean(expr: ibis.NumericValue, where=None) -> ibis.FloatingValue:
    """Mean of ``expr`` over the rows selected by ``where`` from its exact sum and count
    (null when there is none): one correctly rounded division of exact inputs, where an
    engine's own ``AVG`` adds float64 values in its own order."""
    n = expr.count(where=where)
    total = as_float(exact(expr).sum(where=where))
    return ibis.ifelse(n > 0, total / n.cast("float64"), ibis.null("float64"))


def sample_std(n: ibis.IntegerValue, s1: ibis.IntegerValue, s2: ibis.IntegerValue):
    """Sample standard deviation of integers from their count, sum and sum of squares.

    ``sqrt((n s2 - s1^2) / (n (n - 1)))``: the numerator is an exact integer (the sums are
    exact on every engine), so the result is one correctly rounded division and square
    root of exact inputs, the same bits on every engine; null below two values.
    """
    num = (n * s2 - s1 * s1).cast("float64")
    den = (n * (n - 1)).cast("float64")
    return ibis.ifelse(n > 1, (num / den).sqrt(), ibis.null("float64"))
