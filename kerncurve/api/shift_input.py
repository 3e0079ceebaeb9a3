"""The input of `kerncurve.shift` and `kerncurve.shift_optimize`: a training pool and test points.

Given as an HDF5 file (the schema of `kerncurve.io.shift`) or in memory with the same names::

    kc.shift(train={"features": Xp, "targets": yp, "weights": w}, test={"features": Xq, "targets": yq}, p=...)

``train`` holds ``features`` (linear kernel), ``inputs`` (with ``kernel=``) or ``gram``
(n, n); ``test`` holds ``features``, ``inputs`` or ``gram_cross`` (n_test, n); both hold
``targets`` and optionally ``weights`` (a measure, uniform if absent) and ``groups``
(integer labels, e.g. classes). ``train_groups`` / ``test_groups`` restrict the measures
to some labels. Everything is validated, and the caller's budgets checked on the layout
(`ShiftLayout`), before anything large is read or built.
"""

import os
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

from .._validation import check_array, check_group_selection
from ..errors import InputError

__all__ = ["ShiftData", "ShiftLayout", "load_shift", "SIDES"]

#: the kernel's side of each group, by route
SIDES = {"features": ("features", "features"), "inputs": ("inputs", "inputs"), "gram": ("gram", "gram_cross")}
_OPTIONAL = ("weights", "groups")
_SHAPES = {"features": "(n, d)", "inputs": "(n, d_in)", "gram": "(n, n)", "gram_cross": "(n_test, n_train)"}


class ShiftLayout(NamedTuple):
    """What budgets are computed from: how the kernel is given and the sizes."""

    route: str  # "features", "inputs" or "gram"
    n_train: int
    n_test: int
    dim: int  # feature or input dimension (n_train for Gram blocks)
    channels: int


class ShiftData:
    """Validated contents of a shift input: kernel blocks or features, targets, measures, labels.

    Attributes
    ----------
    gram, cross : ndarray or None
        K_pp (n_p, n_p) and K_qp (n_q, n_p) (Gram blocks, or a built-in kernel's).
    features, test_features : ndarray or None
        Features of pool and test points (linear kernel).
    y_p, y_q : ndarray (n, c)
        Clean targets.
    p, q : ndarray
        Training and test measures (normalized; restricted to the selected groups).
    groups_p, groups_q : ndarray of int64 or None
        Group labels.
    info : dict
        ``source`` and the kernel's resolved hyper-parameters.
    path : str or None
        The input file.
    selection_text : dict
        ``train_groups`` / ``test_groups`` as given, by group (for messages).
    """

    def __init__(self, path=None):
        self.path = path
        self.info = {}
        self.selection_text = {}
        self.gram = self.cross = self.features = self.test_features = None
        self.groups_p = self.groups_q = None

    @property
    def n_train(self):
        return self.y_p.shape[0]

    @property
    def n_test(self):
        return self.y_q.shape[0]

    def blocks(self):
        """(K_pp, K_qp), built from features when needed."""
        if self.gram is not None:
            return self.gram, self.cross
        return self.features @ self.features.T, self.test_features @ self.features.T

    def problem(self):
        """The `ShiftProblem` by the cheapest route (d×d when features have d < n)."""
        from ..theory.shift import shift_problem_from_features, shift_problem_from_gram

        if self.features is not None and self.features.shape[1] < self.n_train:
            return shift_problem_from_features(self.features, self.test_features, self.y_p, self.y_q, self.p, self.q)
        K, C = self.blocks()
        return shift_problem_from_gram(K, C, self.y_p, self.y_q, self.p, self.q)

    def simulate(self, P, ridges, noises, p=None, **kw):
        """`simulate_shift` on these points (training measure ``p``, default this input's)."""
        from ..simulate.shift import simulate_shift

        kind = ({"features": self.features, "test_features": self.test_features} if self.gram is None
                else {"gram": self.gram, "cross": self.cross})
        return simulate_shift(self.y_p, self.y_q, P, ridges, noises, p=self.p if p is None else p, q=self.q,
                              **kind, **kw)


def _fail(group, message):
    raise InputError(f"{group}{message}", param=group)


