"""Network-training engine in JAX (extra ``kerncurve[nn]``): residual MLPs under sp, μP and depth-μP.

Importing this package does not import JAX; the functions that train networks raise
`kerncurve.errors.InputError` ("... needs JAX: pip install 'kerncurve[nn]'") when it is missing.
"""

from kerncurve.nn._jax import require_jax
from kerncurve.nn.coord import CoordCheck, coord_check, depth_diversity
from kerncurve.nn.scaling import ACTIVATIONS, OPTIMIZERS, PARAMS, Scaling, scaling
from kerncurve.nn.train import TrainResult, train, train_linearized
from kerncurve.nn.transfer import (TransferGrid, lr_spread, memory_estimate, optimal_lr, size_trend,
                                   transfer_sweep, verdict)

__all__ = ["require_jax", "PARAMS", "OPTIMIZERS", "ACTIVATIONS", "Scaling", "scaling",
           "TrainResult", "train", "train_linearized", "TransferGrid", "transfer_sweep",
           "optimal_lr", "lr_spread", "size_trend", "verdict", "memory_estimate", "CoordCheck",
           "coord_check", "depth_diversity"]
