"""Docstrings of cxml.targeting pass numpydoc's strict checks (the rule of
tests/test_docstrings.py, applied to the targeting package) and their examples run."""

from __future__ import annotations

import dataclasses
import doctest
import importlib
import inspect

import pytest
from numpydoc.docscrape import NumpyDocString
from numpydoc.validate import ERROR_MSGS, validate

from cxml import targeting

STRICT = sorted(set(ERROR_MSGS) - {"SA01", "ES01", "EX01"})


def _public():
    names = []
    for name in targeting.__all__:
        obj = getattr(targeting, name)
        if not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue
        names.append(f"cxml.targeting.{name}")
        if inspect.isclass(obj):
            for klass in obj.__mro__:
                if not klass.__module__.startswith("cxml"):
                    continue
                for attr, member in vars(klass).items():
                    if attr.startswith("_"):
                        continue
                    if isinstance(member, (staticmethod, classmethod)):
                        member = member.__func__
                    if inspect.isfunction(member) or isinstance(member, property):
                        names.append(f"cxml.targeting.{name}.{attr}")
    return sorted(set(names))


@pytest.mark.parametrize("path", _public())
def test_numpydoc_strict(path):
    errors = {code: msg for code, msg in validate(path)["errors"] if code in STRICT}
    obj = getattr(targeting, path.split(".")[2])
    if (
        "PR01" in errors
        and path.count(".") == 2
        and (dataclasses.is_dataclass(obj) or hasattr(obj, "model_fields"))
    ):
        # Record classes document their fields as Attributes (as tests/test_docstrings.py).
        fields = (
            {f.name for f in dataclasses.fields(obj)}
            if dataclasses.is_dataclass(obj)
            else set(obj.model_fields)
        )
        documented = set()
        for param in NumpyDocString(inspect.getdoc(obj))["Attributes"]:
            documented.update(n.strip() for n in param.name.split(","))
        assert fields <= documented, fields - documented
        del errors["PR01"]
    assert not errors, errors


def test_targeting_is_registered_in_cxml():
    import cxml

    assert "targeting" in cxml.__all__ and cxml.targeting is targeting


@pytest.mark.parametrize("module", ["_learners", "_metrics", "_plots", "_policy", "_decision"])
def test_examples_run(module):
    mod = importlib.import_module(f"cxml.targeting.{module}")
    result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
