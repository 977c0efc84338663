"""Data sets: CDNOW (inside lifetimes), Online Retail II and the Hillstrom e-mail campaign
(local copies) and a BTYD simulator."""

from cxml.datasets._cdnow import cdnow_path, load_cdnow
from cxml.datasets._hillstrom import (
    HILLSTROM_ARMS,
    HILLSTROM_CONTROL,
    HILLSTROM_FEATURES,
    HILLSTROM_OUTCOMES,
    hillstrom_path,
    load_hillstrom,
)
from cxml.datasets._online_retail import load_online_retail, online_retail_path
from cxml.datasets._simulate import simulate

__all__ = [
    "HILLSTROM_ARMS",
    "HILLSTROM_CONTROL",
    "HILLSTROM_FEATURES",
    "HILLSTROM_OUTCOMES",
    "cdnow_path",
    "hillstrom_path",
    "load_cdnow",
    "load_hillstrom",
    "load_online_retail",
    "online_retail_path",
    "simulate",
]
