"""Benchmarks of the Gram-free routes, as ratios within one run.

ratio = baseline time (or memory) / ours (> 1: we are faster or smaller).

1. Gram-free top-k vs the full Gram route at n = 8000 (MNIST-like 784-pixel inputs, RBF,
   median bandwidth): ``spectrum --kernel rbf --top-eigen 200`` (kernel blocks on the fly) vs
   ``spectrum --kernel rbf`` (the 8000² Gram and all its eigenvalues). Rows for the time and
   for the peak RSS; the note gives the curves' largest relative difference for P ≤ K/4.
2. Nyström (M = 4000) vs Gram-free top-k (K = 1000) at n = 60000 (full run only: several
   minutes each): time ratio, and the two curves' largest relative difference for P ≤ 1000.

Every run is a ``kerncurve`` subprocess, so peak RSS (VmHWM of the child, measured through
a small intermediate process) is its own.
"""

import json
import os
import subprocess
import sys
import tempfile
import textwrap

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

_MEASURE = textwrap.dedent("""
    import json, os, subprocess, sys, time
    t0 = time.perf_counter()
    p = subprocess.Popen(sys.argv[2:], stdout=open(sys.argv[1], "w"), stderr=subprocess.DEVNULL)
    _, status, u = os.wait4(p.pid, 0)
    print(json.dumps({"code": os.waitstatus_to_exitcode(status), "seconds": time.perf_counter() - t0,
                      "rss_mb": u.ru_maxrss / 1024}))
""")


def run_kerncurve(args, out_csv):
    """(seconds, peak RSS MB, table as dict of arrays) of one ``kerncurve`` run."""
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-c", _MEASURE, out_csv, sys.executable, "-m", "kerncurve", *args, "-q"],
                       capture_output=True, text=True, env=env, check=True)
    res = json.loads(r.stdout.strip().splitlines()[-1])
    if res["code"] != 0:
        raise RuntimeError(f"kerncurve {' '.join(args)} exited {res['code']}")
    with open(out_csv) as fh:
        lines = [ln for ln in fh.read().splitlines() if ln and not ln.startswith("#")]
    header = lines[0].split(",")
    arr = np.array([[float(v) for v in ln.split(",")] for ln in lines[1:]])
    return res["seconds"], res["rss_mb"], {h: arr[:, i] for i, h in enumerate(header)}


def bench_top_vs_gram(tmp, n, top):
    from make_mnist_like import write

    path = write(os.path.join(tmp, f"m{n}.h5"), n=n, seed=1)
    p = ",".join(str(v) for v in np.unique(np.geomspace(2, top // 4, 10).astype(int)))
    base = ["predict", path, "--kernel", "rbf", "--p", p, "--ridge", "1e-4"]
    t_full, m_full, full = run_kerncurve(base, os.path.join(tmp, "full.csv"))
    t_top, m_top, topk = run_kerncurve(base + ["--top-eigen", str(top)], os.path.join(tmp, "top.csv"))
    diff = float(np.max(np.abs(topk["eg"] / full["eg"] - 1)))
    name = f"Gram-free top-{top} vs full Gram, RBF n={n}"
    return [
        {"name": name + " (time)", "baseline_s": t_full, "ours_s": t_top, "ratio": t_full / t_top,
         "note": f"curves for P <= K/4 within {diff:.1e}"},
        {"name": name + " (peak RSS, MB)", "baseline_s": m_full, "ours_s": m_top, "ratio": m_full / m_top,
         "note": "values in MB, not seconds"},
    ]


def bench_nystrom_vs_top(tmp, n, m, top):
    from make_mnist_like import write

    path = write(os.path.join(tmp, f"m{n}.h5"), n=n, seed=2)
    base = ["predict", path, "--kernel", "rbf", "--p", "10:1000:7", "--ridge", "1e-4"]
    t_ny, m_ny, ny = run_kerncurve(base + ["--landmarks", str(m)], os.path.join(tmp, "ny.csv"))
    t_top, m_top, topk = run_kerncurve(base + ["--top-eigen", str(top)], os.path.join(tmp, "top.csv"))
    diff = np.abs(ny["eg"] / topk["eg"] - 1)
    return [{"name": f"Nystrom M={m} vs Gram-free top-{top}, RBF n={n}", "baseline_s": t_top, "ours_s": t_ny,
             "ratio": t_top / t_ny,
             "note": f"peak RSS {m_ny:.0f} / {m_top:.0f} MB; curves differ by at most {diff.max():.1e} for P <= 1000 "
                     f"(P: {', '.join(f'{int(a)}:{b:.1e}' for a, b in zip(ny['p'], diff))})"}]


def run(quick: bool = True) -> list:
    with tempfile.TemporaryDirectory(prefix="kerncurve-bench-") as tmp:
        if quick:
            return bench_top_vs_gram(tmp, 2000, 100)
        return bench_top_vs_gram(tmp, 8000, 200) + bench_nystrom_vs_top(tmp, 60_000, 4000, 1000)
