"""Run one ``kerncurve`` command and record its wall time, CPU time, peak RSS and table as JSON.

    python benchmarks/bench_scale_measure.py OUT.json predict data.h5 --kernel rbf --landmarks 4000 ...

Used for the large-input measurements quoted in docs/scale.md (peak RSS is the child's own,
read through this small intermediate process).
"""

import json
import resource
import subprocess
import sys
import time


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    out, args = argv[0], argv[1:]
    t0 = time.perf_counter()
    p = subprocess.Popen([sys.executable, "-m", "kerncurve", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    stdout, stderr = p.communicate()
    wall = time.perf_counter() - t0
    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    rec = {"args": args, "code": p.returncode, "wall_s": wall, "cpu_s": u.ru_utime + u.ru_stime,
           "peak_rss_mb": u.ru_maxrss / 1024, "stdout": stdout, "stderr": stderr[-4000:]}
    with open(out, "w") as fh:
        json.dump(rec, fh, indent=1)
    print(f"{out}: exit {p.returncode}, {wall:.0f} s wall, {rec['peak_rss_mb']:.0f} MB peak")
    return p.returncode


if __name__ == "__main__":
    sys.exit(main())
