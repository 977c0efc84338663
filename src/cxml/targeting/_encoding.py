"""The feature encoding of uplift models, frozen at fit.

One rule for every column, decided from its dtype when the model is fitted:

- numeric and boolean columns are used as float64 (missing values stay NaN: LightGBM
  sends them down the learned default branch);
- string, object and categorical columns become the integer code of their value in the
  sorted list of values seen at fit, and LightGBM splits on them as categorical features.
  A missing value, or a value not seen at fit, becomes NaN (LightGBM's "missing"
  category): the prediction for a new category is the one for an unknown value, never an
  error;
- any other dtype (dates, durations, ...) is refused at fit with the column's name.

The encoding is stored as plain JSON (column names, kinds and category lists), so a
saved model encodes new data exactly as at fit.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from cxml.exceptions import DataValidationError

__all__ = ["FrozenEncoding"]

logger = logging.getLogger(__name__)


class FrozenEncoding:
    """Column kinds and category lists learnt from the training features.

    Parameters
    ----------
    columns : list of str
        Feature names in model order.
    categories : dict of str to list of str
        For each categorical column, its sorted values seen at fit; numeric columns are
        absent.
    """

    def __init__(self, columns: list[str], categories: dict[str, list[str]]):
        self.columns = list(columns)
        self.categories = {k: list(v) for k, v in categories.items()}

    @classmethod
    def fit(cls, X: pd.DataFrame) -> FrozenEncoding:
        """Learn the encoding of ``X``'s columns (see the module docstring).

        Parameters
        ----------
        X : pandas.DataFrame
            Training features.

        Returns
        -------
        FrozenEncoding
            Column kinds and sorted category lists of ``X``.

        Raises
        ------
        cxml.exceptions.DataValidationError
            A column whose dtype is neither numeric, boolean, string nor categorical.
        """
        categories: dict[str, list[str]] = {}
        for col in X.columns:
            s = X[col]
            if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
                continue
            if (
                pd.api.types.is_object_dtype(s)
                or pd.api.types.is_string_dtype(s)
                or isinstance(s.dtype, pd.CategoricalDtype)
            ):
                categories[str(col)] = sorted({str(v) for v in s.dropna().unique()})
                continue
            raise DataValidationError(
                f"feature column {col!r} has dtype {s.dtype}, which uplift models cannot use: "
                "convert it to a number (e.g. days since a date) or a string category"
            )
        return cls([str(c) for c in X.columns], categories)

    @property
    def categorical_indices(self) -> list[int]:
        """Positions of the categorical columns, as LightGBM's ``categorical_feature``."""
        return [i for i, c in enumerate(self.columns) if c in self.categories]

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        """Encode ``X`` into a float matrix with the frozen columns, in model order.

        Parameters
        ----------
        X : pandas.DataFrame
            Features with (at least) the columns seen at fit; extra columns are ignored.

        Returns
        -------
        numpy.ndarray
            ``(len(X), len(columns))`` floats: numbers as they are, categories as codes,
            missing or unseen categories as NaN.

        Raises
        ------
        cxml.exceptions.DataValidationError
            A fitted column is absent, or a numeric column is not numeric any more.
        """
        names = {str(c): c for c in X.columns}
        missing = [c for c in self.columns if c not in names]
        if missing:
            raise DataValidationError(
                f"X lacks {len(missing)} feature column(s) the model was fitted on: {missing}; "
                "pass the same features as at fit"
            )
        out = np.empty((len(X), len(self.columns)), dtype=float)
        for j, col in enumerate(self.columns):
            s = X[names[col]]
            if col in self.categories:
                cats = self.categories[col]
                present = s.notna().to_numpy()
                codes = np.full(len(s), -1, dtype=np.int64)
                codes[present] = pd.Index(cats).get_indexer(
                    [str(v) for v in s.to_numpy(dtype=object)[present]]
                )
                unseen = (codes < 0) & present
                if unseen.any():
                    logger.info(
                        "feature %r: %d value(s) not seen at fit (e.g. %r) are scored as missing",
                        col,
                        int(unseen.sum()),
                        s[unseen].iloc[0],
                    )
                out[:, j] = np.where(codes < 0, np.nan, codes)
            else:
                if not (pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s)):
                    raise DataValidationError(
                        f"feature column {col!r} was numeric at fit but has dtype {s.dtype} "
                        "now: pass numbers"
                    )
                out[:, j] = s.to_numpy(dtype=float, na_value=np.nan)
        return out

    def to_dict(self) -> dict:
        """Return the JSON-ready form, read back by :meth:`from_dict`.

        Returns
        -------
        dict
            ``{"columns": [...], "categories": {column: [values]}}``.
        """
        return {"columns": self.columns, "categories": self.categories}

    @classmethod
    def from_dict(cls, d: dict) -> FrozenEncoding:
        """Rebuild an encoding written by :meth:`to_dict`.

        Parameters
        ----------
        d : dict
            Output of :meth:`to_dict`.

        Returns
        -------
        FrozenEncoding
            The same encoding.
        """
        return cls(d["columns"], d["categories"])
