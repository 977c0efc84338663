"""Benchmark: cxml's BTYD models against lifetimes on simulated customers.

For each size, customers are drawn from the BG/NBD + Gamma-Gamma process with the CDNOW
parameters (weeks), first purchases spread over 12 weeks and a 78-week window, recency
and age at day granularity (as cxml.features produces them). BG/NBD and Gamma-Gamma are
fitted by cxml and by lifetimes in the same run, each fit in its own forked process so its
peak RSS can be reported; then P(alive), E[Y(52 weeks)] and 12-month CLV are timed.

With --pareto, Pareto/NBD instead (CDNOW Pareto/NBD parameters, default 200,000
customers): cxml's exact-gradient fit, the same likelihood fitted with a central-difference
gradient (the method used before issue 4), and lifetimes' ParetoNBDFitter.

Run:  .venv/bin/python benchmarks/bench_models.py [--sizes 1000000 5000000]
      [--continuous] [--skip-lifetimes] [--pareto]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import time
import warnings

import numpy as np

from _rss import peak_rss_mb  # benchmarks/_rss.py (this script's directory)
from cxml.clv import customer_lifetime_value
from cxml.datasets._simulate import DEFAULT_PARAMS, DEFAULT_SPEND_PARAMS, _simulate_summary
from cxml.models import BetaGeoModel, GammaGammaModel, ParetoNBDModel
from cxml.models._bgnbd import bgnbd_log_likelihood

_DATA = {}


def make_data(n, seed, continuous):
    rng = np.random.default_rng(seed)
    birth_days = rng.integers(0, 84, n)  # acquisition over 12 weeks
    T = (78 * 7 - birth_days) / 7.0
    x, tx, T = _simulate_summary(n, params=DEFAULT_PARAMS, T=T, seed=seed + 1)
    if not continuous:
        tx = np.minimum(np.floor(tx * 7.0) / 7.0, T)
    # Gamma-Gamma mean spend of the x repeat purchases: sum of x Gamma(p, nu) / x.
    sp = DEFAULT_SPEND_PARAMS
    nu = rng.gamma(sp["q"], 1.0 / sp["v"], n)
    m = np.where(x > 0, rng.gamma(sp["p"] * np.maximum(x, 1), 1.0) / (nu * np.maximum(x, 1)), 0.0)
    return x, tx, T, m


def _child(job, q):
    t0 = time.perf_counter()
    out = job()
    dt = time.perf_counter() - t0
    q.put((dt, out, peak_rss_mb()))


def run_isolated(job):
    """Run ``job`` in a forked process; return (seconds, result, peak RSS MiB)."""
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(job, q))
    p.start()
    res = q.get()
    p.join()
    return res


def fit_cxml_bg():
    x, tx, T, _ = _DATA["d"]
    m = BetaGeoModel().fit(x, tx, T)
    return m.params_


def fit_lt_bg():
    import lifetimes

    x, tx, T, _ = _DATA["d"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = lifetimes.BetaGeoFitter().fit(x, tx, T)
    return {k: float(v) for k, v in f.params_.items()}


def fit_cxml_gg():
    x, _, _, m = _DATA["d"]
    rb = x > 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = GammaGammaModel().fit(x[rb], m[rb])
    return g.params_


def fit_lt_gg():
    import lifetimes

    x, _, _, m = _DATA["d"]
    rb = x > 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = lifetimes.GammaGammaFitter().fit(x[rb], m[rb])
    return {k: float(v) for k, v in g.params_.items()}


def gg_ll(params, x, m):
    from scipy.special import gammaln

    p, q, v = params["p"], params["q"], params["v"]
    return np.sum(
        gammaln(p * x + q)
        - gammaln(p * x)
        - gammaln(q)
        + q * np.log(v)
        + (p * x - 1) * np.log(m)
        + p * x * np.log(x)
        - (p * x + q) * np.log(v + x * m)
    )


PARETO_PARAMS = {"r": 0.5533, "alpha": 10.5776, "s": 0.6062, "beta": 11.6679}


def make_pareto_data(n, seed, continuous):
    rng = np.random.default_rng(seed)
    birth_days = rng.integers(0, 84, n)
    T = (78 * 7 - birth_days) / 7.0
    x, tx, T = _simulate_summary(n, params=PARETO_PARAMS, model="paretonbd", T=T, seed=seed + 1)
    if not continuous:
        tx = np.minimum(np.floor(tx * 7.0) / 7.0, T)
    return x, tx, T


class _CentralDifferenceParetoNBD(ParetoNBDModel):
    """The same likelihood with the gradient by central differences in the
    log-parameters (8 extra likelihood passes), as ParetoNBDModel did before issue 4."""

    def _loglik(self, params, data):
        from cxml.models._paretonbd import _pareto_loglik

        ll = _pareto_loglik(params, data, gradient=False)[0]
        g = np.empty(4)
        for j in range(4):
            up, dn = params.copy(), params.copy()
            up[j] *= np.exp(1e-6)
            dn[j] *= np.exp(-1e-6)
            g[j] = (
                (_pareto_loglik(up, data, False)[0] - _pareto_loglik(dn, data, False)[0])
                / 2e-6
                / params[j]
            )
        return ll, g


def fit_cxml_pareto(cls=ParetoNBDModel):
    x, tx, T = _DATA["p"]
    m = cls().fit(x, tx, T)
    return m.params_, m.log_likelihood_, m.n_iter_


def fit_lt_pareto():
    import lifetimes

    x, tx, T = _DATA["p"]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        f = lifetimes.ParetoNBDFitter().fit(x, tx, T)
    return {k: float(v) for k, v in f.params_.items()}


def main_pareto(args):
    from cxml.models._paretonbd import _pareto_rows

    for n in args.sizes or [200_000]:
        _DATA["p"] = make_pareto_data(n, args.seed, args.continuous)
        x, tx, T = _DATA["p"]
        print(f"\n== Pareto/NBD, {n:,} customers ({(x > 0).sum():,} repeat buyers)")
        t_c, (p_c, ll_c, it_c), rss_c = run_isolated(fit_cxml_pareto)
        print(
            f"cxml exact gradient       {t_c:8.2f} s  {it_c} iterations  peak RSS "
            f"{rss_c:6.0f} MiB  {_fmt(p_c)}  LL {ll_c:.4f}"
        )
        t_f, (p_f, ll_f, it_f), rss_f = run_isolated(
            lambda: fit_cxml_pareto(_CentralDifferenceParetoNBD)
        )
        print(
            f"cxml central differences  {t_f:8.2f} s  {it_f} iterations  peak RSS "
            f"{rss_f:6.0f} MiB  {_fmt(p_f)}  LL {ll_f:.4f}"
        )
        print(f"  exact gradient speed-up x{t_f / t_c:.1f}")
        if not args.skip_lifetimes:
            t_l, p_l, rss_l = run_isolated(fit_lt_pareto)
            ll_l = _pareto_rows(np.array([p_l[k] for k in PARETO_PARAMS]), x, tx, T).sum()
            print(
                f"lifetimes                 {t_l:8.2f} s  peak RSS {rss_l:6.0f} MiB  "
                f"{_fmt(p_l)}  LL {ll_l:.4f}"
            )
            print(f"  speed-up x{t_l / t_c:.1f}; LL cxml - lifetimes = {ll_c - ll_l:+.4f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=None,
        help="customers (default 1,000,000 and 5,000,000; 200,000 with --pareto)",
    )
    ap.add_argument("--pareto", action="store_true", help="benchmark Pareto/NBD fitting")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument(
        "--continuous",
        action="store_true",
        help="keep recency in continuous time (no day rounding, no row merging)",
    )
    ap.add_argument("--skip-lifetimes", action="store_true")
    args = ap.parse_args()
    if args.pareto:
        return main_pareto(args)

    rows = []
    for n in args.sizes or [1_000_000, 5_000_000]:
        t0 = time.perf_counter()
        _DATA["d"] = make_data(n, args.seed, args.continuous)
        x, tx, T, m = _DATA["d"]
        print(
            f"\n== {n:,} customers (simulated in {time.perf_counter() - t0:.1f} s; "
            f"{(x > 0).sum():,} repeat buyers)"
        )
        t_c, p_c, rss_c = run_isolated(fit_cxml_bg)
        print(f"BG/NBD cxml       {t_c:8.2f} s  peak RSS {rss_c:7.0f} MiB  {_fmt(p_c)}")
        t_gc, g_c, rss_gc = run_isolated(fit_cxml_gg)
        print(f"Gamma-Gamma cxml  {t_gc:8.2f} s  peak RSS {rss_gc:7.0f} MiB  {_fmt(g_c)}")
        row = {"n": n, "bg_cxml": t_c, "bg_cxml_rss": rss_c, "gg_cxml": t_gc, "gg_cxml_rss": rss_gc}
        ll_c = bgnbd_log_likelihood(p_c, x, tx, T).sum()
        rb = x > 0
        gl_c = gg_ll(g_c, x[rb], m[rb])
        if not args.skip_lifetimes:
            t_l, p_l, rss_l = run_isolated(fit_lt_bg)
            ll_l = bgnbd_log_likelihood(p_l, x, tx, T).sum()
            print(f"BG/NBD lifetimes  {t_l:8.2f} s  peak RSS {rss_l:7.0f} MiB  {_fmt(p_l)}")
            print(
                f"  speed-up x{t_l / t_c:.1f}; LL cxml - lifetimes = {ll_c - ll_l:+.4f} "
                f"({(ll_c - ll_l) / n:+.2e} per customer)"
            )
            t_gl, g_l, rss_gl = run_isolated(fit_lt_gg)
            gl_l = gg_ll(g_l, x[rb], m[rb])
            print(f"Gamma-Gamma lifetimes {t_gl:8.2f} s  peak RSS {rss_gl:7.0f} MiB  {_fmt(g_l)}")
            print(
                f"  speed-up x{t_gl / t_gc:.1f}; LL cxml - lifetimes = {gl_c - gl_l:+.4f} "
                f"({(gl_c - gl_l) / rb.sum():+.2e} per repeat buyer)"
            )
            row.update(
                bg_lt=t_l,
                bg_lt_rss=rss_l,
                gg_lt=t_gl,
                gg_lt_rss=rss_gl,
                bg_ll_diff=(ll_c - ll_l) / n,
                gg_ll_diff=(gl_c - gl_l) / rb.sum(),
            )
        # Predictions for everyone.
        bg = BetaGeoModel.from_dict(
            {
                "model": "BetaGeoModel",
                "params": p_c,
                "standard_errors": dict.fromkeys(p_c),
                "log_params_covariance": [[0.0] * 4] * 4,
                "log_likelihood": float(ll_c),
            }
        )
        gg = GammaGammaModel.from_dict(
            {
                "model": "GammaGammaModel",
                "params": g_c,
                "standard_errors": dict.fromkeys(g_c),
                "log_params_covariance": [[0.0] * 3] * 3,
                "log_likelihood": float(gl_c),
            }
        )
        t1 = time.perf_counter()
        pa = bg.probability_alive(x, tx, T)
        t2 = time.perf_counter()
        ey = bg.expected_purchases(52.0, x, tx, T)
        t3 = time.perf_counter()
        clv = customer_lifetime_value(
            bg, gg, x, tx, T, m, time_unit="W", horizon_months=12, annual_discount_rate=0.10
        )
        t4 = time.perf_counter()
        assert np.isfinite(pa).all() and np.isfinite(ey).all() and np.isfinite(clv).all()
        print(
            f"predict cxml: P(alive) {t2 - t1:.2f} s, E[Y(52)] {t3 - t2:.2f} s, "
            f"12-month CLV {t4 - t3:.2f} s (total {t4 - t1:.2f} s)"
        )
        row.update(pred_palive=t2 - t1, pred_ey=t3 - t2, pred_clv=t4 - t3)
        if not args.skip_lifetimes:
            lt = bg.to_lifetimes()
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                t5 = time.perf_counter()
                ey_l = lt.conditional_expected_number_of_purchases_up_to_time(52.0, x, tx, T)
                t6 = time.perf_counter()
            ok = np.isfinite(ey_l)
            rel = np.max(np.abs(ey[ok] / ey_l[ok] - 1)) if ok.any() else float("nan")
            print(
                f"predict lifetimes: E[Y(52)] {t6 - t5:.2f} s; max rel. diff {rel:.1e}; "
                f"lifetimes non-finite for {(~ok).sum():,}"
            )
            row.update(pred_ey_lt=t6 - t5)
        rows.append(row)

    print(
        "\n| customers | BG/NBD cxml (s) | BG/NBD lifetimes (s) | speed-up | GG cxml (s) | "
        "GG lifetimes (s) | speed-up | LL diff/customer (BG) | P(alive)+E[Y]+CLV (s) | "
        "peak RSS cxml / lifetimes BG (MiB) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        bl, gl = r.get("bg_lt", float("nan")), r.get("gg_lt", float("nan"))
        print(
            f"| {r['n']:,} | {r['bg_cxml']:.2f} | {bl:.1f} | x{bl / r['bg_cxml']:.0f} | "
            f"{r['gg_cxml']:.2f} | {gl:.1f} | x{gl / r['gg_cxml']:.0f} | "
            f"{r.get('bg_ll_diff', float('nan')):+.1e} | "
            f"{r['pred_palive'] + r['pred_ey'] + r['pred_clv']:.2f} | "
            f"{r['bg_cxml_rss']:.0f} / {r.get('bg_lt_rss', float('nan')):.0f} |"
        )


def _fmt(p):
    return "{" + ", ".join(f"{k}={v:.4f}" for k, v in p.items()) + "}"


if __name__ == "__main__":
    main()
