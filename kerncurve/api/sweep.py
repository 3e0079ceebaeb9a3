"""``predict`` over several inputs at once: a sweep (codes at several gains, several recordings…).

Each input gets its own spectrum and curve, exactly as `kerncurve.predict` computes them
alone; the table stacks every input's rows in the order given and adds two trailing
columns: ``input`` (the path) and the inputs' sweep attribute (``gain`` for the files of
`kerncurve.reservoir`), when every input carries it. The summary names, for every
(P, ridge, noise), the input with the smallest predicted E_g (``best``): the optimal gain
per P.
"""

import os

import numpy as np

from .._validation import MAX_POINTS
from ..errors import InputError
from ..spectral import Spectrum

__all__ = ["predict_inputs", "best_per_point"]

MAX_INPUTS = 1000


def _label(inp, i):
    if isinstance(inp, Spectrum):
        return inp.provenance.get("input") or f"<spectrum {i}>"
    return os.fspath(inp)


def _check_inputs(inputs, input_options):
    from ..io.labels import dataset_key, feature_dimension

    if len(inputs) == 0:
        raise InputError("spectrum is an empty list; give at least one input", param="spectrum")
    if len(inputs) > MAX_INPUTS:
        raise InputError(f"spectrum lists {len(inputs)} inputs, more than the {MAX_INPUTS} allowed in one call",
                         param="spectrum")
    for i, inp in enumerate(inputs):
        if not isinstance(inp, (str, bytes, os.PathLike, Spectrum)):
            raise InputError(f"spectrum[{i}] must be a Spectrum or a path to an HDF5 input, got {type(inp).__name__}",
                             param="spectrum")
    keys = [dataset_key(input_options.get("features_key", "/features"))]
    if input_options.get("kernel") is not None:
        keys.insert(0, dataset_key(input_options.get("inputs_key", "/inputs")))
    first = None
    for inp in inputs:
        if isinstance(inp, Spectrum):
            continue
        found = feature_dimension(inp, keys)
        if found is None:
            continue
        if first is None:
            first = (os.fspath(inp), *found)
        elif found[1] != first[2]:
            raise InputError(f"{os.fspath(inp)}: {found[0]} has d = {found[1]} columns but {first[0]} has "
                             f"d = {first[2]}; every input of one call needs the same feature dimension "
                             "(predict them separately)", param="spectrum")


def _sweep_values(inputs, sweep_attr):
    from ..io.labels import read_sweep_value

    if not isinstance(sweep_attr, str) or not sweep_attr:
        raise InputError(f"sweep_attr must be an attribute name like 'gain', got {sweep_attr!r}", param="sweep_attr")
    values = [None if isinstance(inp, Spectrum) else read_sweep_value(inp, sweep_attr) for inp in inputs]
    have = [v is not None for v in values]
    if not any(have):
        return None
    if not all(have):
        missing = _label(inputs[have.index(False)], have.index(False))
        raise InputError(f"{missing} has no root attribute {sweep_attr!r} but other inputs do; give inputs of one "
                         "sweep (or another sweep_attr)", param="sweep_attr")
    return np.array(values, float)


def predict_inputs(inputs, *, sweep_attr="gain", progress=None, **kwargs):
    """`kerncurve.predict` on every input of a list, as one table (see the module docstring).

    Returns a `PredictResult` with attributes ``results`` (one per input, as
    `kerncurve.predict` returns it alone), ``inputs`` (labels) and ``sweep`` (the values of
    ``sweep_attr``, or None). Its ``curve`` and ``spectrum`` are those of the first input.
    """
    from .predict import PredictResult, predict

    inputs = list(inputs)
    for name in ("X", "y", "gram"):
        if kwargs.get(name) is not None:
            raise InputError(f"{name}: arrays go with one Spectrum; a list of inputs takes HDF5 files (or Spectra "
                             "without experiments)", param=name)
    input_options = {k: v for k, v in kwargs.items() if k not in ("p", "ridge", "noise")}
    _check_inputs(inputs, input_options)
    values = _sweep_values(inputs, sweep_attr)
    # one input after the other (each with its own progress bars): one input's samples in memory at a time
    results = [predict(inp, progress=progress, **kwargs) for inp in inputs]
    rows = sum(len(r) for r in results)
    if rows > MAX_POINTS:
        raise InputError(f"the sweep's table would hold {rows} rows, more than the {MAX_POINTS} allowed; use fewer "
                         "inputs or points", param="p")
    labels = [_label(inp, i) for i, inp in enumerate(inputs)]
    columns = list(results[0].columns) + ["input"]
    data = {c: np.concatenate([r.to_dict()[c] for r in results]) for c in results[0].columns}
    data["input"] = np.array([lab for lab, r in zip(labels, results) for _ in range(len(r))], dtype=object)
    if values is not None:
        if sweep_attr in columns:
            raise InputError(f"sweep_attr={sweep_attr!r} is already a column of the table; choose another",
                             param="sweep_attr")
        columns.append(sweep_attr)
        data[sweep_attr] = np.repeat(values, [len(r) for r in results])
    summary = _summary(results, data, labels, values, sweep_attr)
    params = dict(results[0].params)
    params.update(inputs=labels, sweep_attr=sweep_attr if values is not None else None)
    first = results[0]
    return PredictResult("predict", columns, data, int_columns=("p",), summary=summary, params=params,
                         spectrum=first.spectrum, curve=first.curve, results=results, inputs=labels, sweep=values)


def _summary(results, data, labels, values, sweep_attr):
    from .compare import deviation_summary

    summary = {"inputs": len(results), "points": int(data["p"].size),
               "max_residual": float(max(r.summary["max_residual"] for r in results))}
    if values is not None:
        summary["sweep"] = sweep_attr
    summary["best"] = best_per_point(data, labels, values, sweep_attr)
    if "eg_empirical" in data:
        summary.update(deviation_summary(data["eg_heldout"], data["eg_empirical"], data["eg_empirical_sem"]))
    summary["per_input"] = [dict(r.summary) for r in results]
    return summary


def best_per_point(data, labels, values, sweep_attr):
    """[{p, ridge, noise, input, <sweep_attr>, eg}] — the input of smallest E_g per (P, λ, σ²).

    With ``ridge="opt"`` each input has its own ridge: the key is (P, σ²) and the row's
    ridge is reported.
    """
    n_in = len(labels)
    per = data["p"].size // n_in
    p = data["p"][:per]
    ridge = data["ridge"].reshape(n_in, per)
    noise = data["noise"][:per]
    eg = data["eg"].reshape(n_in, per)
    best = []
    with np.errstate(invalid="ignore"):
        filled = np.where(np.isnan(eg), np.inf, eg)
    idx = np.argmin(filled, axis=0)
    for j in range(per):
        i = int(idx[j])
        row = {"p": int(p[j]), "ridge": float(ridge[i, j]), "noise": float(noise[j]), "input": labels[i]}
        if values is not None:
            row[sweep_attr] = float(values[i])
        row["eg"] = float(eg[i, j])
        best.append(row)
    return best
