"""The distribution-shift schema: ``/train`` (the pool training points are drawn from) and
``/test`` (the points the error is measured on), read with the guarded readers of `h5`.

Each group holds the kernel's side and the targets::

    /train/features (n, d)  | /train/inputs (n, d_in) with a kernel | /train/gram (n, n)
    /test/features (m, d)   | /test/inputs (m, d_in)                | /test/gram_cross (m, n)
    /train/targets, /test/targets   (n,) or (n, c), the same c
    /train/weights, /test/weights   optional measure over the group's points (uniform if absent)
    /train/groups, /test/groups     optional integer labels (e.g. classes)

The ``*_key`` options name the dataset *inside* each group (``features_key="/features"``
reads ``/train/features`` and ``/test/features``). `open_shift` checks everything that needs
no data (presence, links, dtype, rank, shapes) so that budgets can be checked before
anything is read; `ShiftSource.read` then reads the arrays.
"""

import os
from dataclasses import dataclass

from ..errors import InputError
from .h5 import check_meta, guard, lookup, open_h5, read_array

__all__ = ["SHIFT_GROUPS", "ShiftSource", "open_shift"]

SHIFT_GROUPS = ("train", "test")

#: (what, ndim, option) of each dataset role, for messages and checks
_ROLES = {
    "features": ("features (n, d)", (2,), "features_key=..."),
    "inputs": ("inputs (n, d_in)", (2,), "inputs_key=..."),
    "gram": ("the Gram (n, n)", (2,), "gram_key=..."),
    "gram_cross": ("the cross Gram (n_test, n_train)", (2,), None),
    "targets": ("targets (n,) or (n, c)", (1, 2), "targets_key=..."),
    "weights": ("the weights (n,)", (1,), None),
}


def _key(key):
    return key.strip("/")


@dataclass(frozen=True)
class ShiftSource:
    """A shift input file, checked but not read.

    Attributes
    ----------
    path : str
    route : {"features", "inputs", "gram"}
        How the kernel is given: features (linear kernel), raw inputs (for a built-in
        kernel), or Gram blocks.
    keys : dict
        ``{"train": {role: dataset path}, "test": {...}}``; roles are the kernel's side
        (``features``, ``inputs``, ``gram`` / ``gram_cross``), ``targets`` and, when present,
        ``weights`` and ``groups``.
    shapes : dict
        The declared shape of each of those datasets, by group and role.
    dtypes : dict
        The stored dtype of the kernel's side of each group (tolerances depend on it).
    source : str
        Where the kernel comes from, for summaries.
    """

    path: str
    route: str
    keys: dict
    shapes: dict
    dtypes: dict
    source: str

    def where(self, group, role):
        """``file:/group/dataset`` of a role, for messages."""
        return f"{self.path}:{self.keys[group][role]}"

    def read(self, memory=None):
        """The arrays, ``{"train": {role: array}, "test": {...}}`` (float64, finite; group labels
        as stored), each checked against ``memory`` bytes before it is read."""
        out = {}
        with open_h5(self.path) as f:
            for group in SHIFT_GROUPS:
                out[group] = {}
                for role, key in self.keys[group].items():
                    if role == "groups":
                        obj = check_meta(f, key, ndim=(1,), what="group labels (n,)")
                        out[group][role] = read_array(f, key, ndim=(1,), dtype=obj.dtype, memory=memory)
                        continue
                    what, ndim, option = _ROLES[role]
                    out[group][role] = read_array(f, key, ndim=ndim, option=option, what=what, memory=memory)
        return out


def _require_group(f, name):
    import h5py

    obj = lookup(f, f"/{name}", kind="group")
    if obj is None or not isinstance(obj, h5py.Group):
        raise InputError(f"group '/{name}' not found in {f.filename!r}; a shift input needs /train and /test groups "
                         "(see docs/shift.md: input)")


def _present(f, key):
    return lookup(f, key) is not None


def _meta(f, key, role):
    what, ndim, option = _ROLES[role]
    return tuple(check_meta(f, key, ndim=ndim, option=option, what=what).shape)


def _dtype(f, key):
    with guard(f.filename, key):
        return f[key].dtype


