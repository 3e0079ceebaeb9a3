"""The network commands' shared pieces: the data reader, the option checks, the option parsing."""

import numpy as np
import pytest

from kerncurve.api._network import check_batch, check_network_options, load_network_data
from kerncurve.cli.parsing import parse_lr_grid, parse_sizes
from kerncurve.errors import InputError
from kerncurve.io.nn_data import network_data, read_network_data, split_test

from conftest import write_h5


@pytest.fixture
def nn_file(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((20, 3))
    return write_h5(tmp_path / "nn.h5", inputs=x, targets=x[:, 0], test__inputs=x[:5] + 1, test__targets=x[:5, 1])


def test_reader_takes_the_stored_test_set(nn_file):
    d = read_network_data(nn_file)
    assert d.x.shape == (20, 3) and d.y.shape == (20, 1)
    assert d.x_test.shape == (5, 3) and d.y_test.shape == (5, 1)
    assert d.test_source.endswith(":/test/inputs")
    assert dict(d.describe())["test samples"].startswith("5 ")


def test_reader_splits_by_seed_and_keeps_every_row(tmp_path):
    x = np.arange(40.0).reshape(20, 2)
    path = write_h5(tmp_path / "a.h5", inputs=x, targets=np.arange(20.0))
    a = read_network_data(path, test_frac=0.25, seed=3)
    b = read_network_data(path, test_frac=0.25, seed=3)
    c = read_network_data(path, test_frac=0.25, seed=4)
    assert a.n_test == 5 and a.n_train == 15
    np.testing.assert_array_equal(a.x_test, b.x_test)
    assert not np.array_equal(a.x_test, c.x_test)
    rows = np.sort(np.concatenate([a.y[:, 0], a.y_test[:, 0]]))
    np.testing.assert_array_equal(rows, np.arange(20.0))  # a partition of the rows
    np.testing.assert_array_equal(a.x[:, 0] / 2, a.y[:, 0])  # inputs stay with their targets
    assert read_network_data(path).x_test is None


def test_reader_takes_the_rank_it_is_asked_for(tmp_path):
    path = write_h5(tmp_path / "s.h5", inputs=np.zeros((6, 4, 3)), targets=np.zeros((6, 2)))
    assert read_network_data(path, ndim=3).x.shape == (6, 4, 3)
    with pytest.raises(InputError, match=r"must be 2-D"):
        read_network_data(path)
    flat = write_h5(tmp_path / "f.h5", inputs=np.zeros((6, 3)), targets=np.zeros(6))
    with pytest.raises(InputError, match=r"\(n, S, D\) must be 3-D"):
        read_network_data(flat, ndim=3)


@pytest.mark.parametrize("datasets, words", [
    ({"inputs": np.zeros(5), "targets": np.zeros(5)}, "must be 2-D"),
    ({"inputs": np.zeros((5, 2)), "targets": np.zeros(4)}, "has 4 rows but"),
    ({"inputs": np.zeros((5, 2)), "targets": np.zeros(5), "test__inputs": np.zeros((2, 2))}, "store both"),
    ({"inputs": np.zeros((5, 2)), "targets": np.zeros(5), "test__inputs": np.zeros((2, 3)),
      "test__targets": np.zeros(2)}, "like the training set"),
    ({"inputs": np.zeros((5, 2))}, "not found"),
])
def test_reader_refuses_bad_files(tmp_path, datasets, words):
    path = write_h5(tmp_path / "bad.h5", **datasets)
    with pytest.raises(InputError, match=words):
        read_network_data(path)


def test_test_frac_is_a_fraction_and_not_with_a_stored_test_set(nn_file):
    for bad in (0, 1, 1.5, -0.1):
        with pytest.raises(InputError, match="test_frac"):
            read_network_data(nn_file, test_frac=bad)
    with pytest.raises(InputError, match="own test set"):
        read_network_data(nn_file, test_frac=0.2)
    with pytest.raises(InputError, match="at least 2"):
        split_test(np.zeros((1, 2)), np.zeros((1, 1)), 0.5)


def test_arrays_go_through_the_same_checks():
    x = np.zeros((8, 3))
    d = network_data(x, np.zeros(8), test_frac=0.5)
    assert d.n_train == 4 and d.n_test == 4 and d.source == "arrays"
    with pytest.raises(InputError, match="y has 7 rows"):
        network_data(x, np.zeros(7))
    with pytest.raises(InputError, match="together"):
        network_data(x, np.zeros(8), x_test=x)
    with pytest.raises(InputError, match="not both"):
        network_data(x, np.zeros(8), x, np.zeros(8), test_frac=0.5)
    with pytest.raises(InputError, match="input"):
        load_network_data(None)
    with pytest.raises(InputError, match="not both"):
        load_network_data("file.h5", x=x)


def test_option_checks_canonicalize_and_name_the_parameter():
    got = check_network_options(param="sp, depth-mup", width="32,64", depth=[2, 4], lr=[0.1, 1], steps=5,
                                seeds=2, batch=None, memory="1M", test_frac=0.3, seed=1, alpha=0.5)
    assert got["param"] == ("sp", "depth-mup") and got["width"] == (32, 64) and got["depth"] == (2, 4)
    assert got["memory"] == 1 << 20 and got["lr"].tolist() == [0.1, 1.0]
    for kw, name in [({"param": "foo"}, "param"), ({"param": "sp,sp"}, "param"), ({"width": [0]}, "width"),
                     ({"depth": 0}, "depth"), ({"steps": 0}, "steps"), ({"seeds": 0}, "seeds"),
                     ({"lr": [1, 0]}, "lr"), ({"activation": "sigmoid"}, "activation"),
                     ({"optimizer": "rmsprop"}, "optimizer"), ({"gamma0": 0}, "gamma0"), ({"beta0": -1}, "beta0"),
                     ({"batch": 0}, "batch"), ({"test_frac": 1}, "test_frac"), ({"memory": "lots"}, "memory"),
                     ({"seed": -1}, "seed"), ({"width": [4, 4]}, "width")]:
        with pytest.raises(InputError) as e:
            check_network_options(**kw)
        assert e.value.param == name and name in str(e.value), (kw, str(e.value))
    with pytest.raises(TypeError):
        check_network_options(widths=[3])
    assert check_batch(None, 10) is None and check_batch(10, 10) is None and check_batch(4, 10) == 4
    with pytest.raises(InputError, match="at most the 10"):
        check_batch(11, 10)


def test_cli_parsing_of_sizes_and_learning_rates():
    assert parse_sizes("32,64", "--width") == [32, 64]
    assert parse_sizes("2:32:5", "--depth") == [2, 4, 8, 16, 32]
    np.testing.assert_allclose(parse_lr_grid("0.01:1:3"), [0.01, 0.1, 1.0])
    assert parse_lr_grid("0.5,-1") == [0.5, -1.0]  # the library refuses the negative one
    for text in ("0:1:3", "1:0.1:3", "a:b:c"):
        with pytest.raises(InputError, match="--lr"):
            parse_lr_grid(text)
    with pytest.raises(InputError, match="--width"):
        parse_sizes("0,4", "--width")
