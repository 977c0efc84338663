"""Customer covariates in the pipeline (issue 21, acceptance line 6).

``btyd.covariates`` + ``data.customers`` in the config: ``cxml train`` fits the purchase
model with the customers' attributes, records the covariate spec in the bundle and logs the
coefficients; scoring (library, CLI, pyfunc) requires the customers table and refuses
customers without attributes. Checked on CDNOW with a customers table derived from the data
(a categorical first-purchase cohort and a numeric column), on simulated data with known
effects (recovered within 4 standard errors, as the model tests do), and against the plain
pipeline with an all-zero covariate.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from tests.conftest import write_config

from cxml.cli import main
from cxml.datasets import load_cdnow, simulate
from cxml.exceptions import ConfigError, CxmlUserError, DataValidationError
from cxml.features import calibration_holdout
from cxml.models import BetaGeoModel, GammaGammaModel, ParetoNBDModel
from cxml.pipelines import load_config, load_model, score, train

pytestmark = pytest.mark.slow

AS_OF = "1998-06-30"
FAST = {"churn.cv_folds": 2, "churn.n_estimators": 60, "churn.max_snapshots": 0}


def _customers(tx: pd.DataFrame) -> pd.DataFrame:
    """Deterministic attributes of every CDNOW customer: the month of the first purchase
    (categorical, 1997-01 the reference) and a numeric column in [-1.5, 1.5]."""
    first = tx.groupby("customer_id")["timestamp"].min()
    ids = first.index.to_numpy()
    return pd.DataFrame(
        {
            "customer_id": ids,
            "cohort": pd.to_datetime(first).dt.strftime("%Y-%m").to_numpy(),
            "z": ((ids % 7) - 3) / 2.0,
            "zero": 0.0,
        }
    )


@pytest.fixture(scope="module")
def cdnow_tx():
    return load_cdnow("sample")


@pytest.fixture(scope="module")
def trained(tmp_path_factory, cdnow_tx):
    """``cxml train -c`` on the CDNOW sample with cohort and z as covariates."""
    tmp = tmp_path_factory.mktemp("cov_train")
    cust = _customers(cdnow_tx)
    cust.to_csv(tmp / "customers.csv", index=False)
    cdnow_tx.to_csv(tmp / "tx.csv", index=False)
    cfg = write_config(
        tmp,
        **{
            "data.transactions": "cdnow:sample",
            "data.customers": str(tmp / "customers.csv"),
            "btyd.covariates": {"purchase": ["cohort", "z"], "dropout": ["cohort"]},
            "output.model_dir": str(tmp / "model"),
            **FAST,
        },
    )
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):  # the console summary, read by a test below
        assert main(["train", "-c", str(cfg), "--tracking-uri", uri]) == 0
    (tmp / "train_stdout.txt").write_text(out.getvalue())
    return tmp, uri


def _plain_and_zero(tmp_path_factory, purchase_model="bgnbd"):
    out = {}
    for name, extra in (
        ("plain", {}),
        (
            "zero",
            {"btyd.covariates": {"purchase": ["zero"], "dropout": ["zero"]}},
        ),
    ):
        tmp = tmp_path_factory.mktemp(f"{name}_{purchase_model}")
        _customers(load_cdnow("sample")).to_parquet(tmp / "customers.parquet")
        cfg = write_config(
            tmp,
            **{
                "data.transactions": "cdnow:sample",
                "data.customers": str(tmp / "customers.parquet") if extra else None,
                "btyd.purchase_model": purchase_model,
                "output.model_dir": str(tmp / "model"),
                **FAST,
                **extra,
            },
        )
        out[name] = (train(cfg, tracking_uri=f"sqlite:///{tmp / 'mlflow.db'}"), tmp)
    return out


# -- configuration ----------------------------------------------------------------------------


def test_covariates_without_a_customers_table_are_refused(tmp_path):
    cfg = write_config(tmp_path, **{"btyd.covariates": {"purchase": ["cohort"]}})
    with pytest.raises(
        ConfigError,
        match=r"btyd.covariates lists \['cohort'\] but data.customers is not set; give the "
        r"customers table \(a path or \{connection, table\|query\}\) with customer_id and "
        "those columns",
    ):
        load_config(cfg)


def test_a_covariate_listed_twice_is_refused(tmp_path):
    cfg = write_config(
        tmp_path,
        **{"data.customers": "c.csv", "btyd.covariates": {"purchase": ["z", "z"]}},
    )
    with pytest.raises(ConfigError, match=r"btyd.covariates: purchase lists 'z' twice"):
        load_config(cfg)


def test_customers_as_a_database_source_and_unknown_keys(tmp_path):
    cfg = write_config(
        tmp_path,
        **{
            "data.customers": {"connection": "duckdb://x.duckdb", "table": "customers"},
            "btyd.covariates": {"purchase": ["z"]},
        },
    )
    c = load_config(cfg)
    assert c.data.customers.table == "customers"
    assert c.btyd.covariates.names == ["z"]
    bad = write_config(tmp_path, **{"btyd.covariates": {"purchse": ["z"]}})
    with pytest.raises(ConfigError, match="btyd.covariates.purchse: unknown key; did you mean"):
        load_config(bad)


def test_a_covariate_not_in_the_customers_table_names_it_and_lists_the_columns(tmp_path, cdnow_tx):
    _customers(cdnow_tx).to_csv(tmp_path / "customers.csv", index=False)
    cfg = write_config(
        tmp_path,
        **{
            "data.transactions": "cdnow:sample",
            "data.customers": str(tmp_path / "customers.csv"),
            "btyd.covariates": {"purchase": ["channel"]},
        },
    )
    with pytest.raises(
        DataValidationError,
        match=r"^data.customers: no covariate column 'channel'; the table has "
        r"\['customer_id', 'cohort', 'z', 'zero'\]$",
    ):
        train(cfg, tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")


def test_training_customers_without_attributes_are_refused(tmp_path, cdnow_tx):
    cust = _customers(cdnow_tx)
    cust = cust[~cust["customer_id"].isin([4, 18, 19])]
    cust.to_csv(tmp_path / "customers.csv", index=False)
    cfg = write_config(
        tmp_path,
        **{
            "data.transactions": "cdnow:sample",
            "data.customers": str(tmp_path / "customers.csv"),
            "btyd.covariates": {"purchase": ["cohort"]},
        },
    )
    with pytest.raises(
        DataValidationError,
        match=r"^data.customers: 3 of 2,357 customers have no row of attributes \(e.g. "
        r"customer 4\); add them to the customers table",
    ):
        train(cfg, tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")


def test_duplicated_customer_rows_are_refused(tmp_path, cdnow_tx):
    cust = _customers(cdnow_tx)
    pd.concat([cust, cust.iloc[[5]]]).to_csv(tmp_path / "customers.csv", index=False)
    cfg = write_config(
        tmp_path,
        **{
            "data.transactions": "cdnow:sample",
            "data.customers": str(tmp_path / "customers.csv"),
            "btyd.covariates": {"purchase": ["cohort"]},
        },
    )
    code = main(["train", "-c", str(cfg), "--tracking-uri", f"sqlite:///{tmp_path / 'm.db'}"])
    assert code == 2


# -- training and the bundle -------------------------------------------------------------------


def test_training_fits_the_covariates_and_stores_their_spec(trained, cdnow_tx):
    tmp, uri = trained
    bundle = load_model(tmp / "model")
    m = bundle.purchase_model
    assert isinstance(m, BetaGeoModel)
    cov = bundle.spec.covariates
    assert cov.purchase == ["cohort", "z"] and cov.dropout == ["cohort"]
    assert cov.customer_id == "customer_id"
    assert cov.levels == {"cohort": ["1997-01", "1997-02", "1997-03"]}
    assert set(m.coefficients_["alpha"]) == {"cohort=1997-02", "cohort=1997-03", "z"}
    assert set(m.coefficients_["a"]) == {"cohort=1997-02", "cohort=1997-03"}
    # the same fit as the model on the calibration RFM with the same attributes
    ch = calibration_holdout(
        cdnow_tx, calibration_end="1997-09-30", observation_end=AS_OF, time_unit="W"
    )
    cust = _customers(cdnow_tx).set_index("customer_id").loc[ch.index]
    direct = BetaGeoModel(purchase_covariates=["cohort", "z"], dropout_covariates=["cohort"]).fit(
        ch["frequency_cal"], ch["recency_cal"], ch["T_cal"], covariates=cust
    )
    for p, d in direct.coefficients_.items():
        for k, g in d.items():
            assert m.coefficients_[p][k] == pytest.approx(g, abs=1e-9)
    # logged: the summary table and the multipliers
    client = mlflow.tracking.MlflowClient(uri)
    run = client.search_runs(client.get_experiment_by_name("cxml").experiment_id)[0]
    metrics = run.data.metrics
    g = m.coefficients_["alpha"]["cohort=1997-02"]
    assert metrics["bgnbd_alpha_cohort_1997-02"] == pytest.approx(g)
    assert metrics["bgnbd_alpha_cohort_1997-02_multiplier"] == pytest.approx(np.exp(g))
    assert metrics["bgnbd_alpha_z_se"] == pytest.approx(
        m.coefficient_standard_errors_["alpha"]["z"]
    )
    local = client.download_artifacts(run.info.run_id, "tables/purchase_model_summary.json", tmp)
    table = json.loads(Path(local).read_text())
    assert "alpha: cohort=1997-02" in json.dumps(table)
    # and printed: one row per coefficient with its multiplier and interval
    printed = (tmp / "train_stdout.txt").read_text()
    assert "covariate effects" in printed
    summary = m.summary()
    for name in ("alpha: z", "a: cohort=1997-03"):
        r = summary.loc[name]
        assert re.search(
            rf"{re.escape(name)}\s.*{r['multiplier']:.3f}\s.*{r['multiplier_lower']:.3f} - "
            rf"{r['multiplier_upper']:.3f}",
            printed,
        ), (name, printed)


# -- scoring ------------------------------------------------------------------------------------


def test_score_round_trip_library_and_cli(trained, cdnow_tx, capsys):
    tmp, _ = trained
    lib = score(cdnow_tx, model=tmp / "model", as_of=AS_OF, customers=tmp / "customers.csv")
    assert len(lib) == 2357
    assert lib["clv"].notna().all() and (lib["clv"] >= 0).all()
    assert lib["segment"].notna().all()
    # the scores are the covariate model's, customer by customer
    bundle = load_model(tmp / "model")
    cust = _customers(cdnow_tx).set_index("customer_id").loc[lib["customer_id"]]
    np.testing.assert_allclose(
        lib["p_alive"],
        bundle.purchase_model.probability_alive(
            lib["frequency"], lib["recency"], lib["T"], covariates=cust.reset_index(drop=True)
        ),
        rtol=1e-12,
    )
    out = tmp / "scores.parquet"
    args = ["score", "-m", tmp / "model", "-t", tmp / "tx.csv", "--as-of", AS_OF, "-o", out]
    code = main([str(a) for a in [*args, "--customers", tmp / "customers.csv"]])
    assert code == 0, capsys.readouterr().err
    cli = pd.read_parquet(out)
    pd.testing.assert_frame_equal(
        cli.drop(columns="model_version"), lib.drop(columns="model_version"), check_dtype=False
    )


def test_scoring_without_the_customers_table_is_refused(trained, cdnow_tx, capsys):
    tmp, _ = trained
    with pytest.raises(
        DataValidationError,
        match=r"^this model was trained with the customer covariates \['cohort', 'z'\]: pass "
        r"the customers table \(--customers PATH, customers=\) with 'customer_id' and those "
        "columns$",
    ):
        score(cdnow_tx, model=tmp / "model", as_of=AS_OF)
    args = ["score", "-m", tmp / "model", "-t", tmp / "tx.csv", "--as-of", AS_OF]
    code = main([str(a) for a in [*args, "-o", tmp / "x.parquet"]])
    err = capsys.readouterr().err
    assert code == 2
    assert "trained with the customer covariates" in err and "Traceback" not in err
    assert not (tmp / "x.parquet").exists()


def test_scored_customers_without_attributes_are_refused(trained, cdnow_tx, capsys):
    tmp, _ = trained
    cust = _customers(cdnow_tx)
    cust[cust["customer_id"] != 7].to_csv(tmp / "partial.csv", index=False)
    msg = (
        r"^customers: 1 of 2,357 customers have no row of attributes \(e.g. customer 7\); "
        r"add them to the customers table \(a level such as 'unknown' for those you know "
        r"nothing about\)$"
    )
    with pytest.raises(DataValidationError, match=msg):
        score(cdnow_tx, model=tmp / "model", as_of=AS_OF, customers=tmp / "partial.csv")
    args = ["score", "-m", tmp / "model", "-t", tmp / "tx.csv", "--as-of", AS_OF]
    args += ["-o", tmp / "y.parquet", "--customers", tmp / "partial.csv"]
    code = main([str(a) for a in args])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "1 of 2,357 customers have no row of attributes (e.g. customer 7)" in err[0]


def test_unseen_level_and_missing_column_at_scoring(trained, cdnow_tx):
    tmp, _ = trained
    cust = _customers(cdnow_tx)
    cust.loc[cust["customer_id"] == 3, "cohort"] = "1998-01"
    with pytest.raises(
        DataValidationError,
        match=r"covariate 'cohort' has 1 rows with a level not seen at fit \(e.g. '1998-01'\); "
        r"known levels: \['1997-01', '1997-02', '1997-03'\]",
    ):
        score(cdnow_tx, model=tmp / "model", as_of=AS_OF, customers=cust)
    with pytest.raises(
        DataValidationError,
        match=r"^customers: no covariate column 'z'; the table has \['customer_id', 'cohort'\]$",
    ):
        score(cdnow_tx, model=tmp / "model", as_of=AS_OF, customers=cust[["customer_id", "cohort"]])


def test_chunked_scoring_matches_one_chunk(trained, cdnow_tx):
    tmp, _ = trained
    path = tmp / "tx.csv"
    one = score(path, model=tmp / "model", as_of=AS_OF, customers=tmp / "customers.csv")
    many = score(
        path, model=tmp / "model", as_of=AS_OF, customers=tmp / "customers.csv", chunk_size=500
    )
    pd.testing.assert_frame_equal(one, many)


def test_pyfunc_reads_the_attributes_from_the_input_rows(trained, cdnow_tx):
    tmp, _ = trained
    model = mlflow.pyfunc.load_model(str(tmp / "model"))
    cust = _customers(cdnow_tx)
    rows = cdnow_tx[cdnow_tx["customer_id"] <= 40].merge(cust[["customer_id", "cohort", "z"]])
    got = model.predict(rows, params={"as_of": AS_OF, "allow_stale_as_of": True})
    want = score(
        rows[list(cdnow_tx.columns)],
        model=tmp / "model",
        as_of=AS_OF,
        customers=cust,
        allow_stale_as_of=True,
    )
    pd.testing.assert_frame_equal(got, want)
    # the signature asks for the attributes; past it, the model itself says what is missing
    with pytest.raises(mlflow.exceptions.MlflowException, match=r"missing inputs \['z'\]"):
        model.predict(rows.drop(columns="z"), params={"as_of": AS_OF})
    inner = model.unwrap_python_model()
    with pytest.raises(
        DataValidationError,
        match=r"^model input: no covariate column\(s\) \['z'\]; this model needs each "
        "customer's attributes as columns of the transaction rows$",
    ):
        inner.predict(None, rows.drop(columns="z"), params={"as_of": AS_OF})
    two = rows.copy()
    two.loc[two.index[0], "cohort"] = "1997-02"  # customer 1: two cohorts
    with pytest.raises(
        DataValidationError,
        match=r"^model input: 1 customers have rows with different attributes \(e.g. customer "
        r"1\); give each customer one value of every covariate$",
    ):
        inner.predict(None, two, params={"as_of": AS_OF})


# -- equivalences ------------------------------------------------------------------------------


@pytest.mark.parametrize("purchase_model", ["bgnbd", "pnbd"])
def test_all_zero_covariate_scores_equal_the_plain_pipeline(
    tmp_path_factory, cdnow_tx, purchase_model
):
    runs = _plain_and_zero(tmp_path_factory, purchase_model)
    (plain, _), (zero, ztmp) = runs["plain"], runs["zero"]
    rel = 1e-5 if purchase_model == "pnbd" else 1e-6
    for k, v in plain.bundle.purchase_model.params_.items():
        assert zero.bundle.purchase_model.params_[k] == pytest.approx(v, rel=rel)
    a = score(cdnow_tx, model=plain.model_dir, as_of=AS_OF)
    b = score(cdnow_tx, model=zero.model_dir, as_of=AS_OF, customers=ztmp / "customers.parquet")
    for c in ("p_alive", "expected_purchases", "expected_average_value", "clv"):
        np.testing.assert_allclose(b[c], a[c], rtol=10 * rel, atol=1e-9, err_msg=c)
    np.testing.assert_allclose(zero.scores["clv"], plain.scores["clv"], rtol=10 * rel, atol=1e-9)


def test_clv_with_all_zero_covariates_equals_the_plain_models():
    import lifetimes.datasets as lds

    from cxml.clv import customer_lifetime_value

    s = lds.load_cdnow_summary_data_with_monetary_value()
    rb = s[s["frequency"] > 0]
    gg = GammaGammaModel().fit(rb["frequency"], rb["monetary_value"])
    zero = pd.DataFrame({"zero": np.zeros(len(s))}, index=s.index)
    for cls, rel in ((BetaGeoModel, 1e-6), (ParetoNBDModel, 1e-5)):
        plain = cls().fit(s["frequency"], s["recency"], s["T"])
        cov = cls(purchase_covariates=["zero"], dropout_covariates=["zero"]).fit(
            s["frequency"], s["recency"], s["T"], covariates=zero
        )
        args = (s["frequency"], s["recency"], s["T"], s["monetary_value"])
        want = customer_lifetime_value(plain, gg, *args, time_unit="W")
        got = customer_lifetime_value(cov, gg, *args, time_unit="W", covariates=zero)
        np.testing.assert_allclose(got, want, rtol=10 * rel)
        # and a real covariate changes it the way expected purchases say
        with pytest.raises(CxmlUserError, match="pass the customers' covariates="):
            customer_lifetime_value(cov, gg, *args, time_unit="W")


def test_pipeline_recovers_known_effects_on_simulated_data(tmp_path):
    truth = {"alpha": {"web": 0.5, "store": 0.1}, "a": {"web": -0.5}, "b": {"store": 0.3}}
    params = {"r": 0.8, "alpha": 6.0, "a": 0.6, "b": 2.5}
    n = 8000
    rng = np.random.default_rng(21)
    channel = rng.choice(["email", "store", "web"], size=n, p=[0.4, 0.3, 0.3])
    onehot = pd.DataFrame(
        {"web": (channel == "web").astype(float), "store": (channel == "store").astype(float)}
    )
    tx, cust = simulate(
        n,
        params=params,
        seed=21,
        coefficients=truth,
        covariates=onehot,
        observation_end="2021-06-30",
    )
    cust = pd.DataFrame({"customer_id": cust["customer_id"], "channel": channel})
    tx.to_parquet(tmp_path / "tx.parquet")
    cust.to_parquet(tmp_path / "customers.parquet")
    cfg = write_config(
        tmp_path,
        **{
            "name": "simulated",
            "data.transactions": str(tmp_path / "tx.parquet"),
            "data.columns": {c: c for c in ("customer_id", "timestamp", "amount")},
            "data.customers": str(tmp_path / "customers.parquet"),
            "btyd.covariates": {"purchase": ["channel"], "dropout": ["channel"]},
            "time.calibration_end": "2021-03-31",
            "time.observation_end": "2021-06-30",
            "output.model_dir": str(tmp_path / "model"),
            **FAST,
        },
    )
    result = train(cfg, tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    m = result.bundle.purchase_model
    assert result.bundle.spec.covariates.levels == {"channel": ["email", "store", "web"]}
    for p in ("alpha", "a", "b"):
        for level in ("store", "web"):
            est = m.coefficients_[p][f"channel={level}"]
            se = m.coefficient_standard_errors_[p][f"channel={level}"]
            true = truth[p].get(level, 0.0)
            assert 0 < se < 0.5
            assert abs(est - true) < 4 * se, (p, level, est, true, se)
    for k, true in params.items():
        assert abs(m.params_[k] - true) < 4 * m.standard_errors_[k], (k, m.params_[k])


def test_a_bundle_whose_covariate_spec_was_removed_is_refused(trained, tmp_path):
    import shutil

    from cxml.exceptions import ModelLoadError

    tmp, _ = trained
    copy = tmp_path / "model"
    shutil.copytree(tmp / "model", copy)
    meta_path = copy / "artifacts" / "bundle" / "bundle.json"
    meta = json.loads(meta_path.read_text())
    meta["spec"]["covariates"] = None
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(
        ModelLoadError,
        match=r"bundle.json's covariates \(spec.covariates\) do not match the purchase model's",
    ):
        load_model(copy)


def test_compare_and_evaluate_refuse_covariates_rather_than_fit_plain_models(tmp_path):
    """Neither fits covariate models yet: a config with btyd.covariates is refused in one line
    (it used to be compared and evaluated as the plain model, silently)."""
    from cxml.pipelines import compare, evaluate_config, load_config

    cfg = load_config(
        write_config(
            tmp_path,
            **{
                "data.customers": "c.csv",
                "btyd.covariates": {"purchase": ["cohort"]},
                "compare": {"candidates": [{"name": "bgnbd"}, {"name": "pnbd"}]},
            },
        )
    )
    with pytest.raises(ConfigError, match=r"candidate\(s\) bgnbd, pnbd use btyd.covariates"):
        compare(cfg, tracking_uri=f"sqlite:///{tmp_path / 'm.db'}")
    with pytest.raises(CxmlUserError, match=r"cxml evaluate does not fit covariate models yet"):
        evaluate_config(cfg, tracking_uri=f"sqlite:///{tmp_path / 'm.db'}")
