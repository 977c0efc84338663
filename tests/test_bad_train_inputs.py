"""Malformed input to ``cxml train``: every case exits 2 with one error line naming the
problem; never a traceback, never a model directory.

The score-side matrix is ``test_bad_inputs.py``. These are the cases a user met with their
own export (Online Retail II as a CSV in its own column names) plus the ones found looking
for more.
"""

from __future__ import annotations

import re

import pytest
import yaml

from cxml.cli import main
from cxml.datasets import load_cdnow

TIME = {"calibration_end": "1997-09-30", "observation_end": "1998-06-30"}


@pytest.fixture(scope="module")
def sample():
    return load_cdnow("sample")


def _config(d, tx_file="tx.csv", time=None, data=None, text=None, **top):
    path = d / "config.yaml"
    if text is not None:
        path.write_bytes(text) if isinstance(text, bytes) else path.write_text(text)
        return path
    cfg = {
        "data": {"transactions": str(d / tx_file), **(data or {})},
        "time": {**TIME, **(time or {})},
        "output": {"model_dir": str(d / "model")},
        "tracking": {"tracking_uri": f"sqlite:///{d / 'mlflow.db'}"},
        "churn": {"cv_folds": 2},
        **top,
    }
    path.write_text(yaml.safe_dump(cfg))
    return path


def _tx(d, df, name="tx.csv", **kw):
    df.to_csv(d / name, index=False, **kw)


def _us_dates(s):
    return s.assign(timestamp=s["timestamp"].dt.strftime("%m/%d/%y %I:%M %p"))


def _with_guests(s):
    s = s.astype({"customer_id": "float64"})
    s.loc[s.index[:3], "customer_id"] = float("nan")
    return s


