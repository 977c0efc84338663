"""Loading and boundary validation of transactions and engagement events.

The only subpackage that reads data (files, database tables and queries). Everything
becomes an Ibis table with cxml's canonical column names, checked once so that the feature
engine can trust it. The one date policy of cxml (boundary dates and timestamp columns)
lives here too.
"""

from cxml.data._dates import (
    check_timestamp_format,
    epoch_day,
    to_date,
    to_datetime_series,
    unit_days,
)
from cxml.data._horizon import check_horizon, max_gap_days
from cxml.data._io import duckdb_connection, execute_arrow, read_table
from cxml.data._sources import (
    connect,
    expand_env,
    is_table_source,
    masked,
    open_source,
    source_label,
    source_secrets,
)
from cxml.data._validate import (
    MAX_ABS_AMOUNT,
    is_validated,
    validate_events,
    validate_transactions,
    validation_info,
)

__all__ = [
    "MAX_ABS_AMOUNT",
    "check_horizon",
    "check_timestamp_format",
    "connect",
    "duckdb_connection",
    "epoch_day",
    "execute_arrow",
    "expand_env",
    "is_table_source",
    "masked",
    "open_source",
    "source_label",
    "source_secrets",
    "is_validated",
    "max_gap_days",
    "read_table",
    "to_date",
    "to_datetime_series",
    "unit_days",
    "validate_events",
    "validate_transactions",
    "validation_info",
]
