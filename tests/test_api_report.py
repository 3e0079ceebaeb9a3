"""kc.report: equal to the command line byte for byte, its reproduce line reproduces it, the
numbers are the library's, outputs are atomic and refused before any work, one error per
bad-argument family."""

import html
import os
import re
import shlex
import warnings

import h5py
import numpy as np
import pytest

import kerncurve as kc
from kerncurve.errors import NumericalWarning, OutputError

from api_checks import bad_call, refused_fast
from conftest import SAMPLES, one_error, write_h5

ARGS = dict(kernel="rbf", p=[5, 12, 30], empirical=True, trials=3, seed=5)
CLI = ["--kernel", "rbf", "--p", "5,12,30", "--empirical", "--trials", "3", "--seed", "5", "-q"]


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    with h5py.File(os.path.join(SAMPLES, "digits.h5")) as f:
        x, y = f["inputs"][:200], f["targets"][:200]
    return str(write_h5(tmp_path_factory.mktemp("api_report") / "small.h5", inputs=x, targets=y))


def _reproduce_line(text):
    return html.unescape(re.search(r"<pre><code>(.*?)</code></pre>", text, re.S).group(1))


def test_the_api_and_the_command_line_write_the_same_bytes(small, tmp_path, run):
    out = tmp_path / "r.html"
    api = kc.report(small, output=out, **ARGS)
    first = out.read_bytes()
    assert first == api.html.encode("utf-8")
    r = run("report", small, *CLI, "-o", out)
    assert r.exit_code == 0 and r.stdout == "", r.stderr
    assert out.read_bytes() == first


@pytest.mark.slow
def test_the_api_and_the_command_line_write_the_same_pdf(small, tmp_path, run):
    pdf = tmp_path / "r.pdf"
    api_pdf = kc.report(small, output=pdf, **ARGS).content
    assert run("report", small, *CLI, "-o", pdf).exit_code == 0
    assert pdf.read_bytes() == api_pdf and api_pdf.startswith(b"%PDF")


def test_the_reproduce_line_reproduces_the_report(small, tmp_path, run):
    out = tmp_path / "again.html"
    text = kc.report(small, output=out, ridge=[0.0, 0.012345678901], noise=0.05, bootstrap=3, band=0.8,
                     bandwidth=2.5, **ARGS).html
    words = shlex.split(_reproduce_line(text))
    assert words[:3] == ["kerncurve", "report", small]
    assert "--bandwidth" in words and "0.012345678901" in ",".join(words)  # numbers read back exactly
    assert "--features-key" not in words  # options at their defaults are left out
    out.unlink()
    r = run(*words[1:], "-q")
    assert r.exit_code == 0, r.stderr
    assert out.read_text(encoding="utf-8") == text


def test_the_result_holds_the_library_numbers(small):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumericalWarning)
        rep = kc.report(small, **ARGS)
        ref = kc.predict(small, **ARGS)
    assert rep.format == "html" and rep.content == rep.html and rep.html.startswith("<!DOCTYPE html>")
    assert list(rep.to_dict()) == list(ref.to_dict())
    for col, vals in ref.to_dict().items():
        np.testing.assert_array_equal(rep.to_dict()[col], vals, err_msg=col)
    assert rep.summary == ref.summary
    spec = kc.spectrum(small, kernel="rbf")
    assert rep.data.spectrum_summary == spec.summary
    pdf = kc.report(small, format="pdf", **ARGS)
    with pytest.raises(AttributeError):
        pdf.html  # noqa: B018 - the PDF has no HTML text
    assert pdf.content.startswith(b"%PDF")


def test_library_warnings_go_into_the_report_and_to_the_caller(small):
    with pytest.warns(NumericalWarning, match="exceeds 0.2 n"):
        rep = kc.report(small, kernel="rbf", p=[5, 60])  # 60 > 0.2 · 200
    assert any("exceeds 0.2 n" in w for w in rep.data.warnings)
    assert "exceeds 0.2 n" in html.unescape(rep.html)


