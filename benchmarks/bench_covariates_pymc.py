"""Cross-check (issue 21, line 3): cxml's BG/NBD covariate coefficients against
pymc-marketing's BetaGeoModel fitted by MAP on the same simulated data.

pymc-marketing 1.x needs Python >= 3.12 and brings PyMC and PyTensor, so it lives in its
own virtual environment and runs in a subprocess; it is never a test dependency.

    .venv/bin/python benchmarks/bench_covariates_pymc.py --make-venv   # once (minutes)
    .venv/bin/python benchmarks/bench_covariates_pymc.py [--n 20000] [--venv /tmp/pymc312]

The data are drawn by ``cxml.datasets._simulate._simulate_summary`` in note 019's form
(both libraries use alpha_i = alpha exp(-x g_alpha), a_i = a exp(x g_a), b_i = b exp(x g_b))
with two covariates on both processes. pymc-marketing's MAP maximises the likelihood times
its default priors (Normal(0, 1) on the coefficients), so small differences of the order
of the priors' pull are expected; both tables are printed beside the truth.

Measured (pymc-marketing 1.3.0, 20,000 customers): every coefficient within 0.1 cxml
standard errors of pymc-marketing's MAP (cxml 1.5 s, pymc-marketing 120 s on a busy
2-core machine).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from cxml.datasets._simulate import _simulate_summary
from cxml.models import BetaGeoModel

PARAMS = {"r": 0.8, "alpha": 6.0, "a": 0.9, "b": 3.0}
TRUE = {
    "alpha": {"web": 0.5, "age": -0.3},
    "a": {"web": -0.6, "age": 0.2},
    "b": {"web": 0.3, "age": 0.4},
}
COLS = ["web", "age"]

CHILD = r"""
import json, sys, time, warnings
import pandas as pd
from pymc_marketing import clv
import pymc_marketing

df = pd.read_csv(sys.argv[1])
cols = json.loads(sys.argv[2])
config = {"purchase_covariate_cols": cols, "dropout_covariate_cols": cols}
t0 = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    try:
        model = clv.BetaGeoModel(data=df, model_config=config)
        model.fit(method="map", progressbar=False)
    except TypeError:
        model = clv.BetaGeoModel(model_config=config)
        model.fit(data=df, method="map", progressbar=False)
post = model.fit_result if hasattr(model, "fit_result") else model.idata.posterior
out = {"version": pymc_marketing.__version__, "seconds": time.perf_counter() - t0, "vars": {}}
for name in post.data_vars:
    v = post[name].values.squeeze()
    if v.ndim <= 1 and v.size <= 10:
        out["vars"][name] = [float(x) for x in v.reshape(-1)]
print(json.dumps(out))
"""


def make_venv(venv):
    pythons = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.12.*/bin/python")))
    if not pythons:
        sys.exit("no Python 3.12 under ~/.pyenv/versions; install one or pass --venv")
    subprocess.run([pythons[-1], "-m", "venv", venv], check=True)
    pip = str(Path(venv) / "bin" / "pip")
    subprocess.run([pip, "install", "-q", "pymc-marketing>=1,<2"], check=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--venv", default="/tmp/pymc312")
    ap.add_argument(
        "--make-venv",
        action="store_true",
        help="create the venv with Python 3.12 and install pymc-marketing 1.x",
    )
    args = ap.parse_args()
    if args.make_venv:
        make_venv(args.venv)
    rng = np.random.default_rng(3)
    cov = pd.DataFrame(
        {"web": (rng.uniform(size=args.n) < 0.4).astype(float), "age": rng.standard_normal(args.n)}
    )
    T = 52.0 + rng.integers(0, 26, args.n).astype(float)
    x, tx, T, _ = _simulate_summary(
        args.n, params=PARAMS, T=T, seed=4, coefficients=TRUE, covariates=cov
    )
    t0 = time.perf_counter()
    m = BetaGeoModel(purchase_covariates=COLS, dropout_covariates=COLS).fit(
        x, tx, T, covariates=cov
    )
    t_cxml = time.perf_counter() - t0
    print(f"{args.n:,} simulated customers; cxml fit {t_cxml:.2f} s")
    print(m.summary()[["estimate", "se", "multiplier"]].round(4).to_string())

    python = Path(args.venv) / "bin" / "python"
    if not python.exists():
        print(f"\nno venv at {args.venv}: run with --make-venv to add pymc-marketing")
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rfm.csv"
        pd.DataFrame(
            {
                "customer_id": np.arange(args.n),
                "frequency": x,
                "recency": tx,
                "T": T,
                **{c: cov[c] for c in COLS},
            }
        ).to_csv(path, index=False)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        res = subprocess.run(
            [str(python), "-c", CHILD, str(path), json.dumps(COLS)],
            capture_output=True,
            text=True,
            env=env,
            timeout=3600,
        )
    if res.returncode != 0:
        sys.exit(f"pymc-marketing fit failed:\n{res.stderr[-3000:]}")
    pm = json.loads(res.stdout.strip().splitlines()[-1])
    print(f"\npymc-marketing {pm['version']} MAP fit {pm['seconds']:.1f} s; variables:")
    for name, v in pm["vars"].items():
        print(f"  {name:28s} {np.round(v, 4).tolist()}")
    print("\ncoefficients side by side (columns in order", COLS, "):")
    rows = []
    # pymc-marketing 1.3 names; older releases dropped the "_alpha" suffix.
    names = {
        "alpha": ("purchase_coefficient_alpha", "purchase_coefficient"),
        "a": ("dropout_coefficient_a",),
        "b": ("dropout_coefficient_b",),
    }
    for p, candidates in names.items():
        got = next((pm["vars"][n] for n in candidates if n in pm["vars"]), None)
        for i, c in enumerate(COLS):
            rows.append(
                {
                    "parameter": p,
                    "column": c,
                    "true": TRUE[p][c],
                    "cxml": m.coefficients_[p][c],
                    "cxml_se": m.coefficient_standard_errors_[p][c],
                    "pymc_marketing_map": got[i] if got else float("nan"),
                }
            )
    table = pd.DataFrame(rows)
    table["diff_in_se"] = (table["pymc_marketing_map"] - table["cxml"]) / table["cxml_se"]
    print(table.round(4).to_string(index=False))


if __name__ == "__main__":
    main()
