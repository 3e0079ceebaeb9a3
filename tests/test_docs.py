"""The examples in README.md and docs/*.md reproduce (tools/doccheck.py; regenerate with --update)."""

import glob
import os
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "tools"))
import doccheck  # noqa: E402

FILES = ["README.md"] + sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "docs", "*.md")))


def test_comparison_tolerates_round_off_only():
    assert doccheck.same(["eg 0.1234567891"], ["eg 0.1234567892"]) is None
    assert doccheck.same(["trace 2.581"], ["trace 2.5814"]) is None  # within the printed digit
    assert doccheck.same(["trace 2.581"], ["trace 2.583"]) is not None
    assert doccheck.same(["n 1797"], ["n 1798"]) is not None  # integers exactly
    assert doccheck.same(["1,0.5,inf"], ["1,0.5,nan"]) is not None
    assert doccheck.same(["a b"], ["a b c"]) is not None
    assert doccheck.same(["residual 4.9e-15"], ["residual 5.5e-15"]) is None  # round-off level


def test_parse_finds_commands_continuations_and_outputs(tmp_path):
    md = tmp_path / "x.md"
    md.write_text("text\n```console\n$ echo a \\\n  b\na b\n$ true\n```\n```console\npip install x\n```\n")
    (block,) = doccheck.parse(str(md))
    assert [e.command for e in block] == ["echo a b", "true"]
    assert block[0].expected == ["a b"] and block[1].expected == []


@pytest.mark.slow
@pytest.mark.parametrize("path", FILES)
def test_examples_reproduce(path):
    failures = doccheck.check_file(os.path.join(ROOT, path))
    assert not failures, "\n\n".join(failures)