def _memory_arrays(train, test, kernel):
    """(route, {"train": {role: array}, "test": {...}}, labels) of in-memory arrays, checked."""
    arrays, labels = {}, {}
    route = None
    for group, value in (("train", train), ("test", test)):
        if not isinstance(value, Mapping):
            raise InputError(f"{group} must be a dict of arrays like {{'features': X, 'targets': y}}, got "
                             f"{type(value).__name__}", param=group)
        allowed = {"features", "inputs", "targets", *_OPTIONAL, "gram" if group == "train" else "gram_cross"}
        unknown = sorted(set(value) - allowed)
        if unknown:
            _fail(group, f" has unknown entries {', '.join(map(repr, unknown))}; use {', '.join(sorted(allowed))}")
        sides = [r for r in ("features", "inputs", "gram", "gram_cross") if r in value]
        if kernel is not None:
            sides = [r for r in ("inputs", "features") if r in value][:1]
            if not sides:
                _fail(group, f" needs 'inputs' (or 'features') with kernel={kernel}")
        elif len(sides) != 1 or sides[0] == "inputs":
            _fail(group, " needs exactly one of 'features' or " + ("'gram'" if group == "train" else "'gram_cross'")
                  + " (or 'inputs' with kernel=...)")
        side = sides[0]
        this = "inputs" if kernel is not None else ("gram" if side in ("gram", "gram_cross") else "features")
        if route is not None and this != route:
            _fail(group, f"['{side}'] does not match train's kernel side; give both groups features, or train "
                         "'gram' with test 'gram_cross'")
        route = this
        arrays[group], labels[group] = {}, {}
        for role in (side, "targets", *_OPTIONAL):
            if role not in value or (role in _OPTIONAL and value[role] is None):
                continue
            where = f"{group}['{role}']"
            labels[group][role] = where
            v = value[role]
            if role == "groups":
                arrays[group][role] = np.asarray(v)
                if arrays[group][role].ndim != 1 or arrays[group][role].dtype.kind not in "iuf":
                    _fail(group, f"['groups'] must be a 1-D array of integer group labels (dtype "
                                 f"{arrays[group][role].dtype}, shape {arrays[group][role].shape})")
                continue
            try:
                ndim = (1,) if role == "weights" else (1, 2) if role == "targets" else (2,)
                arrays[group][role] = check_array(v, where, ndim=ndim, what=_SHAPES.get(role, "(n,)"))
            except InputError as exc:
                exc.param = group
                raise
        if "targets" not in arrays[group]:
            _fail(group, " needs 'targets' (n,) or (n, c)")
    return route, arrays, labels


def _layout(route, shapes):
    train, test = shapes["train"], shapes["test"]
    tside, qside = SIDES[route]
    n_p, n_q = train[tside][0], test[qside][0]
    dim = n_p if route == "gram" else train[tside][1]
    y = train["targets"]
    return ShiftLayout(route, int(n_p), int(n_q), int(dim), int(y[1]) if len(y) == 2 else 1)


def _check_shapes(route, shapes, labels, in_memory):
    """Blocks that fit together, one target row (and label) per point, the same channels on both sides."""
    tside, qside = SIDES[route]
    a, b = shapes["train"][tside], shapes["test"][qside]
    n_p, n_q = a[0], b[0]

    def fail(group, message):
        raise InputError(message, param=group if in_memory else None)

    if route == "gram":
        if a[0] != a[1]:
            fail("train", f"{labels['train'][tside]} is not square (shape {a}); a Gram matrix must be n×n")
        if b[1] != n_p:
            fail("test", f"{labels['test'][qside]} has shape {b} but {labels['train'][tside]} has {n_p} points; it "
                         f"must be (n_test, {n_p})")
    elif a[1] != b[1]:
        fail("test", f"{labels['train'][tside]} have dimension {a[1]} but {labels['test'][qside]} {b[1]}; both "
                     "groups need the same dimension")
    for group, n in (("train", n_p), ("test", n_q)):
        y = shapes[group]["targets"]
        if y[0] != n:
            fail(group, f"{labels[group]['targets']} has {y[0]} rows but {group} has {n} points; give one target "
                        "per point")
        g = shapes[group].get("groups")
        if g is not None and g[0] != n:
            fail(group, f"{labels[group]['groups']} has {g[0]} labels but {group} has {n} points; give one label per "
                        "point")
    c = [shapes[group]["targets"][1] if len(shapes[group]["targets"]) == 2 else 1 for group in ("train", "test")]
    if c[0] != c[1]:
        fail("test", f"{labels['train']['targets']} has {c[0]} channels but {labels['test']['targets']} {c[1]}; give "
                     "both the same number of output channels")


def _labels(g, n, where, group):
    """Integer labels (n,) as int64."""
    g = np.asarray(g)
    if g.ndim != 1 or g.shape[0] != n or g.dtype.kind not in "iuf":
        raise InputError(f"{where} must be a 1-D array of {n} integer group labels, one per point (dtype {g.dtype}, "
                         f"shape {g.shape})", param=group)
    if g.dtype.kind == "f" and (not np.all(np.isfinite(g)) or np.any(g != np.round(g)) or np.max(np.abs(g)) >= 2**62):
        raise InputError(f"{where} holds non-integer values; group labels must be integers", param=group)
    return g.astype(np.int64)


def _select(data, group, selection, where):
    """Restrict the measure of ``group`` to the labels of ``selection`` (already validated)."""
    param = f"{group}_groups"
    g = data.groups_p if group == "train" else data.groups_q
    raw = data.p if group == "train" else data.q
    if g is None:
        raise InputError(f"{param} needs group labels, but {where} has no /{group}/groups dataset"
                         if data.path is not None else f"{param} needs group labels, but {group} has no 'groups'",
                         param=param)
    w = raw * np.isin(g, selection)
    if not w.sum() > 0:
        raise InputError(f"{param}={data.selection_text[group]}: no /{group} point with positive weight is in these "
                         f"groups; labels present: {', '.join(map(str, np.unique(g)))}", param=param)
    return w / w.sum()


