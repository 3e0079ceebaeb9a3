"""Run every benchmark and print each as a ratio against its baseline measured in the same run.

    python benchmarks/run.py            # full sizes (the README's numbers)
    python benchmarks/run.py --quick    # small sizes, a smoke run
    python benchmarks/run.py predict sgd   # only some modules

Each ``bench_*.py`` module exposes ``run(quick) -> list of dict`` with keys name,
baseline_s, ours_s, ratio (baseline time / our time: > 1 means we are faster) and note.
``bench_transfer`` (the JAX training engine) needs the extra ``kerncurve[nn]`` and returns no
rows without JAX.
"""

import argparse
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("only", nargs="*", help="benchmark names (bench_NAME.py) to run")
    ap.add_argument("--quick", action="store_true", help="small sizes")
    args = ap.parse_args(argv)
    names = sorted(f[6:-3] for f in os.listdir(HERE) if f.startswith("bench_") and f.endswith(".py"))
    if args.only:
        names = [n for n in names if n in args.only]
    print(f"{'benchmark':58s} {'baseline s':>11s} {'ours s':>9s} {'ratio':>8s}  note")
    for name in names:
        spec = importlib.util.spec_from_file_location(f"bench_{name}", os.path.join(HERE, f"bench_{name}.py"))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        for row in mod.run(args.quick):
            print(f"{row['name'][:58]:58s} {row['baseline_s']:11.4f} {row['ours_s']:9.4f} {row['ratio']:8.2f}  {row['note']}",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
