"""Scoring on Spark: every customer of a Spark DataFrame, scored where the data lives.

Each customer's whole history must be in one partition, so the input is repartitioned by
``customer_id``; every partition is then scored in pandas by :func:`cxml.pipelines.score`
through ``mapInPandas``. Scores do not depend on which other customers share a partition
(features are per customer and segment cut points are frozen in the model), so the result
equals in-process scoring row for row.
"""

from cxml.spark._score import score, score_schema

__all__ = ["score", "score_schema"]
