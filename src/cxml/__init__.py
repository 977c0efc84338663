"""cxml: customer-value modelling.

Transactions and engagement events become RFM and engagement features
(:mod:`cxml.features`), BTYD models predict purchases, probability alive and value
(:mod:`cxml.models`, :mod:`cxml.clv`), a LightGBM classifier scores churn risk, and
:mod:`cxml.segments` turns value and risk into segments. :mod:`cxml.tracking` records runs
in MLflow; :mod:`cxml.pipelines` and the ``cxml`` command orchestrate it all.

Subpackages are imported lazily so that ``import cxml`` stays fast and side-effect free.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from cxml._version import __version__

__all__ = [
    "__version__",
    "clv",
    "data",
    "datasets",
    "evaluation",
    "exceptions",
    "features",
    "metrics",
    "models",
    "pipelines",
    "reporting",
    "segments",
    "spark",
    "targeting",
    "tracking",
]

_SUBMODULES = frozenset(__all__) - {"__version__"}


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"cxml.{name}")
    raise AttributeError(f"module 'cxml' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)


if TYPE_CHECKING:  # pragma: no cover
    from cxml import (  # noqa: F401
        clv,
        data,
        datasets,
        evaluation,
        exceptions,
        features,
        metrics,
        models,
        pipelines,
        reporting,
        segments,
        spark,
        targeting,
        tracking,
    )