CASES = [
    (
        "header_only_csv",
        lambda s, d: (_tx(d, s.head(0)), _config(d))[1],
        r"transactions: .*tx\.csv has no rows",
    ),
    (
        "empty_csv",
        lambda s, d: ((d / "tx.csv").write_text(""), _config(d))[1],
        r"transactions: .*tx\.csv is an empty file \(0 bytes\)",
    ),
    (
        "non_utf8_csv",
        lambda s, d: (
            (d / "tx.csv").write_bytes(
                s.assign(note="caf\u00e9").to_csv(index=False).encode("latin-1")
            ),
            _config(d),
        )[1],
        r"cannot read .*tx\.csv.*not utf-8",
    ),
    (
        "us_dates_two_digit_year",
        lambda s, d: (_tx(d, _us_dates(s)), _config(d))[1],
        r"6,919 of 6,919 values are not ISO 8601 dates, e\.g\. '01/01/97 12:00 AM'.*"
        r"data\.timestamp_format",
    ),
    (
        "us_dates_wrong_explicit_format",
        lambda s, d: (_tx(d, _us_dates(s)), _config(d, data={"timestamp_format": "%d/%m/%Y"}))[1],
        r"values do not match timestamp_format '%d/%m/%Y'",
    ),
    (
        "guest_rows_without_drop",
        lambda s, d: (_tx(d, _with_guests(s)), _config(d))[1],
        r"3 of 6,919 rows have a null customer id.*data\.null_customer_id: drop",
    ),
    (
        "observation_end_years_after_data",
        lambda s, d: (_tx(d, s), _config(d, time={"observation_end": "2002-06-30"}))[1],
        r"time\.observation_end 2002-06-30 is 1,461 days after the latest transaction in the "
        r"input \(1998-06-30\).*allow_stale_observation_end",
    ),
    (
        "all_returns",
        lambda s, d: (
            _tx(d, s.assign(amount=-s["amount"])),
            _config(d, time={"allow_stale_observation_end": True}),
        )[1],
        r"calibration to 1997-09-30: 8 customers, 0 repeat buyers .*6,911 of 6,919 rows are "
        r"returns",
    ),
    (
        "one_customer",
        lambda s, d: (
            _tx(d, s[s["customer_id"] == 2]),
            _config(d, time={"allow_stale_observation_end": True}),
        )[1],
        r"calibration to 1997-09-30: 1 customer, 1 repeat buyer;",
    ),
    (
        "calibration_before_data",
        lambda s, d: (_tx(d, s), _config(d, time={"calibration_end": "1996-06-30"}))[1],
        r"no customer has a purchase on or before calibration_end 1996-06-30",
    ),
    (
        "impossible_unquoted_yaml_date",
        lambda s, d: (
            _tx(d, s),
            _config(
                d, text="time:\n  calibration_end: 2011-06-31\n  observation_end: 2011-12-09\n"
            ),
        )[1],
        r"time\.calibration_end: '2011-06-31' is not a day of the calendar",
    ),
    (
        "us_date_in_config",
        lambda s, d: (_tx(d, s), _config(d, time={"calibration_end": "09/30/1997"}))[1],
        r"time\.calibration_end: '09/30/1997' is not a date in YYYY-MM-DD form",
    ),
    (
        "integer_date_in_config",
        lambda s, d: (
            _tx(d, s),
            _config(d, text="time:\n  calibration_end: 19970930\n  observation_end: 1998-06-30\n"),
        )[1],
        r"time\.calibration_end: must be a date in YYYY-MM-DD form",
    ),
    (
        "misspelled_key",
        lambda s, d: (
            _tx(d, s),
            _config(d, text="time:\n  calibraton_end: 1997-09-30\n  observation_end: 1998-06-30\n"),
        )[1],
        r"time\.calibraton_end: unknown key; did you mean 'calibration_end'\?",
    ),
    (
        "config_is_a_list",
        lambda s, d: _config(d, text="- data\n- time\n"),
        r"must hold a YAML mapping .*it is a YAML list",
    ),
    (
        "config_is_empty",
        lambda s, d: _config(d, text=""),
        r"must hold a YAML mapping .*it is empty",
    ),
    ("config_is_a_directory", lambda s, d: d, r"config .* is a directory"),
    (
        "config_not_utf8",
        lambda s, d: _config(d, text="name: caf\xe9\n".encode("latin-1")),
        r"config\.yaml is not UTF-8 text",
    ),
    (
        "config_not_yaml",
        lambda s, d: _config(d, text="time: [unclosed\n"),
        r"config\.yaml is not valid YAML",
    ),
    (
        "unknown_null_id_policy",
        lambda s, d: (_tx(d, s), _config(d, data={"null_customer_id": "fill"}))[1],
        r"data\.null_customer_id: Input should be 'error' or 'drop'",
    ),
]


@pytest.mark.parametrize("case,build,match", CASES, ids=[c[0] for c in CASES])
def test_bad_training_input_exit_2(case, build, match, sample, tmp_path, capsys):
    cfg = build(sample, tmp_path)
    code = main(["train", "-c", str(cfg)])
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("cxml: error: ")]
    assert code == 2, err
    assert len(errors) == 1 and "Traceback" not in err, err
    # besides the one error line, only progress lines ("[1/9] loading ...")
    assert all(re.match(r"\[\d+/\d+\] ", ln) for ln in lines if ln not in errors), err
    assert re.search(match, errors[0]), errors[0]
    assert not (tmp_path / "model").exists()


def test_guest_rows_dropped_and_counted(sample, tmp_path, capsys):
    _tx(tmp_path, _with_guests(sample))
    cfg = _config(tmp_path, data={"null_customer_id": "drop"})
    code = main(["train", "-c", str(cfg)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert (tmp_path / "model").is_dir()
    line = next(ln for ln in captured.out.splitlines() if "without a customer id" in ln)
    assert line.split()[-2] == "3", line  # the table's count column
    report = __import__("json").loads(
        __import__("mlflow").artifacts.load_text(f"runs:/{_last_run(tmp_path)}/data_report.json")
    )
    assert report["null_customer_id_rows_dropped"] == 3
    assert report["n_rows"] == 6919 - 3


def _last_run(d):
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{d / 'mlflow.db'}")
    runs = mlflow.search_runs(experiment_names=["cxml"], order_by=["start_time DESC"])
    return runs["run_id"].iloc[0]
