"""Customer features as Ibis expressions: RFM, calibration/holdout, behaviour, engagement.

One definition per feature, executed in-process by DuckDB by default and unchanged by any
other Ibis backend (Spark, BigQuery, ...). pandas, polars, Arrow, CSV and Parquet input gives
a pandas DataFrame indexed by ``customer_id`` with a data report in ``attrs["report"]``
(also logged at INFO); Ibis input gives an Ibis table (``customer_id`` as a column) so that
the work stays in the backend, unless ``output="pandas"`` is passed.
:func:`behaviour_with_rfm` computes ``rfm`` and ``behaviour`` at one cut-off in a single
query (what training and scoring use); its RFM columns are :data:`RFM_COLUMNS`.

Time follows Fader, Hardie & Lee (2005): purchases of a customer on one calendar day are one
transaction, boundary dates are inclusive of their whole day, and durations are whole days
between dates expressed in ``time_unit`` ("D" or "W" = 7 days).

Policies
--------
duplicates : {"auto", "keep", "drop"}
    Exact duplicate rows: equal in every *mapped* column (customer id, timestamp, amount
    and whichever of quantity, order id, product, category are mapped; unmapped columns
    are not seen). ``"keep"`` treats them as genuine repeated lines: without an order line
    identity two identical rows (same customer, time and amount) are indistinguishable from
    buying the same thing twice, and CDNOW's published summaries count its 21 such rows in
    the sample. ``"drop"`` keeps one copy. ``"auto"`` (default) drops them when both
    ``order_id`` and ``product`` are mapped (the same product twice in the same order, at
    the same time and amount, is an export error; with only the order id, two different
    products of one order at the same price would look identical) and keeps them
    otherwise. Counted in the report except under ``"keep"`` (report value None). When
    they are kept (``"auto"`` without an order line) they are counted after the features,
    by grouping on every column only the rows of the customers who have more rows than
    purchase days (an exact duplicate pair shares a customer-day); ``"keep"`` skips even
    that.
returns : {"net", "ignore", "error"}
    Rows with a negative amount. ``"net"`` (default) nets them against the same
    customer-day: the day's value is the sum of all its rows, and a day whose net value is
    negative (a return without a purchase that day) is not a purchase day. ``"ignore"``
    drops negative rows before merging. ``"error"`` raises if there is any.
zero_value : {"keep", "drop"}
    Days whose (net) value is exactly 0 (free items, a purchase returned the same day).
    ``"keep"`` (default) counts them as purchase days, as the published CDNOW summaries
    do (8 such days in the sample); ``"drop"`` does not. Always counted.

Data report
-----------
``attrs["report"]`` counts ``n_rows``, ``duplicate_rows`` (None under
``duplicates="keep"``) and ``duplicate_rows_dropped``, ``return_rows`` and how many were
netted or dropped, ``purchase_days``, ``negative_value_days_dropped``, ``zero_value_days``
and ``zero_value_days_dropped``, ``n_customers_input``, ``customers_excluded`` (by reason:
``no_purchase_day``, ``first_purchase_after_calibration_end``) and ``n_customers``, and
repeats the policies used.
"""

from cxml.features._behaviour import RFM_COLUMNS, behaviour, behaviour_with_rfm
from cxml.features._engagement import engagement
from cxml.features._rfm import calibration_holdout, rfm

__all__ = [
    "RFM_COLUMNS",
    "behaviour",
    "behaviour_with_rfm",
    "calibration_holdout",
    "engagement",
    "rfm",
]
