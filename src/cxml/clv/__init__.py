"""Discounted customer lifetime value from a purchase model and a spend model."""

from cxml.clv._clv import (
    DAYS_PER_MONTH,
    customer_lifetime_value,
    customer_lifetime_value_interval,
)

__all__ = ["DAYS_PER_MONTH", "customer_lifetime_value", "customer_lifetime_value_interval"]
