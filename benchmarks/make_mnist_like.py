"""Write a synthetic MNIST-sized input: n × 784 "images" in [0, 1] and a parity-like target.

    python benchmarks/make_mnist_like.py OUT.h5 [--n 70000] [--seed 0]

Each image is a smooth nonlinear function of 12 latent factors (a random two-layer map
through a sigmoid, plus pixel noise), so that an RBF kernel on the pixels has a decaying
spectrum like real digits; the target is the sign of a random quadratic form of the latent
factors (a ±1 label, as parity on digits). Stored as float32 (n = 70000: 220 MB), written in
blocks of 10000 rows; deterministic under --seed.
"""

import argparse

import h5py
import numpy as np

LATENT, HIDDEN, PIXELS = 12, 64, 784


def write(path, n=70_000, seed=0, block=10_000):
    rng = np.random.default_rng(seed)
    w1 = rng.standard_normal((LATENT, HIDDEN)) / np.sqrt(LATENT)
    w2 = rng.standard_normal((HIDDEN, PIXELS)) * 2.5 / np.sqrt(HIDDEN)
    q = rng.standard_normal((LATENT, LATENT)) / LATENT
    with h5py.File(path, "w") as f:
        xs = f.create_dataset("inputs", shape=(n, PIXELS), dtype=np.float32, chunks=(min(block, n), PIXELS))
        ys = f.create_dataset("targets", shape=(n,), dtype=np.float64)
        for i in range(0, n, block):  # a block of rows at a time: memory stays ~100 MB
            m = min(block, n - i)
            z = rng.standard_normal((m, LATENT))
            img = 1.0 / (1.0 + np.exp(-(np.tanh(z @ w1) @ w2 - 1.0)))
            xs[i:i + m] = np.clip(img + 0.05 * rng.standard_normal((m, PIXELS)), 0, 1).astype(np.float32)
            ys[i:i + m] = np.sign(np.einsum("ij,jk,ik->i", z, q, z) + 1e-12)
        f.attrs["description"] = (f"synthetic MNIST-sized input: {n} images of {PIXELS} pixels from {LATENT} latent "
                                  "factors; target = sign of a random quadratic form of the factors")
        f.attrs["generator"] = "benchmarks/make_mnist_like.py"
    return path


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--n", type=int, default=70_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    write(args.out, args.n, args.seed)


if __name__ == "__main__":
    main()
