"""Data sets: CDNOW (inside lifetimes), Online Retail II (a local copy) and a BTYD simulator."""

from cxml.datasets._cdnow import cdnow_path, load_cdnow
from cxml.datasets._online_retail import load_online_retail, online_retail_path
from cxml.datasets._simulate import simulate

__all__ = ["cdnow_path", "load_cdnow", "load_online_retail", "online_retail_path", "simulate"]
