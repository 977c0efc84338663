"""Exceptions raised by cxml.

Every error that a user can fix (bad input data, a wrong path, an impossible date) derives
from :class:`CxmlUserError`. The CLI turns those into exit code 2 with a one-line message;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__all__ = [
    "CxmlError",
    "CxmlUserError",
    "DataValidationError",
    "ConfigError",
    "ModelLoadError",
    "NotFittedError",
    "ConvergenceError",
]


class CxmlError(Exception):
    """Base class of every exception cxml raises on purpose."""


class CxmlUserError(CxmlError, ValueError):
    """A problem the user can fix: input data, paths, dates or configuration."""


class DataValidationError(CxmlUserError):
    """An input table fails the data contract (missing column, bad values, ...)."""


class ConfigError(CxmlUserError):
    """A configuration file or option is invalid."""


class ModelLoadError(CxmlUserError):
    """A saved model cannot be found, read, or trusted."""


_NOT_FITTED_DOC = """A method that needs a fitted estimator was called before ``fit``.

    Subclasses :class:`sklearn.exceptions.NotFittedError` (itself a ``ValueError`` and an
    ``AttributeError``), so code written for scikit-learn estimators catches it, and
    :class:`CxmlError`. It is not a :class:`CxmlUserError`: calling a model before fitting
    it is a programming error, and the CLI keeps its traceback.
    """

if TYPE_CHECKING:
    from sklearn.exceptions import NotFittedError as _SklearnNotFittedError

    class NotFittedError(CxmlError, _SklearnNotFittedError):
        __doc__ = _NOT_FITTED_DOC


def __getattr__(name: str):
    # NotFittedError is built on first use: its scikit-learn base class costs a second of
    # imports (sklearn, scipy), which every ``cxml`` command would pay at start-up because
    # the CLI imports this module; only code that fits models needs the class.
    if name == "NotFittedError":
        from sklearn.exceptions import NotFittedError as sklearn_not_fitted

        cls = type(
            "NotFittedError",
            (CxmlError, sklearn_not_fitted),
            {"__doc__": _NOT_FITTED_DOC, "__module__": __name__},
        )
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class ConvergenceError(CxmlError, RuntimeError):
    """The optimiser did not converge; the message says what to try."""
