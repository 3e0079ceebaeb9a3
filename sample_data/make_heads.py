"""Sample sequences for ``kerncurve heads``: ``python sample_data/make_heads.py [OUTDIR]``.

``query_match.h5``: a task where attention matters. Each sequence has S = 8 tokens of
D = 6 features ``[is_query, key one-hot (4), value]``. Token 0 is the query (marker 1, a key
k*, value 0); tokens 1..7 carry random keys other than k* and values ±1, except one random
position j whose key is k*. The target is that token's value: y = value_j. A model that
averages the tokens sees the right value with weight 1/7 only (the best linear fit of the
mean-pooled tokens explains about a seventh of the variance); reading it out needs the query
to attend to the token whose key matches. 512 training and 512 test sequences.

``digits_seq.h5``: the 8×8 handwritten digits of ``digits.h5`` as sequences of 8 tokens,
one per image row: the row's 8 pixels (/16) followed by a one-hot row index (D = 16), since
the attention model has no positional code of its own. ``/targets`` parity (+1 even, −1
odd), ``/labels`` the digit; 1200 training and 597 test images. Needs ``digits.h5`` (written
by ``make_samples.py``) in OUTDIR or beside this file.

Seeded: reproducible bit for bit on one platform.
"""

import os
import sys

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
S, KEYS = 8, 4
N_TRAIN, N_TEST = 512, 512
DIGITS_TRAIN = 1200


def query_match(n, rng):
    """Sequences (n, S, 2 + KEYS) and targets (n,) of the query-matching task."""
    x = np.zeros((n, S, 2 + KEYS))
    query = rng.integers(KEYS, size=n)
    # context keys uniform over the KEYS − 1 keys other than the query's
    other = (query[:, None] + 1 + rng.integers(KEYS - 1, size=(n, S - 1))) % KEYS
    match = rng.integers(1, S, size=n)
    keys = np.concatenate([query[:, None], other], axis=1)
    keys[np.arange(n), match] = query
    values = rng.choice([-1.0, 1.0], size=(n, S))
    values[:, 0] = 0.0
    x[:, 0, 0] = 1.0
    x[np.arange(n)[:, None], np.arange(S)[None, :], 1 + keys] = 1.0
    x[:, :, -1] = values
    return x, values[np.arange(n), match]


def _attrs(f, description, source, license_):
    f.attrs["description"] = description
    f.attrs["source"] = source
    f.attrs["license"] = license_
    f.attrs["generator"] = "sample_data/make_heads.py"


def make_query_match(outdir, seed=0):
    rng = np.random.default_rng(seed)
    x, y = query_match(N_TRAIN + N_TEST, rng)
    path = os.path.join(outdir, "query_match.h5")
    with h5py.File(path, "w") as f:
        f.create_dataset("inputs", data=x[:N_TRAIN].astype(np.float32), compression="gzip", shuffle=True)
        f["targets"] = y[:N_TRAIN]
        f.create_dataset("test/inputs", data=x[N_TRAIN:].astype(np.float32), compression="gzip", shuffle=True)
        f["test/targets"] = y[N_TRAIN:]
        _attrs(f, f"query matching: {N_TRAIN} train + {N_TEST} test sequences of S={S} tokens "
                  f"[is_query, key one-hot ({KEYS}), value]; target = value of the token whose key matches "
                  "the query token's (token 0)", f"synthetic (seed {seed})", "CC0")
    return path


def make_digits_seq(outdir):
    src = os.path.join(outdir, "digits.h5")
    if not os.path.exists(src):
        src = os.path.join(HERE, "digits.h5")
    with h5py.File(src, "r") as f:
        images = f["inputs"][:].reshape(-1, 8, 8)
        labels = f["labels"][:]
        parity = f["targets"][:]
    x = np.concatenate([images, np.broadcast_to(np.eye(8), images.shape)], axis=2)
    path = os.path.join(outdir, "digits_seq.h5")
    with h5py.File(path, "w") as f:
        kw = {"compression": "gzip", "shuffle": True}
        f.create_dataset("inputs", data=x[:DIGITS_TRAIN].astype(np.float32), **kw)
        f["targets"] = parity[:DIGITS_TRAIN]
        f["labels"] = labels[:DIGITS_TRAIN]
        f.create_dataset("test/inputs", data=x[DIGITS_TRAIN:].astype(np.float32), **kw)
        f["test/targets"] = parity[DIGITS_TRAIN:]
        f["test/labels"] = labels[DIGITS_TRAIN:]
        _attrs(f, "8x8 digits as sequences of 8 row tokens: 8 pixels/16 + one-hot row index (D=16); "
                  f"targets = parity (+1 even, -1 odd); {DIGITS_TRAIN} train + {len(x) - DIGITS_TRAIN} test",
               "scikit-learn bundled copy of the UCI Optical Recognition of Handwritten Digits test set",
               "CC BY 4.0 (UCI); scikit-learn BSD-3-Clause")
    return path


def make(outdir):
    """Write ``query_match.h5`` and ``digits_seq.h5`` into ``outdir``; return their paths."""
    return make_query_match(outdir), make_digits_seq(outdir)


if __name__ == "__main__":
    print(*make(sys.argv[1] if len(sys.argv) > 1 else HERE))
