# Usage (from the repository root, needs kerncurve[nn]): python benchmarks/resnet_vs_dmft.py DEPTHS WIDTHS SEEDS [DTYPE]
#   e.g. python benchmarks/resnet_vs_dmft.py 16 256,1024,2048 16 float32  (about 21 minutes on two cores)
# DMFT (main's deep_linear_resnet) vs linear ResNets trained by the network engine (depth-mup, same updates as
# simulate/dmft_resnet.train_resnets), problem of tests/test_theory_dmft_resnet.py (P = 4, D = 8), t <= 3, dt = 0.1
import sys, json, time
import numpy as np
from kerncurve.nn import train
from kerncurve.theory import dmft
sys.path.insert(0, "tests")
from test_theory_dmft_resnet import problem

x, y = problem()
T, dt = 3.0, 0.1
steps = int(round(T / dt))
Ls = [int(a) for a in sys.argv[1].split(",")]
Ns = [int(a) for a in sys.argv[2].split(",")]
seeds = int(sys.argv[3])
dtype = sys.argv[4] if len(sys.argv) > 4 else "float64"
out = []
for L in Ls:
    for g in (0.5, 1.0):
        th = dmft.deep_linear_resnet(dmft.input_kernel(x), y, g, T, dt, depth=L).loss
        for N in Ns:
            t0 = time.time()
            chunk = 4
            loss = np.concatenate([np.asarray(train(x, y, param="depth-mup", width=N, depth=L, lr=dt, activation="linear",
                                                    gamma0=g, steps=steps, seeds=chunk, seed=100 + c, dtype=dtype,
                                                    at=list(range(steps + 1))).train_loss)[0]
                                   for c in range(seeds // chunk)])  # (seeds, steps + 1)
            m, s = loss.mean(0), loss.std(0, ddof=1) / np.sqrt(seeds)
            dev = float(np.max(np.abs(m - th)) / th[0])
            rec = dict(L=L, gamma0=g, N=N, seeds=seeds, dev=dev, sem=float(np.max(s) / th[0]), secs=time.time() - t0)
            out.append(rec)
            print(json.dumps(rec), flush=True)
json.dump(out, open(f"benchmarks/results/resnet_vs_dmft_L{sys.argv[1]}.json", "w"), indent=1)
