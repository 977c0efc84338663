"""``ScoreOptions``: how a scoring run reads, chunks and explains, in one frozen object.

:func:`~cxml.pipelines.score`, :func:`~cxml.pipelines.score_to_file` and
:func:`~cxml.pipelines.iter_scores` take it as ``options=``, or its fields as keywords
(``score(tx, model=m, as_of=d, chunk_size=1000)``), not both.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

import numpy as np

from cxml.exceptions import DataValidationError

__all__ = ["DEFAULT_CHUNK_SIZE", "ProgressCallback", "ScoreKeywords", "ScoreOptions"]

#: Customers per chunk: bounds memory (about 0.5 GB of pandas per million customers).
DEFAULT_CHUNK_SIZE = 500_000

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class ScoreOptions:
    """Options of a scoring run (everything but the data, the model and the date).

    Parameters
    ----------
    chunk_size : int, default 500_000
        Customers scored at a time (bounds memory; the result does not depend on it).
    on_progress : callable, optional
        Called as ``on_progress(customers_done, customers_total)`` after each chunk.
    work_dir : str or Path, optional
        Where the temporary chunk files go (default: the system temporary directory).
    deterministic : bool, default True
        Run DuckDB on one thread so that a rerun gives bit-identical floats (parallel
        aggregation sums amounts in a scheduling-dependent order). False uses all cores
        for the queries; results then agree to about 1e-12 relative between runs.
    timestamp_format : str, optional
        Explicit ``strptime`` format of text timestamps, applied strictly (default: the
        model's ``data.timestamp_format``, else ISO 8601).
    null_customer_id : {"error", "drop"}, optional
        Rows without a customer id (guest orders): refuse or drop (default: the model's).
    allow_stale_as_of : bool, default False
        Accept an ``as_of`` more than ``max(7, horizon / 4)`` days after the latest
        transaction (:func:`cxml.data.check_horizon`); refused otherwise.
    explain : int, default 0
        Add the top ``explain`` reasons of each churn score: for ``k`` in 1..explain,
        ``reason_k`` (the feature with the k-th largest positive SHAP contribution, from
        LightGBM's ``pred_contrib``; None if fewer push the score up), ``reason_k_value``
        (the customer's value of it) and ``reason_k_shap`` (its log-odds contribution),
        after the score columns.

    Raises
    ------
    DataValidationError
        ``chunk_size`` is not a positive integer or ``explain`` not an integer >= 0.

    Examples
    --------
    >>> opts = ScoreOptions(chunk_size=100_000, explain=3)
    >>> opts.explain, opts.deterministic
    (3, True)
    """

    chunk_size: int = DEFAULT_CHUNK_SIZE
    on_progress: ProgressCallback | None = None
    work_dir: str | Path | None = None
    deterministic: bool = True
    timestamp_format: str | None = None
    null_customer_id: str | None = None
    allow_stale_as_of: bool = False
    explain: int = 0

    def __post_init__(self) -> None:
        size = self.chunk_size
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
            raise DataValidationError(f"chunk_size must be a positive integer, got {size!r}")
        n = self.explain
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise DataValidationError(
                f"explain must be the number of reasons (an integer >= 0), got {n!r}"
            )

    @classmethod
    def resolve(cls, options: ScoreOptions | None, keywords: dict) -> ScoreOptions:
        """The options of a call that takes either ``options=`` or the fields as keywords.

        Parameters
        ----------
        options : ScoreOptions or None
            The ``options=`` argument.
        keywords : dict
            The other keyword arguments of the call (field names of ScoreOptions).

        Returns
        -------
        ScoreOptions
            ``options``, or one built from ``keywords`` (defaults for the fields not given).

        Raises
        ------
        TypeError
            Both are given, or a keyword is not a field of ScoreOptions.
        """
        fields = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(keywords) - set(fields))
        if unknown:
            raise TypeError(
                f"unexpected keyword argument(s) {', '.join(unknown)}; the scoring options "
                f"are {', '.join(fields)}"
            )
        if options is None:
            return cls(**keywords)
        if keywords:
            raise TypeError(
                f"pass the scoring options either as options=ScoreOptions(...) or as "
                f"keywords ({', '.join(sorted(keywords))}), not both"
            )
        if not isinstance(options, cls):
            raise TypeError(f"options must be a ScoreOptions, got {type(options).__name__}")
        return options


class ScoreKeywords(TypedDict, total=False):
    """The fields of :class:`ScoreOptions` as keyword arguments (for type checkers)."""

    chunk_size: int
    on_progress: ProgressCallback | None
    work_dir: str | Path | None
    deterministic: bool
    timestamp_format: str | None
    null_customer_id: str | None
    allow_stale_as_of: bool
    explain: int
