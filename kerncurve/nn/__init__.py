"""Network-training engine in JAX (extra ``kerncurve[nn]``): residual MLPs under sp, μP and depth-μP.

Importing this package does not import JAX; the functions that train networks raise
`kerncurve.errors.InputError` ("... needs JAX: pip install 'kerncurve[nn]'") when it is missing.
"""

from kerncurve.nn._jax import require_jax
from kerncurve.nn.scaling import ACTIVATIONS, OPTIMIZERS, PARAMS, Scaling, scaling
from kerncurve.nn.train import TrainResult, train, train_linearized

__all__ = ["require_jax", "PARAMS", "OPTIMIZERS", "ACTIVATIONS", "Scaling", "scaling",
           "TrainResult", "train", "train_linearized"]
