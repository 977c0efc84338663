"""Griffe extension: Sphinx cross-reference roles in docstrings become inline code.

cxml's numpydoc docstrings say ``:func:`rfm```, ``:class:`~cxml.models.BetaGeoModel```, as
numpydoc and Sphinx expect. mkdocstrings renders docstrings as Markdown, where a role would
be shown verbatim; here it becomes ```rfm``` (``~`` keeps the last dotted component, as in
Sphinx). The docstrings themselves are not changed.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|attr|data|exc|obj|const):`(~?)([^`]+)`")


def _code(match: re.Match[str]) -> str:
    tilde, target = match.groups()
    if tilde:
        target = target.rsplit(".", 1)[-1]
    return f"`{target}`"


def replace_roles(text: str) -> str:
    """``text`` with every Sphinx Python-domain role turned into inline code."""
    return _ROLE.sub(_code, text)


class SphinxRoles(griffe.Extension):
    """Rewrite the roles of each docstring as it is loaded."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = replace_roles(obj.docstring.value)
