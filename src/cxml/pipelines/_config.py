"""Typed pipeline configuration, read from YAML and validated once."""

from __future__ import annotations

import datetime as dt
import difflib
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal, get_args

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_serializer,
    model_validator,
)

from cxml.data import check_timestamp_format, masked, to_date
from cxml.exceptions import ConfigError, CxmlUserError

__all__ = [
    "CompareConfig",
    "Config",
    "CovariatesConfig",
    "SourceConfig",
    "candidate_configs",
    "load_config",
    "default_config_path",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _day(value):
    # One date policy (cxml.data.to_date): YYYY-MM-DD only. pydantic's own date parsing
    # would read an integer such as 20110609 as Unix time.
    try:
        return to_date(value, "date")
    except CxmlUserError as exc:
        raise ValueError(str(exc).removeprefix("date=").removeprefix("date ")) from None


def _strptime_format(value):
    try:
        return check_timestamp_format(value, "timestamp_format")
    except CxmlUserError as exc:
        raise ValueError(str(exc)) from None


Day = Annotated[dt.date, BeforeValidator(_day)]


class ColumnsConfig(_Strict):
    """Names of the contract's columns in the user's table."""

    customer_id: str = "customer_id"
    timestamp: str = "timestamp"
    amount: str = "amount"
    quantity: str | None = None
    order_id: str | None = None
    category: str | None = None
    product: str | None = None


class CustomerColumnsConfig(_Strict):
    """Name of the customer id in the user's customers table (its other columns are the
    attributes, named as they are)."""

    customer_id: str = "customer_id"


class EventColumnsConfig(_Strict):
    customer_id: str = "customer_id"
    timestamp: str = "timestamp"
    event_type: str = "event_type"
    value: str = "value"


class SourceConfig(_Strict):
    """A table where it lives: a connection URL and exactly one of a table or a query.

    ``${NAME}`` in any value is read from the environment when the source is opened (keep
    passwords out of the file); the URL is dumped with its password masked, so it never
    reaches MLflow or a bundle.

    Parameters
    ----------
    connection : str
        A URL :func:`ibis.connect` understands (``postgres://user:${PW}@host:port/db``,
        ``duckdb://PATH``, ``sqlite://PATH``, ...) or ``spark``.
    table : str, optional
        The table (or view) to read.
    query : str, optional
        A SQL query to read instead, run by that engine.
    """

    connection: str
    table: str | None = None
    query: str | None = None

    @model_validator(mode="after")
    def _one_of(self):
        if bool(self.table) == bool(self.query):
            raise ValueError("give exactly one of 'table' or 'query'")
        return self

    @field_serializer("connection")
    def _masked(self, value: str) -> str:
        return masked(value)


def _source(value):
    # A mapping is a SourceConfig; its own error is reported (not the union's "should be a
    # valid string" for the path alternative).
    if isinstance(value, dict):
        try:
            return SourceConfig.model_validate(value)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(x) for x in err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key; valid keys: connection, table, query"
            raise ValueError(f"{where}: {msg}" if where else msg) from None
    return value


Source = Annotated[str | SourceConfig, BeforeValidator(_source)]


class DataConfig(_Strict):
    transactions: Source = Field(
        "cdnow:master",
        description="A CSV/Parquet path, 'cdnow:master' / 'cdnow:sample' for the CDNOW "
        "data shipped inside lifetimes, or {connection: URL, table: NAME} / "
        "{connection: URL, query: SQL}.",
    )
    columns: ColumnsConfig = ColumnsConfig()
    events: Source | None = None
    event_columns: EventColumnsConfig = EventColumnsConfig()
    customers: Source | None = Field(
        None,
        description="Customer attributes (one row per customer: customer_id and the "
        "columns btyd.covariates lists): a CSV/Parquet path or {connection: URL, table: "
        "NAME} / {connection: URL, query: SQL}, as for transactions.",
    )
    customer_columns: CustomerColumnsConfig = CustomerColumnsConfig()
    timestamp_format: Annotated[str | None, BeforeValidator(_strptime_format)] = Field(
        None,
        description="strptime format of text timestamps (e.g. '%d/%m/%Y %H:%M'), applied "
        "strictly to transactions and events; default: text must be ISO 8601.",
    )
    null_customer_id: Literal["error", "drop"] = Field(
        "error",
        description="Rows without a customer id (guest orders): refuse the data, or drop them "
        "(counted in the data report).",
    )


class TimeConfig(_Strict):
    calibration_end: Day
    observation_end: Day
    time_unit: Literal["D", "W"] = "W"
    allow_stale_observation_end: bool = Field(
        False,
        description="Accept an observation_end long after the latest transaction (see "
        "cxml.pipelines.check_horizon); off, such a gap is refused because it makes every "
        "customer look lapsed.",
    )

    @model_validator(mode="after")
    def _order(self):
        if self.observation_end <= self.calibration_end:
            raise ValueError(
                f"observation_end ({self.observation_end}) must be after calibration_end "
                f"({self.calibration_end})"
            )
        return self

    @property
    def holdout_days(self) -> int:
        return (self.observation_end - self.calibration_end).days


class CovariatesConfig(_Strict):
    """Static customer covariates of the purchase model (columns of ``data.customers``)."""

    purchase: list[str] = Field(
        default_factory=list,
        description="Customer attributes that shift the purchase rate (alpha_i = alpha "
        "exp(-x g), Fader & Hardie note 019).",
    )
    dropout: list[str] = Field(
        default_factory=list,
        description="Customer attributes that shift the dropout process (BG/NBD, MBG/NBD: a "
        "and b; Pareto/NBD: beta).",
    )

    @model_validator(mode="after")
    def _unique(self):
        for group in ("purchase", "dropout"):
            names = getattr(self, group)
            twice = sorted({c for c in names if names.count(c) > 1})
            if twice:
                raise ValueError(f"{group} lists {twice[0]!r} twice")
        return self

    @property
    def names(self) -> list[str]:
        """Every attribute used, each once, purchase ones first."""
        return list(dict.fromkeys(self.purchase + self.dropout))


class BTYDConfig(_Strict):
    """Purchase and spend models of the pipeline."""

    purchase_model: Literal["bgnbd", "mbgnbd", "pnbd"] = Field(
        "bgnbd",
        description="Purchase model family: 'bgnbd' (BG/NBD, Fader, Hardie & Lee 2005), "
        "'mbgnbd' (MBG/NBD, Batislam, Denizel & Filiztekin 2007) or 'pnbd' (Pareto/NBD, "
        "Schmittlein, Morrison & Colombo 1987).",
    )
    penalizer: float = Field(
        0.0,
        ge=0,
        description="L2 penalty of the purchase model's "
        "log-parameters (raise it when parameters sit at a bound)",
    )
    spend_penalizer: float = Field(0.0, ge=0, description="L2 penalty of Gamma-Gamma")
    covariates: CovariatesConfig | None = Field(
        None,
        description="{purchase: [...], dropout: [...]}: columns of data.customers in the "
        "purchase model (see 'Customer covariates in BTYD models'); scoring then needs the "
        "customers table too.",
    )


class CLVConfig(_Strict):
    horizon_months: int = Field(12, gt=0)
    annual_discount_rate: float = Field(0.10, ge=0, lt=1)


class ChurnConfig(_Strict):
    windows_days: list[int] = [30, 90, 180, 365]
    cv_folds: int = Field(5, ge=2, description="customer-level cross-fitting for holdout metrics")
    max_snapshots: int = Field(6, ge=0, description="past cut-offs stacked into training")
    snapshot_step_days: int = Field(28, gt=0)
    min_history_days: int = Field(182, ge=0, description="history needed before a past cut-off")
    n_estimators: int = 1000
    learning_rate: float = 0.05
    num_leaves: int = 7
    min_child_samples: int = 100
    calibration: Literal["sigmoid", "isotonic", "none"] = "sigmoid"
    random_state: int = 0
    max_training_customers: int | None = Field(
        None,
        gt=0,
        description="Train the churn model on at most this many customers, "
        "sampled with random_state (None: all); for very large sources such as Spark tables.",
    )


class SegmentsConfig(_Strict):
    rules: str | None = Field(
        None, description="YAML file of RFM segment rules (default: packaged)"
    )
    value_quantiles: tuple[float, float] = (1 / 3, 2 / 3)
    risk_thresholds: tuple[float, float] = (0.33, 0.66)


class TrackingConfig(_Strict):
    tracking_uri: str | None = (
        None  # None: --tracking-uri, $MLFLOW_TRACKING_URI, sqlite:///mlflow.db
    )
    experiment: str = "cxml"


class OutputConfig(_Strict):
    model_dir: str = "models/cdnow"


#: Config sections a comparison candidate may override: anything else would change the
#: customers or the cut-offs, and candidates are compared on the same customers.
CANDIDATE_SECTIONS = ("btyd", "churn", "clv")


class CompareConfig(_Strict):
    """The ``compare:`` section: candidates and backtest cut-offs of ``cxml compare``.

    Example::

        compare:
          cutoffs: 2            # rolling origins, spaced by the holdout length
          candidates:
            - {name: bgnbd}
            - {name: pnbd, btyd: {purchase_model: pnbd}}
            - {name: pnbd-shallow, btyd: {purchase_model: pnbd},
               churn: {num_leaves: 3}}

    Parameters
    ----------
    candidates : list of dict
        Each a unique ``name`` and overrides of the btyd, churn or clv sections.
    cutoffs : int, default 1
        Backtest origins, spaced by the holdout length.
    bootstrap : int, default 1000
        Paired bootstrap resamples of customers (0: no intervals).
    seed : int, default 0
        Seed of the bootstrap.
    """

    candidates: list[dict] = Field(
        ...,
        min_length=1,
        description="Models to compare: each a mapping with a unique 'name' and overrides of "
        "the btyd, churn or clv sections of this configuration.",
    )
    cutoffs: int = Field(
        1,
        ge=1,
        description="Backtest origins: calibration_end, then calibration_end minus 1, 2, ... "
        "holdout lengths (each with the same holdout length); those without enough history "
        "are skipped and reported.",
    )
    bootstrap: int = Field(
        1000,
        ge=0,
        description="Paired bootstrap resamples of customers for the 95% interval of each "
        "candidate's churn AUC and value Gini difference to the best (0: none).",
    )
    seed: int = Field(0, description="Seed of the bootstrap resamples.")


class Config(_Strict):
    """Everything a training run needs; see ``configs/cdnow.yaml`` for a documented example.

    Unknown keys are rejected at every level, so a misspelt option is an error rather than
    silently ignored.

    Attributes
    ----------
    name : str, default "cdnow"
        Name of the run's data set and model (MLflow run name and model info).
    data : DataConfig
        Transactions and optional events: paths (or ``"cdnow:master"`` /
        ``"cdnow:sample"``) and the user's column names.
    time : TimeConfig
        ``calibration_end``, ``observation_end`` (dates, the second after the first) and
        ``time_unit`` ("D" or "W"). Required.
    btyd : BTYDConfig
        Purchase model (BG/NBD) and the penalizers of BG/NBD and Gamma-Gamma.
    clv : CLVConfig
        ``horizon_months`` and ``annual_discount_rate`` of the discounted CLV.
    churn : ChurnConfig
        Behaviour windows, cross-fitting folds, past cut-offs stacked into training and
        the LightGBM hyperparameters of the churn model.
    segments : SegmentsConfig
        RFM rules file and the value quantiles / risk thresholds of the value x risk
        segments.
    tracking : TrackingConfig
        MLflow ``tracking_uri`` (None: the command line, ``$MLFLOW_TRACKING_URI`` or
        ``sqlite:///mlflow.db``) and ``experiment``.
    output : OutputConfig
        ``model_dir``, where the trained model is written.
    compare : CompareConfig or None
        Candidates and cut-offs of ``cxml compare`` (ignored by ``cxml train``).
    source_path : str or None
        The YAML file the configuration was read from (set by :func:`load_config`; None
        when built in code). Not part of the dumped configuration.
    """

    name: str = "cdnow"
    data: DataConfig = DataConfig()
    time: TimeConfig
    btyd: BTYDConfig = BTYDConfig()
    clv: CLVConfig = CLVConfig()
    churn: ChurnConfig = ChurnConfig()
    segments: SegmentsConfig = SegmentsConfig()
    tracking: TrackingConfig = TrackingConfig()
    output: OutputConfig = OutputConfig()
    compare: CompareConfig | None = None
    source_path: str | None = Field(None, exclude=True)

    @model_validator(mode="after")
    def _customers(self):
        cov = self.btyd.covariates
        if cov is not None and cov.names and self.data.customers is None:
            raise ValueError(
                f"btyd.covariates lists {cov.names} but data.customers is not set; give the "
                "customers table (a path or {connection, table|query}) with "
                f"{self.data.customer_columns.customer_id} and those columns"
            )
        return self

    @model_validator(mode="after")
    def _candidates(self):
        if self.compare is not None:
            candidate_configs(self)  # every override is checked through the schema
        return self


def _merge(base: dict, override: dict) -> dict:
    out = dict(base)
    for k, v in override.items():
        out[k] = _merge(base[k], v) if isinstance(v, dict) and isinstance(base.get(k), dict) else v
    return out


def candidate_configs(cfg: Config) -> list[tuple[str, Config]]:
    """Each ``compare.candidates`` entry applied to ``cfg``: ``(name, full Config)``.

    Parameters
    ----------
    cfg : Config
        With a ``compare`` section.

    Returns
    -------
    list of (str, Config)
        In the order of the candidates; each configuration without ``compare``.

    Raises
    ------
    ValueError
        A candidate without a name, a duplicate name, an override of a section other
        than btyd / churn / clv, or an override the schema refuses (named by candidate
        and key, with the closest valid key for a typo).
    """
    base = cfg.model_dump(mode="python", exclude={"source_path", "compare"})
    out, seen = [], set()
    for i, cand in enumerate(cfg.compare.candidates if cfg.compare else []):
        name = cand.get("name")
        where = f"compare.candidates[{i}]"
        if not isinstance(name, str) or not name:
            raise ValueError(f"{where}: every candidate needs a 'name' (text)")
        where = f"{where} '{name}'"
        if name in seen:
            raise ValueError(f"{where}: the name is used twice; give each candidate its own")
        seen.add(name)
        overrides = {k: v for k, v in cand.items() if k != "name"}
        for key, value in overrides.items():
            if key not in CANDIDATE_SECTIONS:
                raise ValueError(
                    f"{where}: cannot override '{key}'; candidates are compared on the same "
                    f"data and dates and may override {', '.join(CANDIDATE_SECTIONS)}"
                )
            if not isinstance(value, dict):
                raise ValueError(f"{where}: '{key}' must be a mapping of its options")
        try:
            out.append((name, Config.model_validate(_merge(base, overrides))))
        except ValidationError as exc:
            raise ValueError(f"{where}: {_problem(exc)}") from None
    return out


def default_config_path() -> Path:
    """The packaged CDNOW configuration (a copy of ``configs/cdnow.yaml``).

    Returns
    -------
    pathlib.Path
        Location of ``cdnow.yaml`` inside the installed ``cxml.pipelines`` package.
    """
    return Path(str(resources.files("cxml.pipelines").joinpath("cdnow.yaml")))


class _Loader(yaml.SafeLoader):
    """Safe YAML without implicit timestamps: an unquoted ``2011-06-31`` reaches the date
    policy as text (and is refused with its field name) instead of failing inside PyYAML."""


_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _fields_at(loc: tuple) -> list[str]:
    """Valid keys of the config section at ``loc`` (for "did you mean")."""
    model: type[BaseModel] = Config
    for part in loc:
        field = model.model_fields.get(str(part))
        ann = getattr(field, "annotation", None)
        # an optional section (``X | None``) is read as X
        ann = next((a for a in get_args(ann) if a is not type(None)), ann) if get_args(ann) else ann
        if not (isinstance(ann, type) and issubclass(ann, BaseModel)):
            return []
        model = ann
    return [name for name in model.model_fields if name != "source_path"]


def _describe(exc: ValidationError, p: Path) -> str:
    return f"{p}: {_problem(exc)}"


def _problem(exc: ValidationError) -> str:
    """``loc: message`` of the first (a typo first) validation problem."""
    errors = exc.errors()
    # A misspelt key also makes its correct spelling "missing": report the typo first.
    errors.sort(key=lambda e: e["type"] != "extra_forbidden")
    err = errors[0]
    loc = ".".join(str(x) for x in err["loc"])
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        key = str(err["loc"][-1])
        valid = _fields_at(err["loc"][:-1])
        close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'?" if close else f"valid keys: {', '.join(valid)}"
        msg = f"unknown key; {hint}"
    more = f" ({len(errors)} problems in all)" if len(errors) > 1 else ""
    return f"{loc}: {msg}{more}" if loc else f"{msg}{more}"


def load_config(path: str | Path | None = None) -> Config:
    """Read and validate a YAML configuration.

    Parameters
    ----------
    path : str or Path, optional
        Defaults to the packaged CDNOW configuration.

    Returns
    -------
    Config
        The validated configuration, with ``source_path`` set to the file read.

    Raises
    ------
    ConfigError
        The file is missing, a directory, not UTF-8 text, not YAML, not a mapping, or fails
        validation; the message names the field (and the closest valid key for a typo).
    """
    p = Path(path) if path is not None else default_config_path()
    if p.is_dir():
        raise ConfigError(f"config {p} is a directory; pass a YAML file")
    if not p.is_file():
        raise ConfigError(f"config file not found: {p}")
    try:
        raw = yaml.load(p.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 - safe
    except UnicodeDecodeError:
        raise ConfigError(f"{p} is not UTF-8 text; save it as UTF-8") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(raw, dict):
        kind = "empty" if raw is None else f"a YAML {type(raw).__name__}"
        raise ConfigError(f"{p} must hold a YAML mapping (name:, data:, time:, ...); it is {kind}")
    try:
        cfg = Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, p)) from None
    cfg.source_path = str(p)
    return cfg
