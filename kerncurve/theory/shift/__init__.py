"""Learning curves of kernel ridge regression under distribution shift.

Canatar, Bordelon & Pehlevan, *Out-of-Distribution Generalization in Kernel Regression*,
NeurIPS 2021 (arXiv:2106.02261); the form implemented was derived for kerncurve and reduces
exactly to the clean learning curve when the test measure equals the training measure.
Equations, conventions and measured agreement: docs/theory/shift.md.

Training points are drawn from a measure p over a pool of points, the error is measured
under another measure q over test points. The expensive part is built once as a
`ShiftProblem`; the curves are then cheap functions of P, λ and σ², vectorized over all of
them.

* `problem` — the eigendecomposition under p (a `Spectrum`), the eigenfunctions at the test
  points, the overlap matrix, the off-span residual;
* `curve` — E_g(p→q) and its bias/variance split, the pointwise error e(x), and the
  resolvent form for features that checks them;
* `train_measure` — E_g and its gradient over p (implicit differentiation of κ), and the
  optimization of the training measure;
* `test_measure` — the best and worst test measures: a vertex, or a tilt.
"""

from .curve import ShiftCurve, pointwise_error, shift_curve, shift_curve_features
from .problem import (
    DROP_RTOL,
    NEG_RTOL,
    ShiftProblem,
    check_measure,
    shift_problem_from_features,
    shift_problem_from_gram,
)
from .test_measure import (
    TEST_OBJECTIVES,
    TestMeasureResult,
    kl_divergence,
    optimize_test_measure,
    tilt,
)
from .train_measure import (
    MeasureValue,
    TrainMeasureResult,
    measure_from_theta,
    optimize_train_measure,
    train_measure_value,
)

__all__ = [
    "DROP_RTOL",
    "NEG_RTOL",
    "ShiftProblem",
    "ShiftCurve",
    "check_measure",
    "shift_problem_from_gram",
    "shift_problem_from_features",
    "shift_curve",
    "pointwise_error",
    "shift_curve_features",
    "MeasureValue",
    "train_measure_value",
    "measure_from_theta",
    "TrainMeasureResult",
    "optimize_train_measure",
    "TEST_OBJECTIVES",
    "TestMeasureResult",
    "tilt",
    "kl_divergence",
    "optimize_test_measure",
]
