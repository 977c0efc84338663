"""Loading and boundary validation of transactions and engagement events.

The only subpackage that reads files. Everything becomes an Ibis table with cxml's
canonical column names, checked once so that the feature engine can trust it.
"""

from cxml.data._dates import to_date
from cxml.data._io import duckdb_connection, read_table
from cxml.data._validate import (
    is_validated,
    validate_events,
    validate_transactions,
    validation_info,
)

__all__ = [
    "duckdb_connection",
    "is_validated",
    "read_table",
    "to_date",
    "validate_events",
    "validate_transactions",
    "validation_info",
]
