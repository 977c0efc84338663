"""Exceptions raised by cxml.

Every error that a user can fix (bad input data, a wrong path, an impossible date) derives
from :class:`CxmlUserError`. The CLI turns those into exit code 2 with a one-line message;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

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


class NotFittedError(CxmlError, AttributeError):
    """A method that needs a fitted estimator was called before ``fit``.

    Subclasses ``AttributeError`` as scikit-learn's ``NotFittedError`` does, so
    ``sklearn.utils.validation.check_is_fitted`` style checks behave the same.
    """


class ConvergenceError(CxmlError, RuntimeError):
    """The optimiser did not converge; the message says what to try."""
