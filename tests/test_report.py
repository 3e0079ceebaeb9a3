"""kerncurve report / kc.report: structure, numbers read back, same bytes, bad inputs, rendering."""

import base64
import html.parser
import os
import re
import shutil
import subprocess
import time

import h5py
import numpy as np
import pytest

import kerncurve as kc
from conftest import SAMPLES, one_error, write_h5

ARGS = dict(kernel="rbf", p=[5, 12, 30, 80], empirical=True, trials=4, bootstrap=4, seed=3)
CLI = ["--kernel", "rbf", "--p", "5,12,30,80", "--empirical", "--trials", "4", "--bootstrap", "4", "--seed", "3", "-q"]


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    with h5py.File(os.path.join(SAMPLES, "digits.h5")) as f:
        x, y = f["inputs"][:240], f["targets"][:240]
    return str(write_h5(tmp_path_factory.mktemp("rep") / "small.h5", inputs=x, targets=y))


@pytest.fixture(scope="module")
def built(small):
    return kc.report(small, **ARGS)


class _Parser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.sections, self.imgs, self.values, self.cells = [], [], [], {}, []
        self._value, self._cell = None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if tag == "section":
            self.sections.append(a.get("id"))
        if tag == "img":
            self.imgs.append(a)
        if tag == "span" and "data-value" in a:
            self._value = a["data-value"]
        if tag == "td":
            self._cell = ""

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.cells.append(self._cell)
            self._cell = None
        if tag == "span":
            self._value = None

    def handle_data(self, data):
        if self._value:
            self.values[self._value] = data
        if self._cell is not None:
            self._cell += data


def _parse(text):
    p = _Parser()
    p.feed(text)
    p.close()
    return p


def test_structure_figures_and_no_external_urls(built):
    text = built.html
    assert text.startswith("<!DOCTYPE html>")
    p = _parse(text)
    assert p.sections == ["provenance", "spectrum", "curve", "bias", "trust", "tables"]
    assert len(p.imgs) == 4
    for img in p.imgs:
        assert img["src"].startswith("data:image/svg+xml;base64,")
        assert len(img["alt"]) > 40  # a sentence, with numbers
        svg = base64.b64decode(img["src"].split(",", 1)[1]).decode()
        assert "<svg" in svg
    assert "script" not in p.tags
    assert not re.search(r"https?://", text, re.I)  # nothing fetched from anywhere
    assert not re.search(r"(src|href)=\"(?!data:|#)", text)
    assert len(text.encode()) < 2_000_000


def test_numbers_read_back_equal_the_library(built, small):
    p = _parse(built.html)
    spec = kc.spectrum(small, kernel="rbf")
    for key in ("eigenvalue_exponent_b", "target_exponent_a", "effective_dimension"):
        assert float(p.values[key]) == pytest.approx(spec.summary[key], rel=1e-3)
    r = kc.predict(small, **{k: v for k, v in ARGS.items()})
    d = r.to_dict()
    assert built.data.result.columns == r.columns
    cols = list(d)
    table = np.array([float(c) for c in p.cells[-(len(cols) * len(d["p"]) + len(built.summary)):][:len(cols) * len(d["p"])]])
    np.testing.assert_allclose(table.reshape(len(d["p"]), len(cols)), np.column_stack([d[c] for c in cols]),
                               rtol=1e-5, atol=1e-300)
    csv = re.search(r'href="data:text/csv;base64,([^"]+)"', built.html).group(1)
    assert base64.b64decode(csv).decode() == r.to_csv()


def test_same_seed_same_bytes_and_cli_equals_api(built, small, tmp_path, run):
    first = built.html
    assert kc.report(small, **ARGS).html == first
    out = tmp_path / "r.html"
    r = run("report", small, *CLI, "-o", out)
    assert r.exit_code == 0, r.stderr
    assert r.stdout == ""

    def strip(t):  # the reproduce line names the command as it was typed
        return re.sub(r"<pre><code>.*?</code></pre>", "", t, flags=re.S)

    assert strip(out.read_text()) == strip(first)
    stamped = kc.report(small, **ARGS, timestamp=True).html
    assert "made 20" in stamped and strip(stamped) != strip(first)


@pytest.mark.slow
def test_pdf_same_seed_same_bytes(small):
    pdf1 = kc.report(small, **ARGS, format="pdf").content
    pdf2 = kc.report(small, **ARGS, format="pdf").content
    assert pdf1 == pdf2 and pdf1.startswith(b"%PDF")