def load_shift(input=None, *, train=None, test=None, features_key="/features", gram_key="/gram",
               targets_key="/targets", inputs_key="/inputs", kernel=None, bandwidth=None, degree=2, depth=1,
               train_groups=None, test_groups=None, memory=None, check=None):
    """Read and validate a shift input (a file, or ``train`` and ``test`` dicts).

    ``check(layout)`` is called with the `ShiftLayout` once the shapes are known and before
    any array is read or any kernel built: the caller's memory and work budgets.
    """
    from ..kernels import KERNELS
    from ..theory.shift import check_measure

    if kernel is not None and kernel not in KERNELS:
        raise InputError(f"unknown kernel={kernel!r}; choose one of {', '.join(KERNELS)}", param="kernel")
    selections = {}
    for group, sel in (("train", train_groups), ("test", test_groups)):
        if sel is not None:
            selections[group] = (check_group_selection(sel, f"{group}_groups"), sel)
    if input is not None:
        if train is not None or test is not None:
            raise InputError("give either input (an HDF5 file) or train= and test= (dicts of arrays), not both",
                             param="input")
        if not isinstance(input, (str, bytes, os.PathLike)):
            raise InputError(f"input must be a path to an HDF5 file, got {type(input).__name__}", param="input")
        for name, key in (("features_key", features_key), ("gram_key", gram_key), ("targets_key", targets_key),
                          ("inputs_key", inputs_key)):
            if not isinstance(key, str) or not key.strip("/"):
                raise InputError(f"{name} must be a dataset name like '/{name[:-4]}', got {key!r}", param=name)
        from ..io.shift import open_shift

        src = open_shift(input, features_key=features_key, gram_key=gram_key, targets_key=targets_key,
                         inputs_key=inputs_key, kernel=kernel)
        labels = {g: {r: src.where(g, r) for r in src.keys[g]} for g in src.keys}
        route = src.route
        _check_shapes(route, src.shapes, labels, in_memory=False)
        layout = _layout(route, src.shapes)
        if check is not None:
            check(layout)
        from ..io.sizes import memory_budget

        arrays = src.read(memory_budget(memory))
        gram_dtype = src.dtypes["train"].get("gram", np.float64)
        data = ShiftData(os.fspath(input))
        data.info["source"] = src.source
    else:
        if train is None or test is None:
            raise InputError("give input (an HDF5 file with /train and /test) or both train= and test= (dicts of "
                             "arrays)", param="input" if train is None and test is None else
                             ("train" if train is None else "test"))
        route, arrays, labels = _memory_arrays(train, test, kernel)
        shapes = {g: {r: a.shape for r, a in arrays[g].items()} for g in arrays}
        _check_shapes(route, shapes, labels, in_memory=True)
        layout = _layout(route, shapes)
        gram_dtype = np.float64
        if check is not None:
            check(layout)
        data = ShiftData()
        data.info["source"] = f"{kernel} kernel of train and test inputs" if route == "inputs" else (
            "train['gram'], test['gram_cross']" if route == "gram" else "train['features'], test['features']")
    data.selection_text = {g: text for g, (_, text) in selections.items()}
    _fill(data, route, arrays, labels, kernel, bandwidth, degree, depth, gram_dtype)
    for group, n in (("train", data.n_train), ("test", data.n_test)):
        w = arrays[group].get("weights")
        m = check_measure(w, n, labels[group].get("weights", f"{group} weights"), param=group)
        g = arrays[group].get("groups")
        g = None if g is None else _labels(g, n, labels[group]["groups"], group)
        if group == "train":
            data.p, data.groups_p = m, g
        else:
            data.q, data.groups_q = m, g
    for group, (sel, _) in selections.items():
        w = _select(data, group, sel, data.path)
        if group == "train":
            data.p = w
        else:
            data.q = w
    return data


def _fill(data, route, arrays, labels, kernel, bandwidth, degree, depth, gram_dtype):
    """The kernel side (Gram blocks or features) and the targets of ``data``."""
    from ..spectral import check_gram

    tr, te = arrays["train"], arrays["test"]
    if route == "inputs":
        from ..kernels import build_kernel, checked_kernel

        xp, xq = tr["inputs"], te["inputs"]
        data.gram, info = build_kernel(kernel, xp, bandwidth=bandwidth, degree=degree, depth=depth)
        params = {"bandwidth": info.get("bandwidth", bandwidth), "degree": int(degree), "depth": int(depth)}
        data.cross = checked_kernel(kernel, xq, xp, params)
        data.info.update(info)
    elif route == "gram":
        data.gram = check_gram(tr["gram"], gram_dtype, labels["train"]["gram"])
        data.cross = te["gram_cross"]
    else:
        data.features, data.test_features = tr["features"], te["features"]
    data.y_p, data.y_q = (a["targets"][:, None] if a["targets"].ndim == 1 else a["targets"] for a in (tr, te))