def _groups_meta(f, key):
    """Shape of an optional labels dataset: 1-D numeric."""
    import h5py

    where = f"{f.filename}:{key}"
    obj = lookup(f, key)
    if not isinstance(obj, h5py.Dataset):
        raise InputError(f"{where} is a group, not a dataset; store the labels as a 1-D integer array")
    if obj.dtype.kind not in "iuf" or obj.ndim != 1:
        raise InputError(f"{where} must be a 1-D array of integer group labels (dtype {obj.dtype}, shape {obj.shape})")
    return tuple(obj.shape)


def open_shift(path, *, features_key="/features", gram_key="/gram", targets_key="/targets", inputs_key="/inputs",
               kernel=None):
    """Check a shift input's layout without reading its data.

    Which kernel: ``kernel`` given → raw inputs at ``inputs_key`` (or ``features_key``) in
    both groups; otherwise ``/train/<gram_key>`` with ``/test/gram_cross`` if present, else
    the features at ``features_key`` in both groups.

    Returns
    -------
    ShiftSource

    Raises
    ------
    InputError
        A missing group or dataset, a damaged one, a wrong dtype or rank. (Whether the shapes
        fit together is checked by the caller, for files and arrays alike.)
    """
    path = os.fspath(path)
    fkey, gkey, tkey, ikey = (_key(k) for k in (features_key, gram_key, targets_key, inputs_key))
    keys = {"train": {}, "test": {}}
    shapes = {"train": {}, "test": {}}
    dtypes = {"train": {}, "test": {}}
    with open_h5(path) as f:
        for name in SHIFT_GROUPS:
            _require_group(f, name)
        if kernel is not None:
            route = "inputs"
            for name in SHIFT_GROUPS:
                key = ikey if _present(f, f"/{name}/{ikey}") else (fkey if _present(f, f"/{name}/{fkey}") else None)
                if key is None:
                    raise InputError(f"kernel={kernel} needs raw inputs, but {path!r} has neither /{name}/{ikey} nor "
                                     f"/{name}/{fkey}; add them or set inputs_key")
                keys[name]["inputs"] = f"/{name}/{key}"
            source = f"{kernel} kernel of /train and /test inputs"
        elif _present(f, f"/train/{gkey}"):
            route = "gram"
            keys["train"]["gram"] = f"/train/{gkey}"
            if not _present(f, "/test/gram_cross"):
                raise InputError(f"dataset '/test/gram_cross' not found in {path!r}; with /train/{gkey} the test "
                                 "group needs the cross Gram K(test, train) of shape (n_test, n_train)")
            keys["test"]["gram_cross"] = "/test/gram_cross"
            source = f"/train/{gkey}, /test/gram_cross"
        elif _present(f, f"/train/{fkey}"):
            route = "features"
            keys["train"]["features"] = f"/train/{fkey}"
            if not _present(f, f"/test/{fkey}"):
                raise InputError(f"dataset '/test/{fkey}' not found in {path!r}; the test group needs features like "
                                 "/train (or set features_key)")
            keys["test"]["features"] = f"/test/{fkey}"
            source = f"/train/{fkey}, /test/{fkey}"
        else:
            raise InputError(f"{path!r} has no /train/{gkey} or /train/{fkey} dataset (and no kernel with "
                             f"/train/{ikey}); see docs/shift.md: input")
        for name in SHIFT_GROUPS:
            role = next(iter(keys[name]))
            shapes[name][role] = _meta(f, keys[name][role], role)
            dtypes[name][role] = _dtype(f, keys[name][role])
            keys[name]["targets"] = f"/{name}/{tkey}"
            shapes[name]["targets"] = _meta(f, keys[name]["targets"], "targets")
        for name in SHIFT_GROUPS:
            if _present(f, f"/{name}/weights"):
                keys[name]["weights"] = f"/{name}/weights"
                shapes[name]["weights"] = _meta(f, keys[name]["weights"], "weights")
            if _present(f, f"/{name}/groups"):
                keys[name]["groups"] = f"/{name}/groups"
                shapes[name]["groups"] = _groups_meta(f, keys[name]["groups"])
    return ShiftSource(path=path, route=route, keys=keys, shapes=shapes, dtypes=dtypes, source=source)
