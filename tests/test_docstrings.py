"""Documentation checks on the public API (issue 9).

1. Every name in ``__all__`` of cxml's public subpackages, and every public method or
   property of a public class, passes numpydoc's validator on a strict set of checks.
2. Every BTYD likelihood and closed-form prediction cites its paper and equation
   (lifetimes' habit), so a reader can check the formula against the source.

Checks that are not enforced anywhere, on purpose: SA01 (See Also), ES01 (extended
summary) and EX01 (Examples). numpydoc lists them as optional sections; the API has
examples where they teach something.

There are no exceptions: every public object passes every strict check (the list of
known failures this test started with has been fixed and removed).
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import inspect
import re

import pytest
from numpydoc.docscrape import NumpyDocString
from numpydoc.validate import ERROR_MSGS, validate

SUBPACKAGES = [
    "cxml.data",
    "cxml.datasets",
    "cxml.features",
    "cxml.models",
    "cxml.clv",
    "cxml.segments",
    "cxml.metrics",
    "cxml.evaluation",
    "cxml.tracking",
    "cxml.pipelines",
]
if importlib.util.find_spec("cxml.spark") is not None and importlib.util.find_spec("pyspark"):
    SUBPACKAGES.append("cxml.spark")  # needs the cxml[spark] extra

# Optional numpydoc sections, not enforced (see module docstring).
NOT_ENFORCED = {"SA01", "ES01", "EX01"}
STRICT_CHECKS = sorted(set(ERROR_MSGS) - NOT_ENFORCED)


def _is_cxml(obj) -> bool:
    return getattr(obj, "__module__", "").startswith("cxml")


def _public_objects() -> list[str]:
    """Import paths of every public function, class, method and property."""
    names = []
    for pkg in SUBPACKAGES:
        module = importlib.import_module(pkg)
        for name in module.__all__:
            obj = getattr(module, name)
            if not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue  # constants (DEFAULT_TRACKING_URI, KEY_METRICS, ...)
            names.append(f"{pkg}.{name}")
            if not inspect.isclass(obj):
                continue
            # Methods defined by cxml (the class or a cxml base); not pydantic's or sklearn's.
            seen = set()
            for klass in obj.__mro__:
                if not _is_cxml(klass):
                    continue
                for attr, member in vars(klass).items():
                    if attr.startswith("_") or attr in seen:
                        continue
                    seen.add(attr)
                    if isinstance(member, (staticmethod, classmethod)):
                        member = member.__func__
                    if inspect.isfunction(member) or isinstance(member, property):
                        names.append(f"{pkg}.{name}.{attr}")
    return sorted(names)


PUBLIC = _public_objects()


def _resolve(path: str):
    parts = path.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            obj = inspect.getattr_static(obj, attr) if inspect.isclass(obj) else getattr(obj, attr)
        return obj
    raise ImportError(path)


def _documented_attributes(obj) -> set[str]:
    """Names in the Attributes section (how dataclasses and pydantic models list fields)."""
    doc = inspect.getdoc(obj) or ""
    names = set()
    for param in NumpyDocString(doc)["Attributes"]:
        names.update(n.strip() for n in param.name.split(","))
    return names


def _errors(path: str) -> dict[str, str]:
    """numpydoc errors of one object, as {code: message}, restricted to STRICT_CHECKS."""
    result = validate(path)
    errors: dict[str, str] = {}
    for code, msg in result["errors"]:
        if code in STRICT_CHECKS:  # one entry per code; PR07 etc. may repeat per parameter
            errors[code] = f"{errors[code]}; {msg}" if code in errors else msg
    obj = _resolve(path)
    if (
        "PR01" in errors
        and inspect.isclass(obj)
        and (dataclasses.is_dataclass(obj) or hasattr(obj, "model_fields"))
    ):
        # Fields of a record class may be documented as Attributes instead of Parameters.
        fields = (
            {f.name for f in dataclasses.fields(obj)}
            if dataclasses.is_dataclass(obj)
            else set(obj.model_fields)
        )
        documented = _documented_attributes(obj) | {
            p.name for p in NumpyDocString(inspect.getdoc(obj) or "")["Parameters"]
        }
        if fields <= documented:
            del errors["PR01"]
    return errors


def test_public_api_is_walked():
    # The walk must find the contract's names, or the test below checks nothing.
    for name in [
        "cxml.datasets.load_cdnow",
        "cxml.datasets.simulate",
        "cxml.features.rfm",
        "cxml.features.calibration_holdout",
        "cxml.models.BetaGeoModel",
        "cxml.models.BetaGeoModel.fit",
        "cxml.models.BetaGeoModel.probability_alive",
        "cxml.models.GammaGammaModel.expected_average_value",
        "cxml.models.ChurnClassifier.predict_proba",
        "cxml.clv.customer_lifetime_value",
        "cxml.segments.rfm_segments",
        "cxml.metrics.nps",
        "cxml.pipelines.evaluate",
        "cxml.tracking.compare_runs",
    ]:
        assert name in PUBLIC
    assert len(PUBLIC) >= 100
    # Inherited third-party methods are not ours to document.
    assert "cxml.models.ChurnClassifier.get_params" not in PUBLIC
    assert "cxml.pipelines.Config.model_dump" not in PUBLIC


@pytest.mark.parametrize("package", SUBPACKAGES)
def test_subpackage_has_module_docstring(package):
    doc = importlib.import_module(package).__doc__
    assert doc and len(doc.strip()) > 20, f"{package} has no module docstring"


@pytest.mark.parametrize("path", PUBLIC)
def test_numpydoc(path):
    errors = _errors(path)
    assert not errors, f"{path}: " + "; ".join(f"{c} {m}" for c, m in sorted(errors.items()))


def test_checks_catch_a_bad_docstring():
    # The validator as configured here rejects what it should.
    from numpydoc.validate import get_doc_object

    def bad(frequency, recency):
        """compute things"""
        return frequency + recency

    codes = {c for c, _ in validate(get_doc_object(bad))["errors"] if c in STRICT_CHECKS}
    assert {"SS02", "SS03", "PR01", "RT01"} <= codes


# --- paper and equation for every BTYD formula -------------------------------------------

EQUATION = re.compile(r"\beq(?:uation)?s?\.?\s*\(?[A-Z]?\d+[a-z]?\)?", re.IGNORECASE)
PAPER = re.compile(r"[A-Z][A-Za-z-]+[^.\n]{0,60}?\(?(?:19|20)\d\d\b")

# Which functions implement a published formula: the likelihood (the private function
# the model's fit maximises) and every closed-form prediction.
BTYD_FORMULAS = {
    "cxml.models._bgnbd": [
        "bgnbd_total_log_likelihood",
        "bgnbd_log_likelihood",
        "BetaGeoModel.probability_alive",
        "BetaGeoModel.expected_purchases",
        "BetaGeoModel.population_expected_purchases",
        "BetaGeoModel.probability_of_purchases",
    ],
    "cxml.models._gammagamma": [
        "_gg_loglik",
        "GammaGammaModel.expected_average_value",
    ],
    "cxml.models._paretonbd": [
        "_pareto_rows",
        "_pareto_loglik",
        "ParetoNBDModel.probability_alive",
        "ParetoNBDModel.expected_purchases",
        "ParetoNBDModel.population_expected_purchases",
    ],
    "cxml.models._bgbb": [
        "_bgbb_loglik",
        "BetaGeoBetaBinomModel.probability_alive",
        "BetaGeoBetaBinomModel.expected_purchases",
    ],
    "cxml.models._mbgnbd": [
        "ModifiedBetaGeoModel.fit",
        "ModifiedBetaGeoModel.probability_alive",
        "ModifiedBetaGeoModel.expected_purchases",
        "ModifiedBetaGeoModel.population_expected_purchases",
        "ModifiedBetaGeoModel.probability_of_purchases",
    ],
}
# Cited equations not yet in the source (to be fixed in src/; then delete the line).
MISSING_CITATIONS = {
    "cxml.models._bgbb:_bgbb_loglik",
}

FORMULAS = [f"{m}:{f}" for m, fs in BTYD_FORMULAS.items() for f in fs]


def _source(ref: str) -> tuple[str, str]:
    module_name, qualname = ref.split(":")
    module = importlib.import_module(module_name)
    obj = module
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return inspect.getsource(module), inspect.getsource(obj)


@pytest.mark.parametrize("module_name", sorted(BTYD_FORMULAS) + ["cxml.clv._clv"])
def test_btyd_module_cites_its_paper(module_name):
    doc = importlib.import_module(module_name).__doc__ or ""
    assert PAPER.search(doc), f"{module_name}: module docstring cites no paper (author year)"


@pytest.mark.parametrize("ref", FORMULAS)
def test_btyd_formula_cites_equation(ref):
    _, src = _source(ref)
    # Docstring or comments of the function itself; the paper is named there or in the
    # module docstring (checked above).
    if ref in MISSING_CITATIONS:
        assert not EQUATION.search(src), f"{ref} now cites its equation: delete it from MISSING"
    else:
        assert EQUATION.search(src), f"{ref}: no 'eq. (N)' in its docstring or comments"


def test_value_model_cites_ziln():
    doc = importlib.import_module("cxml.models._value").__doc__
    assert "Wang, Liu & Miao (2019)" in doc and EQUATION.search(doc)


def test_clv_formula_is_written_out_and_cited():
    doc = importlib.import_module("cxml.clv._clv").__doc__
    assert "Fader, Hardie & Lee 2005" in doc and "RFM and CLV" in doc
    assert "CLV = E[M | x, m]" in doc


def test_citation_patterns():
    assert EQUATION.search("eq. (6) of FHL (2005)")
    assert EQUATION.search("equation 10")
    assert EQUATION.search("Batislam et al. 2007, eq. (8))")
    assert EQUATION.search("Eq. (A10) in the appendix of Fader, Hardie & Shang (2010)")
    assert not EQUATION.search("frequency equals the number of repeat purchases")
    assert PAPER.search("Fader, Hardie & Lee (2005)")
    assert PAPER.search("Batislam, Denizel & Filiztekin (2007)")
    assert not PAPER.search("the beta-geometric model")
