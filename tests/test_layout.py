"""The shape of the house: modules a reader can hold, no import cycles, a thin CLI, and a
repository that stands alone (no citations of notes or trackers outside it)."""

import ast
import os
import re
import subprocess

import pytest

from conftest import ROOT

PKG = os.path.join(ROOT, "kerncurve")
MAX_LINES = 450


def _modules():
    for dirpath, _, files in os.walk(PKG):
        for f in files:
            if f.endswith(".py"):
                path = os.path.join(dirpath, f)
                rel = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
                yield (rel[: -len(".__init__")] if rel.endswith(".__init__") else rel), path


def _imports(name, path):
    """Modules of the package imported at module level (not inside functions)."""
    tree = ast.parse(open(path, encoding="utf-8").read())
    pkg = name if path.endswith("__init__.py") else name.rsplit(".", 1)[0]
    out = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("kerncurve")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.startswith("kerncurve"):
                out.add(mod)
                out |= {f"{mod}.{a.name}" for a in node.names}
    return out


def test_no_module_is_longer_than_a_reader_can_hold():
    long = {name: n for name, path in _modules() if (n := sum(1 for _ in open(path, encoding="utf-8"))) > MAX_LINES}
    assert not long, long


def test_no_import_cycles():
    mods = dict(_modules())
    graph = {m: {i for i in _imports(m, p) if i in mods and i != m} for m, p in mods.items()}
    # a package's __init__ re-exporting its submodules is not a cycle with them
    graph = {m: {i for i in deps if not (m.startswith(i + ".") and mods[i].endswith("__init__.py"))}
             for m, deps in graph.items()}
    seen, stack, cycles = {}, [], []

    def visit(m):
        seen[m] = 1
        stack.append(m)
        for d in graph[m]:
            if seen.get(d) == 1:
                cycles.append(stack[stack.index(d):] + [d])
            elif d not in seen:
                visit(d)
        stack.pop()
        seen[m] = 2

    for m in graph:
        if m not in seen:
            visit(m)
    assert not cycles, cycles[:3]


SHARED_CLI = {"common", "options", "parsing", "session", "reporter"}


def test_cli_modules_do_not_import_each_other():
    bad = []
    for name, path in _modules():
        if not name.startswith("kerncurve.cli.") or name.split(".")[-1] in SHARED_CLI:
            continue
        for imp in _imports(name, path):
            parts = imp.split(".")
            if imp.startswith("kerncurve.cli.") and len(parts) > 2 and parts[2] not in SHARED_CLI:
                bad.append((name, imp))
    assert not bad, bad


def test_theory_and_simulation_do_no_io_and_name_no_flags():
    bad = []
    for name, path in _modules():
        if not name.startswith(("kerncurve.theory", "kerncurve.simulate", "kerncurve.spectral", "kerncurve.linalg")):
            continue
        text = open(path, encoding="utf-8").read()
        if re.search(r"^\s*import (h5py|click)|^\s*from (h5py|click)", text, re.M):
            bad.append((name, "imports h5py/click"))
        for m in re.finditer(r"InputError\(\s*f?[\"']\s*(--[a-z][\w-]*)", text):
            bad.append((name, m.group(1)))
    assert not bad, bad


def test_the_repository_stands_alone():
    pattern = r"THEORY(\.md| ?§)|CONTRACT(\.md| ?§)|\.\./shared|[Ii]ssue #?[0-9]+"
    r = subprocess.run(["git", "grep", "-nE", pattern, "--", "kerncurve", "tests", "docs", "benchmarks",
                        "sample_data", "examples", "tools", "README.md", ":!tests/test_layout.py"],
                       cwd=ROOT, capture_output=True, text=True)
    if r.returncode not in (0, 1):
        pytest.skip("not a git checkout")
    assert r.stdout == "", r.stdout[:2000]
