"""Segment rules as data: the YAML schema, its validation and the packaged default."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from cxml.exceptions import ConfigError

__all__ = ["SegmentRule", "SegmentRules", "load_segment_rules", "DEFAULT_RULES_FILE"]

#: Name of the packaged default rules file inside ``cxml.segments``.
DEFAULT_RULES_FILE = "_default_rules.yaml"

_SCORES = ("r", "f", "m", "fm")


class SegmentRule(BaseModel):
    """One named segment: inclusive score ranges that must all hold.

    Parameters
    ----------
    name : str
        Segment label, e.g. ``"Champions"``.
    description : str, optional
        What the segment means, for reports.
    r, f, m, fm : (float, float) or float, optional
        Inclusive ``[low, high]`` range (a single number means ``[x, x]``) for the recency,
        frequency and monetary scores and for ``fm = (f + m) / 2``. Left out = any value.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    description: str = ""
    r: tuple[float, float] | None = None
    f: tuple[float, float] | None = None
    m: tuple[float, float] | None = None
    fm: tuple[float, float] | None = None

    @field_validator(*_SCORES, mode="before")
    @classmethod
    def _range(cls, v):
        if v is None:
            return v
        if isinstance(v, int | float) and not isinstance(v, bool):
            return (v, v)
        if isinstance(v, list | tuple) and len(v) == 2:
            return tuple(v)
        raise ValueError(f"expected [low, high] or a single number, got {v!r}")

    @model_validator(mode="after")
    def _ordered(self):
        for key in _SCORES:
            rng = getattr(self, key)
            if rng is not None and rng[0] > rng[1]:
                raise ValueError(f"{key} range [{rng[0]:g}, {rng[1]:g}] has low > high")
        return self

    def conditions(self) -> dict[str, tuple[float, float]]:
        """The score ranges this rule sets, e.g. ``{"r": (4, 5), "fm": (4, 5)}``.

        Returns
        -------
        dict of str to (float, float)
            Inclusive ``(low, high)`` range per score the rule constrains; scores the
            rule leaves open are absent.
        """
        return {k: getattr(self, k) for k in _SCORES if getattr(self, k) is not None}


class SegmentRules(BaseModel):
    """A validated set of RFM segment rules (first match wins) and value x risk actions.

    Parameters
    ----------
    n_bins : int, default 5
        Number of score levels (quintiles = 5).
    default : str or None
        Segment of customers no rule matches; None makes an unmatched customer an error.
    segments : list of SegmentRule
        Rules in priority order.
    value_risk_actions : dict of dict of str, optional
        Action label per value tier and risk tier, ``{value: {risk: action}}``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    n_bins: int = Field(default=5, ge=2, le=100)
    default: str | None = None
    segments: tuple[SegmentRule, ...] = Field(min_length=1)
    value_risk_actions: dict[str, dict[str, str]] | None = None

    @model_validator(mode="after")
    def _consistent(self):
        names = [s.name for s in self.segments]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"segment names must be unique; repeated: {dup}")
        for rule in self.segments:
            for key, (lo, hi) in rule.conditions().items():
                if hi < 1 or lo > self.n_bins:
                    raise ValueError(
                        f"segment {rule.name!r}: {key} range [{lo:g}, {hi:g}] lies outside the "
                        f"scores 1..{self.n_bins}, so it can never match"
                    )
        if self.value_risk_actions is not None:
            risks = [tuple(v) for v in self.value_risk_actions.values()]
            if len(set(risks)) > 1:
                raise ValueError(
                    "value_risk_actions: every value tier must list the same risk tiers"
                )
        return self

    @property
    def names(self) -> list[str]:
        """Segment labels in rule order, then ``default`` if set and not already a rule."""
        names = [s.name for s in self.segments]
        if self.default is not None and self.default not in names:
            names.append(self.default)
        return names


def _format_errors(err: ValidationError) -> str:
    parts = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"])
        parts.append(f"{loc}: {e['msg']}" if loc else e["msg"])
    return "; ".join(parts)


def _from_yaml_text(text: str, source: str) -> object:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"segment rules {source}: not valid YAML ({exc})") from None


@functools.lru_cache(maxsize=1)
def _default_rules() -> SegmentRules:
    text = resources.files("cxml.segments").joinpath(DEFAULT_RULES_FILE).read_text("utf-8")
    return _validate(_from_yaml_text(text, DEFAULT_RULES_FILE), DEFAULT_RULES_FILE)


def _validate(data, source: str) -> SegmentRules:
    if isinstance(data, list):  # just the list of segments
        data = {"segments": data}
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"segment rules {source}: expected a mapping with a 'segments' list, got "
            f"{type(data).__name__}"
        )
    try:
        return SegmentRules.model_validate(dict(data))
    except ValidationError as exc:
        raise ConfigError(f"segment rules {source}: {_format_errors(exc)}") from None


def load_segment_rules(rules=None) -> SegmentRules:
    """Load and validate segment rules.

    Parameters
    ----------
    rules : None, str, os.PathLike, dict, list or SegmentRules
        None: the packaged default (11 segments from Champions to Lost, identical to
        ``configs/segments.yaml``). A path: a YAML file in that format. A dict: the parsed
        YAML. A list: just the ``segments`` list (``n_bins`` 5, no default).

    Returns
    -------
    SegmentRules
        Validated, immutable rules.

    Raises
    ------
    ConfigError
        Unreadable file, invalid YAML, unknown keys, bad ranges, repeated names.

    Examples
    --------
    >>> rules = load_segment_rules()
    >>> rules.names[:3]
    ['Champions', 'Loyal', 'Potential Loyalist']
    >>> load_segment_rules([{"name": "All"}]).names
    ['All']
    """
    if rules is None:
        return _default_rules().model_copy(deep=True)  # callers cannot alter the cached one
    if isinstance(rules, SegmentRules):
        return rules
    if isinstance(rules, str | Path) or hasattr(rules, "__fspath__"):
        path = Path(rules)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                f"segment rules: cannot read {str(path)!r} ({exc.strerror})"
            ) from None
        return _validate(_from_yaml_text(text, str(path)), str(path))
    if isinstance(rules, Mapping | list):
        return _validate(rules, "(dict)" if isinstance(rules, Mapping) else "(list)")
    raise ConfigError(
        "segment rules must be None, a YAML path, a dict, a list of segments or SegmentRules; "
        f"got {type(rules).__name__}"
    )
