"""Golden outputs: the full --json output of a few commands on tiny fixtures, compared with a
stored copy (numbers to 1e-9 relative, everything else exactly). Regenerate after an intended
change with ``KERNCURVE_REGEN_GOLDEN=1 python -m pytest tests/test_golden.py`` and review the
diff."""

import json
import math
import os

import pytest

from conftest import gaussian_features, write_h5

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden")
REGEN = os.environ.get("KERNCURVE_REGEN_GOLDEN") == "1"


def _features(tmp):
    x, y = gaussian_features(200, 30, seed=1)
    return write_h5(tmp / "features.h5", features=x, targets=y)


def _gram(tmp):
    x, y = gaussian_features(120, 40, seed=2)
    return write_h5(tmp / "gram.h5", gram=x @ x.T, targets=y)


CASES = {
    "spectrum_features": (_features, ["spectrum", "{input}", "--top", "8"]),
    "predict_gram_opt": (_gram, ["predict", "{input}", "--p", "5,10,40", "--ridge", "opt", "--noise", "0.1"]),
    "predict_features_empirical": (_features, ["predict", "{input}", "--p", "5,20", "--ridge", "0,0.01",
                                               "--empirical", "--trials", "3", "--seed", "7"]),
}


def _close(a, b, path="$"):
    if isinstance(a, dict) and isinstance(b, dict):
        assert list(a) == list(b), (path, list(a), list(b))
        for k in a:
            _close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), (path, len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b)):
            _close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, (int, float)) and not isinstance(b, bool):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), (path, a, b)
    else:
        assert a == b, (path, a, b)


@pytest.mark.parametrize("name", list(CASES))
def test_golden_output(run, tmp_path, name):
    make, args = CASES[name]
    path = make(tmp_path)
    r = run(*[a.format(input=path) for a in args], "--json", "-q")
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout.replace(json.dumps(str(path))[1:-1], "<input>"))
    golden = os.path.join(HERE, f"{name}.json")
    if REGEN or not os.path.exists(golden):
        with open(golden, "w") as fh:
            json.dump(out, fh, indent=1, ensure_ascii=False)
            fh.write("\n")
        if not REGEN:
            pytest.fail(f"wrote the missing golden file {golden}; review and commit it")
    _close(json.load(open(golden)), out)
