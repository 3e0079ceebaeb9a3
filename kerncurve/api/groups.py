"""Samples in groups (trials of a recording): ``predict``'s ``groups`` and ``heldout_by``.

Every (trial, time) pair is a sample, and the theory's training set is P pairs drawn from
all of them; the default experiment does exactly that and tests on the pairs not drawn.
``heldout_by`` adds a second experiment that asks the neuroscientist's question, how well
the readout does on trials it never saw: each repetition holds out a fraction of the
groups, trains on P samples of the others and tests on every sample of the held-out
groups (columns ``eg_empirical_groups``, ``eg_empirical_groups_sem``).
"""

import numpy as np

from .._validation import check_float
from ..errors import InputError

__all__ = ["group_names", "load_groups", "held_groups", "GROUP_COLUMNS"]

GROUP_COLUMNS = ["eg_empirical_groups", "eg_empirical_groups_sem"]


def group_names(groups, heldout_by):
    """The validated group names (a list) or arrays (a dict), and the held-out name."""
    if groups is None and heldout_by is None:
        return None, None
    if isinstance(groups, dict):
        names = list(groups)
    elif groups is None:
        names = []
    elif isinstance(groups, str):
        names = [g for g in groups.split(",")]
    elif isinstance(groups, (list, tuple)):
        names = list(groups)
    else:
        raise InputError(f"groups must be dataset names like 'trial' (or a dict name → labels), got "
                         f"{type(groups).__name__} {groups!r}", param="groups")
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise InputError(f"groups must be dataset names like 'trial' (or a dict name → labels), got {name!r}",
                             param="groups")
    if heldout_by is not None:
        if not isinstance(heldout_by, str) or not heldout_by.strip():
            raise InputError(f"heldout_by must be a group name like 'trial', got {heldout_by!r}", param="heldout_by")
        if not names:
            names = [heldout_by]
        elif heldout_by not in names:
            raise InputError(f"heldout_by={heldout_by!r} is not one of groups ({', '.join(names)}); hold out by one "
                             "of them", param="heldout_by")
    return (groups if isinstance(groups, dict) else [n.strip() for n in names]), heldout_by


def load_groups(spec, path, n):
    """{name: int64 labels (n,)} from a file's datasets (``spec`` a list) or arrays (a dict)."""
    from ..io.labels import check_labels, read_groups

    if isinstance(spec, dict):
        return {name: check_labels(np.asarray(v), f"groups labels {name!r}", n) for name, v in spec.items()}
    if path is None:
        raise InputError("groups: with a Spectrum, give the labels themselves (groups={'trial': labels}); dataset "
                         "names need an HDF5 input", param="groups")
    return read_groups(path, spec, n)


def held_groups(labels, fraction, p_max, name):
    """(held-out groups per repetition h, groups G), checked so that P samples remain to train on."""
    fraction = check_float(fraction, "heldout_fraction", minimum=0.0, strict=True, maximum=1.0)
    _, counts = np.unique(labels, return_counts=True)
    n_groups = counts.size
    if n_groups < 2:
        raise InputError(f"heldout_by={name!r}: the samples are all in one group; holding out whole groups needs at "
                         "least two", param="heldout_by")
    held = min(max(1, int(round(fraction * n_groups))), n_groups - 1)
    pool = labels.size - int(np.sort(counts)[-held:].sum())
    if p_max > pool:
        raise InputError(f"p={p_max} with heldout_by={name!r}: holding out {held} of {n_groups} groups can leave only "
                         f"{pool} samples to train on; use P ≤ {pool} or a smaller heldout_fraction", param="p")
    return held, n_groups
