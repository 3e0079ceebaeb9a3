"""What a report costs beyond the computation it shows, and its size.

    python benchmarks/bench_report.py [--repeat 3] [--format html|pdf]

Times, best of ``--repeat`` (interleaved, so that both see the same machine load), (a) the
library calls the report is built on, made directly: the spectrum, ``kc.predict`` with the
experiment and the ridge-optimal curve; (b) ``kc.report`` on the same arguments (the
digits report of the README: rbf kernel, P = 10…300 at 8 sizes, 20-trial experiment). The
difference (b) − (a) is the report's own time: figures, the spectral-bias map, the page.
Prints one JSON line with both times in seconds, the difference and the document's size.
"""

import argparse
import json
import os
import sys
import time
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import kerncurve as kc  # noqa: E402
from kerncurve.api.spectrum import load_input  # noqa: E402

INPUT = os.path.join(ROOT, "sample_data", "digits.h5")
P = [10, 16, 26, 43, 70, 114, 185, 300]  # --p 10:300:8


def computation():
    problem, spec = load_input(INPUT, kernel="rbf", samples=True)
    kc.predict(spec, p=P, empirical=True, _problem=problem)
    kc.predict(spec, p=P, ridge="opt")


def measure(repeat=3, fmt="html"):
    """{computation_s, report_s, beyond_computation_s, bytes}: best times of ``repeat`` rounds."""
    best_compute = best_report = float("inf")
    size = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", kc.KerncurveWarning)
        for _ in range(repeat):
            t0 = time.perf_counter()
            computation()
            best_compute = min(best_compute, time.perf_counter() - t0)
            t0 = time.perf_counter()
            rep = kc.report(INPUT, kernel="rbf", p=P, empirical=True, format=fmt)
            best_report = min(best_report, time.perf_counter() - t0)
            content = rep.content.encode("utf-8") if isinstance(rep.content, str) else rep.content
            size = len(content)
    return {"format": fmt, "computation_s": round(best_compute, 3), "report_s": round(best_report, 3),
            "beyond_computation_s": round(best_report - best_compute, 3), "bytes": size}


def run(quick=True):
    """For benchmarks/run.py: the computation as the baseline, the whole report as ours."""
    m = measure(1 if quick else 3)
    return [{"name": "report digits rbf P=10..300 x8 --empirical (html)", "baseline_s": m["computation_s"],
             "ours_s": m["report_s"], "ratio": m["computation_s"] / m["report_s"],
             "note": f"baseline = the library calls alone; the report's own time is the difference; "
                     f"{m['bytes'] / 1e6:.2f} MB"}]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--format", choices=["html", "pdf"], default="html")
    args = ap.parse_args(argv)
    print(json.dumps(measure(args.repeat, args.format)))


if __name__ == "__main__":
    main()