def test_a_failed_write_leaves_the_old_report_whole(small, tmp_path, monkeypatch, run):
    out = tmp_path / "keep.html"
    out.write_text("precious\n")

    def full_disk(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OutputError, match="No space left"):
        kc.report(small, output=out, kernel="rbf", p=[5])
    r = run("report", small, "--kernel", "rbf", "--p", "5", "-o", out)
    assert r.exit_code == 1 and r.stderr.strip().count("\n") == 0 and "No space left" in r.stderr
    assert out.read_text() == "precious\n"
    assert sorted(os.listdir(tmp_path)) == ["keep.html"]  # no temporary file left behind


def test_outputs_are_refused_before_any_work(small, tmp_path, monkeypatch, run):
    import kerncurve.reporting as reporting

    def no_work(*a, **k):
        raise AssertionError("the computation started before the output was checked")

    monkeypatch.setattr(reporting, "gather", no_work)
    bad_call(kc.report, "output", input=small, output=small.replace(".h5", ".html").replace("small", "../nowhere/x"),
             kernel="rbf", p=[5])
    bad_call(kc.report, "output", input=small, output=tmp_path, kernel="rbf", p=[5])
    link = tmp_path / "link.html"
    link.symlink_to(small)
    msg = bad_call(kc.report, "output", input=small, output=link, kernel="rbf", p=[5])
    assert "same file" in msg
    refused_fast(run, "report", small, "--kernel", "rbf", "--p", "5", "-o", link)


@pytest.mark.parametrize("kw,param", [
    (dict(input=3), "input"),
    (dict(output=5), "output"),
    (dict(output="r.txt"), "output"),
    (dict(output="r.html", format="pdf"), "format"),
    (dict(format="docx"), "format"),
    (dict(p=[0, 5]), "p"),
    (dict(p="many"), "p"),
    (dict(ridge="opt"), "ridge"),
    (dict(ridge=[-1.0]), "ridge"),
    (dict(noise=float("nan")), "noise"),
    (dict(empirical="yes"), "empirical"),
    (dict(timestamp=1), "timestamp"),
    (dict(trials=0, empirical=True), "trials"),
    (dict(bootstrap=1), "bootstrap"),
    (dict(bootstrap=3, band=1.0), "band"),
    (dict(seed=-1), "seed"),
    (dict(kernel="nope"), "kernel"),
    (dict(bandwidth=-2.0), "bandwidth"),
    (dict(p=[5, 200], empirical=True), "p"),
])
def test_each_bad_argument_names_its_parameter(small, kw, param):
    args = dict(input=small, kernel="rbf", p=[5])
    args.update(kw)
    bad_call(kc.report, param, **args)


def test_bad_inputs_on_the_command_line(small, tmp_path, run):
    cache = tmp_path / "cache.h5"
    assert run("spectrum", small, "--kernel", "rbf", "--save", cache, "-q").exit_code == 0
    keep = tmp_path / "r.html"
    keep.write_text("precious\n")
    one_error(run("report", cache, "--p", "5", "--empirical", "-o", keep), "--empirical", "samples", keep=keep)
    one_error(run("report", tmp_path / "missing.h5", "--p", "5", "-o", keep), "does not exist", keep=keep)
    one_error(run("report", small, "--kernel", "rbf", "--p", "5", "-o", tmp_path / "r.PDF", "--format", "html"),
              "--format", "disagrees")
    one_error(run("report", small, "--kernel", "rbf", "--p", "5", "-o", keep, "--format", "svg"), "--format",
              keep=keep)
    one_error(run("report", small, "--kernel", "rbf", "--p", "5", "-o", keep, "--ridge", "opt"), "--ridge",
              keep=keep)
    # a report from a spectrum cache needs no samples without --empirical
    r = run("report", cache, "--p", "5,20", "-o", tmp_path / "cache.html", "-q")
    assert r.exit_code == 0 and (tmp_path / "cache.html").read_text().count("<figure") == 4
