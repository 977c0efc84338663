"""No module of cxml uses another package's private modules or another module's private names.

The rule, checked on every ``import`` statement of ``src/cxml`` (module level or inside a
function; relative imports are resolved first):

- A *private name* starts with one underscore (``_trend``; dunders such as ``__version__``
  are not private). A *private module* has a private component in its dotted path after
  ``cxml`` (``cxml.features._behaviour``, ``cxml._atomic``). Its *owner* is the package that
  holds its first private component: ``cxml.features`` for ``cxml.features._behaviour``,
  ``cxml`` itself for ``cxml._atomic``.
- Rule 1 (packages): a private module may be imported (``from P._m import name``,
  ``import P._m``, ``from P import _m``) only by its owner's ``__init__`` and the modules
  below the owner. So ``cxml.features.__init__`` re-exports ``cxml.features._behaviour``'s
  public names and ``cxml.pipelines`` imports them from ``cxml.features``; every module may
  use ``cxml._atomic`` (owned by ``cxml``).
- Rule 2 (names): no module imports a private name from another module, whatever the
  package: a name another module needs is made public in its module (and, for another
  package, re-exported by that package's ``__init__`` with ``__all__``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "cxml"


def _is_private(part: str) -> bool:
    return part.startswith("_") and not part.startswith("__")


def _owner(module: str) -> str | None:
    """The package holding the first private component of ``module`` (None: public)."""
    parts = module.split(".")
    for i, part in enumerate(parts):
        if i and _is_private(part):
            return ".".join(parts[:i])
    return None


def violations(source: str, module: str, *, is_package: bool = False) -> list[str]:
    """Imports of ``source`` (the code of ``module``) that break rule 1 or rule 2."""
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:  # from .x import y / from .. import y
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            imports = [(target, a.name) for a in node.names]
        elif isinstance(node, ast.Import):
            imports = [(a.name, None) for a in node.names]
        else:
            continue
        for target, name in imports:
            if target != "cxml" and not target.startswith("cxml."):
                continue
            full = f"{target}.{name}" if name else target
            owner = _owner(full) if name != "*" else _owner(target)
            where = f"{module}:{node.lineno} imports {full}"
            if owner is not None and not (module == owner or module.startswith(owner + ".")):
                found.append(f"{where} (private to {owner})")
            if name and _is_private(name):
                found.append(f"{where} (a private name of {target})")
    return found


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def test_no_module_imports_private_names_or_modules_of_another_package():
    files = sorted(SRC.rglob("*.py"))
    assert len(files) > 90  # the walk sees the whole tree
    found = [
        v
        for f in files
        for v in violations(f.read_text(), _module_name(f), is_package=f.name == "__init__.py")
    ]
    assert found == []


@pytest.mark.parametrize(
    "module,code,expected",
    [
        # rule 1: a private module of another package
        (
            "cxml.pipelines._customer_features",
            "from cxml.features._behaviour import behaviour_with_rfm",
            ["imports cxml.features._behaviour.behaviour_with_rfm (private to cxml.features)"],
        ),
        (
            "cxml.clv._clv",
            "def f():\n    import cxml.models._gammagamma",
            ["imports cxml.models._gammagamma (private to cxml.models)"],
        ),
        (
            "cxml.segments._rfm",
            "from cxml.metrics import _validation",
            [
                "imports cxml.metrics._validation (private to cxml.metrics)",
                "imports cxml.metrics._validation (a private name of cxml.metrics)",
            ],
        ),
        # rule 2: a private name, even inside its own package
        (
            "cxml.features._engagement",
            "from ._behaviour import _trend",
            ["imports cxml.features._behaviour._trend (a private name of"],
        ),
        ("cxml.pipelines._score", "from cxml.pipelines import _x", ["a private name of"]),
        # allowed
        ("cxml.pipelines._customer_features", "from cxml.features import behaviour", []),
        ("cxml.features", "from cxml.features._behaviour import behaviour", []),
        ("cxml.features._engagement", "from cxml.features._behaviour import trend", []),
        ("cxml.models._churn", "from cxml._atomic import write_atomic", []),
        ("cxml.pipelines._bundle", "from cxml import __version__", []),
        ("cxml.pipelines", "from ._bundle import ModelBundle", []),
        ("cxml.pipelines._score", "from .._atomic import AtomicFile", []),
    ],
)
def test_the_rule_on_examples(module, code, expected):
    got = violations(code, module, is_package="." not in module.removeprefix("cxml."))
    assert len(got) == len(expected), got
    for message, part in zip(got, expected, strict=True):
        assert part in message
