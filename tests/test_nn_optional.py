"""kerncurve.nn imports without JAX and says how to install it when a function needs JAX."""

import os
import subprocess
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_without_jax_import_works_and_calls_raise_input_error():
    # a meta-path finder that refuses jax makes "JAX not installed" real in a fresh interpreter
    code = textwrap.dedent("""
        import sys
        class NoJax:
            def find_spec(self, name, path=None, target=None):
                if name == "jax" or name.startswith("jax."):
                    raise ImportError("no jax here")
        sys.meta_path.insert(0, NoJax())
        import numpy as np
        import kerncurve.nn as nn
        from kerncurve.errors import InputError
        assert nn.scaling("depth-mup", 8, 2, 3).lr[1] == 8.0  # pure-numpy parts still work
        x, y = np.zeros((4, 3)), np.zeros(4)
        for call in (lambda: nn.train(x, y), lambda: nn.transfer_sweep(x, y, widths=(4,), depths=(1,)),
                     lambda: nn.coord_check(x, y, widths=(4,), depths=(1,)), lambda: nn.require_jax("transfer")):
            try:
                call()
            except InputError as e:
                assert "needs JAX: pip install 'kerncurve[nn]'" in str(e), e
            else:
                raise AssertionError("no InputError")
        assert "jax" not in sys.modules
        print("ok")
    """)
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
