"""Data sets: CDNOW (bundled with lifetimes) and a BTYD simulator."""

from cxml.datasets._cdnow import cdnow_path, load_cdnow
from cxml.datasets._simulate import simulate

__all__ = ["cdnow_path", "load_cdnow", "simulate"]