def test_writes_pdf_and_reproduce_line_runs(small, tmp_path, run):
    out = tmp_path / "r.pdf"
    r = run("report", small, "--kernel", "rbf", "--p", "5,20", "-o", out)
    assert r.exit_code == 0 and out.read_bytes().startswith(b"%PDF")
    built = kc.report(small, kernel="rbf", p=[5, 20], output=tmp_path / "api.html")
    cmd = re.search(r"<pre><code>(.*?)</code></pre>", built.html, re.S).group(1)
    assert cmd.startswith("kerncurve report ") and "--kernel rbf" in cmd and "--p 5,20" in cmd
    assert (tmp_path / "api.html").read_text() == built.html


@pytest.mark.parametrize("args,words", [
    (["-o", "{tmp}/r.txt"], ["--output", ".html or .pdf"]),
    (["-o", "{tmp}/r.html", "--format", "pdf"], ["--format", "disagrees"]),
    (["-o", "{input}"], ["same file as INPUT"]),
    (["-o", "{tmp}/r.html", "--bootstrap", "1"], ["--bootstrap"]),
    (["-o", "{tmp}/r.html", "--p", "0,5"], ["--p"]),
    (["-o", "{tmp}/r.html", "--ridge", "-1"], ["--ridge"]),
    (["-o", "{tmp}/r.html", "--kernel", "nope"], ["--kernel"]),
    (["-o", "{tmp}/r.html", "--p", "5,300", "--empirical"], ["--p"]),
])
def test_bad_inputs(small, tmp_path, run, args, words):
    keep = tmp_path / "r.html"
    keep.write_text("precious\n")
    args = [a.format(tmp=tmp_path, input=small) for a in args]
    if "--p" not in args:
        args += ["--p", "5,20"]
    if "--kernel" not in args:
        args += ["--kernel", "rbf"]
    one_error(run("report", small, *args), *words, keep=keep)


def test_output_is_required_and_api_errors_name_the_parameter(small, run):
    r = run("report", small, "--kernel", "rbf", "--p", "5")
    assert r.exit_code == 2 and "--output" in r.stderr
    for kw, param in [(dict(output="x.csv"), "output"), (dict(format="doc"), "format"), (dict(trials=0), "trials"),
                      (dict(band=1.0, bootstrap=3), "band"), (dict(seed=-1), "seed")]:
        with pytest.raises(ValueError) as e:
            kc.report(small, kernel="rbf", p=[5], **kw)
        assert isinstance(e.value, kc.InputError) and str(e.value).startswith(param), str(e.value)


@pytest.mark.slow
def test_digits_report_size_and_time_beyond_the_computation(tmp_path):
    path = os.path.join(SAMPLES, "digits.h5")
    args = dict(kernel="rbf", p=[10, 17, 28, 47, 78, 130, 217, 300], empirical=True, seed=0)
    t0 = time.process_time()
    kc.predict(path, **args)
    kc.predict(path, kernel="rbf", p=args["p"], ridge="opt")
    compute = time.process_time() - t0
    t0 = time.process_time()
    r = kc.report(path, **args)
    total = time.process_time() - t0
    assert total - compute < 10.0, (total, compute)
    assert len(r.html.encode()) < 2_000_000


def _chromium(html_text, tmp_path, *flags):
    """Run headless Chromium on the page with ``flags`` (skip the test where it is not installed)."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("chromium not installed")
    page = tmp_path / "r.html"
    page.write_text(html_text)
    subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", *flags, page.as_uri()], capture_output=True,
                   timeout=120)


@pytest.mark.slow
def test_renders_in_headless_chromium(built, tmp_path):
    shot = tmp_path / "shot.png"
    _chromium(built.html, tmp_path, "--hide-scrollbars", f"--screenshot={shot}", "--window-size=1000,1600")
    import matplotlib.image as mpimg

    img = mpimg.imread(shot)
    assert img.shape[0] == 1600 and img.shape[1] == 1000
    assert img[..., :3].std() > 0.05  # text and figures, not a blank page


@pytest.mark.slow
def test_prints_with_its_tables_in_headless_chromium(built, tmp_path):
    out = tmp_path / "printed.pdf"
    _chromium(built.html, tmp_path, "--no-pdf-header-footer", f"--print-to-pdf={out}")
    data = out.read_bytes()
    assert data.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page(?!s)", data)) >= 3
    if shutil.which("pdftotext") is None:
        return
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True, timeout=60).stdout
    for col in ("kappa", "eg_empirical_sem", "cumulative_power"):  # the tables are on paper, not only on screen
        assert col in text, col


def test_the_figures_name_no_web_address_either(built):
    sources = re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', built.html)
    assert len(sources) == 4
    for src in sources:
        svg = base64.b64decode(src).decode()
        # only the XML namespace names an SVG image must declare remain
        assert set(re.findall(r"https?://[^\s\"'<>]+", svg)) <= {"http://www.w3.org/2000/svg",
                                                                   "http://www.w3.org/1999/xlink"}
