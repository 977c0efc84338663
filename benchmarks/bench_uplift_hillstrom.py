"""Benchmark: cxml's uplift learners on the Hillstrom e-mail campaign (issue 19, line 5).

Data: ../shared/data/hillstrom_email/hillstrom.parquet (64,000 customers randomised to a
men's e-mail, a women's e-mail or none; `--data PATH` to point elsewhere). Features: the
eight pre-campaign columns (recency, history_segment, history, mens, womens, zip_code,
newbie, channel); string columns go through cxml's frozen categorical encoding.

Protocol (scikit-uplift's pipeline notebook): a 50/50 split, stratified by arm x outcome
(x "spend > 0" for spend), sklearn ``train_test_split(test_size=0.5, random_state=SEED)``
with SEED in --seeds (default 42 0 1 2 3; 42 is the notebook's). Pairwise rows (women's vs
none, men's vs none) split and fit on the rows of those two arms only, as the notebook
does; the 3-arm rows fit one model on all arms of the training half. Metrics on the other
half: uplift@30 % (strategy "overall", the notebook's) and the Qini coefficient
(scikit-uplift's qini_auc_score definition); spend uses UpliftRegressor. Learners run with
their default hyperparameters (no tuning on these splits): the T-, X- and DR-learner (the
DR-learner with 2-fold cross-fitting and ``propensity="shares"``, the campaign's arms being
randomised, as the X-learner's propensity is).

Anchor: the notebook reports uplift@30 % = 0.0661 (0.0660 in its stored output) for
women's e-mail vs none on visits (ClassTransformation + XGBoost, CatBoost encoding).

Policy value: on the evaluation half, the per-customer arm choice of the 3-arm model (the
arm of highest predicted uplift, "No E-Mail" when none is positive) against sending
everyone the single arm with the best mean outcome on the training half; IPW value
(arm shares as propensities) with a 95 % bootstrap CI of the difference (--n-boot).

Run:  .venv/bin/python benchmarks/bench_uplift_hillstrom.py [--seeds 42 0 1 2 3]
      [--learners t x dr] [--n-boot 500] [--output results.csv]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

from cxml.datasets import HILLSTROM_CONTROL, HILLSTROM_FEATURES, HILLSTROM_OUTCOMES
from cxml.targeting import (
    UpliftClassifier,
    UpliftRegressor,
    policy_arm,
    policy_value_ci,
    qini_coefficient,
    uplift_at_k,
    uplift_table,
)

FEATURES = HILLSTROM_FEATURES  # the loader's list: one definition
CONTROL = HILLSTROM_CONTROL
ARMS = {"womens_vs_none": "Womens E-Mail", "mens_vs_none": "Mens E-Mail"}
OUTCOMES = HILLSTROM_OUTCOMES
ANCHOR = 0.0661


def default_data() -> Path:
    here = Path(__file__).resolve().parents[1]
    for root in (here.parent, here.parent.parent):
        p = root / "shared" / "data" / "hillstrom_email" / "hillstrom.parquet"
        if p.is_file():
            return p
    return here.parent / "shared" / "data" / "hillstrom_email" / "hillstrom.parquet"


def split(df: pd.DataFrame, outcome: str, seed: int):
    strata = df["segment"] + "|" + (df[outcome] > 0).astype(str)
    return train_test_split(df, test_size=0.5, random_state=seed, stratify=strata)


def model_for(outcome: str, learner: str):
    klass = UpliftRegressor if outcome == "spend" else UpliftClassifier
    # Randomised arms: the DR-learner takes the known (observed) shares as propensity.
    extra = {"propensity": "shares"} if learner == "dr" else {}
    return klass(control=CONTROL, learner=learner, random_state=0, **extra)


def run(df: pd.DataFrame, seeds, learners, n_boot: int):
    rows, policies = [], []
    for seed in seeds:
        for outcome in OUTCOMES:
            for learner in learners:
                for name, arm in ARMS.items():
                    pair = df[df["segment"].isin([arm, CONTROL])]
                    tr, va = split(pair, outcome, seed)
                    m = model_for(outcome, learner).fit(tr[FEATURES], tr["segment"], tr[outcome])
                    u = m.predict_uplift(va[FEATURES])[arm]
                    t = (va["segment"] == arm).astype(int)
                    rows.append(
                        {
                            "seed": seed,
                            "outcome": outcome,
                            "learner": learner,
                            "comparison": name,
                            "n_eval": len(va),
                            "uplift_at_30": uplift_at_k(va[outcome], u, t, k=0.3),
                            "qini": qini_coefficient(va[outcome], u, t),
                        }
                    )
                tr, va = split(df, outcome, seed)
                m = model_for(outcome, learner).fit(tr[FEATURES], tr["segment"], tr[outcome])
                up = m.predict_uplift(va[FEATURES])
                table = uplift_table(va[outcome], up, va["segment"], control=CONTROL, k=0.3)
                for arm_name, r in table.iterrows():
                    rows.append(
                        {
                            "seed": seed,
                            "outcome": outcome,
                            "learner": learner,
                            "comparison": f"3arm:{arm_name}",
                            "n_eval": int(r["n"]),
                            "uplift_at_30": r["uplift_at_k"],
                            "qini": r["qini"],
                        }
                    )
                best_single = tr.groupby("segment")[outcome].mean().idxmax()
                pi = policy_arm(up, CONTROL)
                res = policy_value_ci(
                    va[outcome], va["segment"], pi, best_single, n_boot=n_boot, random_state=seed
                )
                policies.append(
                    {
                        "seed": seed,
                        "outcome": outcome,
                        "learner": learner,
                        "best_single_arm": best_single,
                        "share_none": float((pi == CONTROL).mean()),
                        "policy_value": res["value"],
                        "single_arm_value": res["baseline_value"],
                        "difference": res["difference"],
                        "ci_low": res["difference_ci"][0],
                        "ci_high": res["difference_ci"][1],
                    }
                )
            print(f"seed {seed} {outcome}: done", flush=True)
    return pd.DataFrame(rows), pd.DataFrame(policies)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=default_data())
    ap.add_argument("--seeds", type=int, nargs="+", default=[42, 0, 1, 2, 3])
    ap.add_argument("--learners", nargs="+", default=["t", "x", "dr"])
    ap.add_argument("--n-boot", type=int, default=500)
    ap.add_argument("--output", type=Path, default=None)
    args = ap.parse_args(argv)
    df = pd.read_parquet(args.data)
    start = time.perf_counter()
    metrics, policies = run(df, args.seeds, args.learners, args.n_boot)
    elapsed = time.perf_counter() - start

    pd.set_option("display.width", 160)
    summary = (
        metrics.groupby(["outcome", "comparison", "learner"])[["uplift_at_30", "qini"]]
        .agg(["min", "median"])
        .round(4)
    )
    print(
        f"\nHillstrom, 50/50 splits stratified by arm x outcome, seeds {args.seeds}; "
        f"min / median over seeds ({elapsed:.0f} s)\n"
    )
    print(summary.to_string())
    anchor = metrics[(metrics["outcome"] == "visit") & (metrics["comparison"] == "womens_vs_none")]
    print(f"\nAnchor (scikit-uplift notebook): uplift@30 % = {ANCHOR} for women's vs none, visits")
    for learner, g in anchor.groupby("learner"):
        seed42 = g.loc[g["seed"] == 42, "uplift_at_30"]
        s42 = f"{seed42.iloc[0]:.4f}" if len(seed42) else "n/a"
        print(
            f"  {learner}-learner: seed 42 {s42}, min {g['uplift_at_30'].min():.4f}, "
            f"median {g['uplift_at_30'].median():.4f}, ratio median/anchor "
            f"{g['uplift_at_30'].median() / ANCHOR:.2f}; beats the anchor on "
            f"{int((g['uplift_at_30'] > ANCHOR).sum())} of {len(g)} seeds"
        )
    print(
        "\nPolicy value (IPW, evaluation half): per-customer arm vs everyone the best single"
        " arm; difference with 95 % bootstrap CI"
    )
    print(policies.round(4).to_string(index=False))
    if args.output is not None:
        metrics.to_csv(args.output, index=False)
        policies.to_csv(args.output.with_name(args.output.stem + "_policy.csv"), index=False)


if __name__ == "__main__":
    main()
