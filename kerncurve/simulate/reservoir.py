"""A random rate RNN driven by a task, and the codes it produces (neural codes over time).

The network (Bordelon & Pehlevan, eLife 11:e78606, 2022, after Sompolinsky, Crisanti &
Sommers 1988): N rate units with state z (trials, N), rates r = tanh z, and the Euler step::

    z ← z + (Δt/τ)(−z + W r + w_in x_t),     W = g G/√N,  G_ij ~ N(0, 1),  w_in ~ N(0, 1/d_in),

starting from z(0) ~ N(0, 1) independently per trial and unit (a random initial state).
Every trial runs at once (the state is a (trials, N) array); only time steps are a loop.
The rates at steps 0…K−1 of every trial are the samples: sample index = trial·K + step.

The built-in task (`delay_task`) is a cue held then remembered: per trial a stimulus
θ ~ U(−π/2, π/2), input x(t) = θ during the first half of the trial (steps < K/2), zero
after; target y(t) = θ·exp(−(t − t_on)/τ_y) from t_on = ⌊K/2⌋Δt on and zero before
(τ_y = 0 means no decay: the stimulus is held), each target scaled to unit RMS over all
samples.

Random draws, in this order from one generator seeded with ``seed``: θ (trials,), G (N, N),
w_in (N, d_in), z(0) (trials, N). Every gain uses the same draws (common random numbers),
so a gain sweep changes g only.
"""

import numpy as np

from ..errors import InputError

__all__ = ["delay_task", "draw_network", "simulate_rates", "Network"]


class Network:
    """The random draws of one simulation: connectivity G (N, N), input weights (N, d_in),
    initial states (trials, N)."""

    def __init__(self, connectivity, input_weights, initial_state):
        self.connectivity = connectivity
        self.input_weights = input_weights
        self.initial_state = initial_state

    @property
    def n(self):
        return self.connectivity.shape[0]


def delay_task(rng, trials, steps, dt, target_taus):
    """The cue-and-delay task: (θ (trials,), x (trials, steps, 1), y (trials, steps, c)).

    Targets are scaled to unit RMS over all (trial, step) samples; a target that is zero
    everywhere (a single step after the cue and τ_y tiny) is refused.
    """
    theta = rng.uniform(-np.pi / 2, np.pi / 2, trials)
    on = steps // 2
    k = np.arange(steps)
    x = np.where(k[None, :] < on, theta[:, None], 0.0)[:, :, None]
    t = (k - on) * dt
    ys = []
    for tau_y in target_taus:
        with np.errstate(over="ignore", under="ignore"):
            decay = np.ones(steps) if tau_y == 0 else np.exp(-np.maximum(t, 0.0) / tau_y)
        y = theta[:, None] * np.where(k >= on, decay, 0.0)[None, :]
        rms = np.sqrt(np.mean(y**2))
        if not rms > 0:
            raise InputError(f"target_tau={tau_y:g}: the target is zero at every step; give a longer time constant "
                             "or more steps", param="target_tau")
        ys.append(y / rms)
    return theta, x, np.stack(ys, axis=-1)


def draw_network(rng, n, trials, d_in):
    """The connectivity, input weights and initial states (`Network`), in the documented order."""
    connectivity = rng.standard_normal((n, n))
    input_weights = rng.standard_normal((n, d_in)) / np.sqrt(d_in)
    initial_state = rng.standard_normal((trials, n))
    return Network(connectivity, input_weights, initial_state)


def simulate_rates(network, x, gain, dt, tau, out=None):
    """Rates r (trials, steps, N) of the network at gain g driven by inputs x (trials, steps, d_in).

    Vectorized over trials and units; the loop runs over time steps only. ``out`` may be a
    preallocated (trials, steps, N) array.
    """
    trials, steps, _ = x.shape
    n = network.n
    rates = np.empty((trials, steps, n)) if out is None else out
    coupling = network.connectivity.T * (gain / np.sqrt(n))  # r @ coupling = (W r)ᵀ row by row
    w_in = network.input_weights.T  # (d_in, N)
    a = dt / tau
    z = network.initial_state.copy()
    r = np.tanh(z)
    rates[:, 0] = r
    for t in range(1, steps):
        z += a * (r @ coupling + x[:, t] @ w_in - z)
        np.tanh(z, out=r)
        rates[:, t] = r
    return rates
