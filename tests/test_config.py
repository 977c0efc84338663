"""Configuration: the packaged copy, defaults and validation messages."""

from __future__ import annotations

import datetime as dt

import pytest

from conftest import ROOT, write_config
from cxml.exceptions import ConfigError
from cxml.pipelines import default_config_path, load_config


def test_packaged_config_is_configs_cdnow_yaml():
    assert default_config_path().read_text() == (ROOT / "configs" / "cdnow.yaml").read_text()


def test_default_config_values():
    cfg = load_config()
    assert cfg.data.transactions == "cdnow:master"
    assert cfg.time.calibration_end == dt.date(1997, 9, 30)
    assert cfg.time.observation_end == dt.date(1998, 6, 30)
    assert cfg.time.time_unit == "W"
    assert cfg.time.holdout_days == 273
    assert cfg.clv.horizon_months == 12
    assert cfg.output.model_dir == "models/cdnow"


def test_unknown_key_is_rejected(tmp_path):
    path = write_config(tmp_path, **{"clv.horizon_month": 6})
    with pytest.raises(
        ConfigError, match=r"clv\.horizon_month: unknown key; did you mean 'horizon_months'\?"
    ):
        load_config(path)


def test_bad_time_unit(tmp_path):
    path = write_config(tmp_path, **{"time.time_unit": "M"})
    with pytest.raises(ConfigError, match=r"time\.time_unit"):
        load_config(path)


def test_not_yaml(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("time: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(p)
    p.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="must hold a YAML mapping"):
        load_config(p)
