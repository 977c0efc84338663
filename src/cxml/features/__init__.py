"""Customer features as Ibis expressions: RFM, calibration/holdout, behaviour, engagement.

One definition per feature, executed in-process by DuckDB by default and unchanged by any
other Ibis backend (Spark, BigQuery, ...). pandas-like input gives a pandas DataFrame
indexed by ``customer_id`` with a data report in ``attrs["report"]``; Ibis input gives an
Ibis table so that the work stays in the backend.
"""

from cxml.features._behaviour import behaviour
from cxml.features._engagement import engagement
from cxml.features._rfm import calibration_holdout, rfm

__all__ = ["behaviour", "calibration_holdout", "engagement", "rfm"]
