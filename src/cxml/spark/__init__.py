"""Scoring on Spark: every customer of a Spark DataFrame, scored where the data lives.

Each customer's whole history must be in one partition, so the input is repartitioned by
``customer_id``; every partition is then scored in pandas by :func:`cxml.pipelines.score`
through ``mapInPandas``. Scores do not depend on which other customers share a partition
(features are per customer and segment cut points are frozen in the model), so the result
equals in-process scoring row for row. :func:`local_session` starts a local SparkSession
with the settings this needs (on a cluster the session exists already).
"""

from cxml.spark._score import score, score_schema
from cxml.spark._session import local_session

__all__ = ["local_session", "score", "score_schema"]
