"""Run the ``console`` examples of README.md and docs/*.md and compare them with what is written.

A console block is a fenced ```console block; its commands are the lines starting with
``$ `` (a trailing backslash continues a command on the next line) and each command's
expected output is the text up to the next command. Blocks without any output are
illustrations (install commands, commands on files that are not shipped) and are skipped.

Each command runs under bash in a scratch folder that holds ``sample_data`` (a link to the
repository's) and empty ``docs/img``, so examples that write files write them there; stderr
and stdout are captured together, as a terminal shows them. Outputs are compared token by
token (words, and numbers split on commas and spaces): words exactly, integers exactly, and
decimals to a relative 1e-6, one unit in their last printed digit, or an absolute 1e-10,
whichever is largest, so that round-off does not fail the check.

Python examples: the ```python blocks of a file run in order in one namespace (in the same
kind of scratch folder); a ```text block right after a python block is what that block
prints, compared the same way.

    python tools/doccheck.py README.md docs/*.md          # check
    python tools/doccheck.py --update docs/shift.md       # rewrite the outputs from a run
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FENCE = re.compile(r"^```console\s*$")
_NUM = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
RTOL = 1e-6
ATOL = 1e-10  # round-off-level figures (κ residuals ~1e-15) are noise, not results


class Example:
    """One command of a console block and its expected output (line numbers are 0-based)."""

    def __init__(self, path, command, expected, out_start, out_stop):
        self.path = path
        self.command = command
        self.expected = expected
        self.out_start = out_start
        self.out_stop = out_stop

    def __repr__(self):
        return f"{os.path.relpath(self.path, ROOT)}: $ {self.command[:70]}"


def parse(path):
    """The examples of a markdown file, grouped by block: list of lists of `Example`."""
    lines = open(path, encoding="utf-8").read().split("\n")
    blocks, i = [], 0
    while i < len(lines):
        if not FENCE.match(lines[i]):
            i += 1
            continue
        j = i + 1
        while j < len(lines) and lines[j].strip() != "```":
            j += 1
        body = list(range(i + 1, j))
        examples, k = [], 0
        while k < len(body):
            line = lines[body[k]]
            if not line.startswith("$ "):
                k += 1
                continue
            cmd = line[2:]
            while cmd.rstrip().endswith("\\") and k + 1 < len(body):
                k += 1
                cmd = cmd.rstrip()[:-1].rstrip() + " " + lines[body[k]].strip()
            start = k + 1
            stop = start
            while stop < len(body) and not lines[body[stop]].startswith("$ "):
                stop += 1
            expected = [lines[body[m]] for m in range(start, stop)]
            lo = body[start] if start < len(body) else j
            hi = body[stop - 1] + 1 if stop > start else lo
            examples.append(Example(path, cmd.strip(), expected, lo, hi))
            k = stop
        if any(e.expected for e in examples):
            blocks.append(examples)
        i = j + 1
    return blocks


def scratch():
    """A folder with ``sample_data`` linked and an empty ``docs/img``."""
    d = tempfile.mkdtemp(prefix="kerncurve-doccheck-")
    os.symlink(os.path.join(ROOT, "sample_data"), os.path.join(d, "sample_data"))
    os.makedirs(os.path.join(d, "docs", "img"))
    return d


def run(command, cwd, timeout=900):
    """stderr and stdout of a shell command, together, as a terminal shows them."""
    env = dict(os.environ, COLUMNS="200", NO_COLOR="1", TERM="dumb", PYTHONHASHSEED="0")
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    r = subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=cwd, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout)
    text = r.stdout.decode("utf-8", "replace").rstrip("\n")
    return r.returncode, text.split("\n") if text else []


def tokens(lines):
    out = []
    for line in lines:
        out.extend(t for t in re.split(r"[\s,]+", line.strip()) if t)
    return out


def _ulp(tok):
    """One unit in the last printed digit of a decimal token."""
    mant, _, exp = tok.lower().partition("e")
    frac = mant.split(".")[1] if "." in mant else ""
    return 10.0 ** (-len(frac) + (int(exp) if exp else 0))


def same(expected, actual, rtol=RTOL):
    """None if the two outputs agree (see the module docstring), else a description."""
    a, b = tokens(expected), tokens(actual)
    if len(a) != len(b):
        return f"{len(a)} tokens written, {len(b)} produced"
    for x, y in zip(a, b):
        if x == y:
            continue
        if _NUM.match(x) and _NUM.match(y):
            if "." not in x and "e" not in x.lower() and "." not in y and "e" not in y.lower():
                return f"integer {x} written, {y} produced"
            fx, fy = float(x), float(y)
            if abs(fx - fy) <= max(rtol * abs(fx), _ulp(x) * (1 + 1e-9), ATOL):
                continue
            return f"number {x} written, {y} produced"
        if x in ("inf", "nan", "-inf") or y in ("inf", "nan", "-inf"):
            return f"{x} written, {y} produced"
        return f"{x!r} written, {y!r} produced"
    return None


def parse_python(path):
    """[(code, expected lines or None, (start, stop) of the text block's body or None)]."""
    lines = open(path, encoding="utf-8").read().split("\n")
    out, i = [], 0
    while i < len(lines):
        if lines[i].strip() != "```python":
            i += 1
            continue
        j = i + 1
        while j < len(lines) and lines[j].strip() != "```":
            j += 1
        code = "\n".join(lines[i + 1:j])
        k = j + 1
        while k < len(lines) and not lines[k].strip():
            k += 1
        if k < len(lines) and lines[k].strip() == "```text":
            m = k + 1
            while m < len(lines) and lines[m].strip() != "```":
                m += 1
            out.append((code, lines[k + 1:m], (k + 1, m)))
            i = m + 1
        else:
            out.append((code, None, None))
            i = j + 1
    return out


def check_python(path, update=False):
    """Run a file's python blocks in order; failures as texts (rewrites outputs with ``update``)."""
    import contextlib
    import io

    blocks = parse_python(path)
    if not blocks:
        return []
    failures, new = [], []
    cwd, old = scratch(), os.getcwd()
    namespace = {"__name__": "__doc__"}
    os.chdir(cwd)
    try:
        for n, (code, expected, where) in enumerate(blocks, 1):
            buf = io.StringIO()
            try:
                with contextlib.redirect_stdout(buf):
                    exec(compile(code, f"{os.path.basename(path)}[python block {n}]", "exec"), namespace)
            except Exception as exc:  # noqa: BLE001 - reported as a failure
                failures.append(f"{os.path.relpath(path, ROOT)} python block {n}: {type(exc).__name__}: {exc}")
                break
            out = buf.getvalue().rstrip("\n").split("\n") if buf.getvalue().strip() else []
            if expected is not None:
                new.append((where, out))
                why = None if update else same(expected, out)
                if why:
                    failures.append(f"{os.path.relpath(path, ROOT)} python block {n}: {why}\n" + "\n".join(out))
    finally:
        os.chdir(old)
        shutil.rmtree(cwd, ignore_errors=True)
    if update and new and not failures:
        lines = open(path, encoding="utf-8").read().split("\n")
        for (a, b), out in sorted(new, key=lambda r: -r[0][0]):
            lines[a:b] = out
        with open(path, "w", encoding="utf-8") as fh:
            fh.write("\n".join(lines))
    return failures


def check_file(path, update=False):
    """Run every example of a file; returns a list of failure texts (rewrites it with ``update``)."""
    failures = []
    replacements = []
    for block in parse(path):
        cwd = scratch()
        try:
            for ex in block:
                code, out = run(ex.command, cwd)
                if update:
                    replacements.append((ex, out))
                    continue
                if not ex.expected:
                    continue
                why = same(ex.expected, out)
                if code != 0:
                    why = f"exit status {code}" + (f" ({why})" if why else "")
                if why:
                    failures.append(f"{ex!r}: {why}\n" + "\n".join(out[-15:]))
        finally:
            shutil.rmtree(cwd, ignore_errors=True)
    if update and replacements:
        lines = open(path, encoding="utf-8").read().split("\n")
        for ex, out in sorted(replacements, key=lambda r: -r[0].out_start):
            if not ex.expected:
                continue  # an example written without output stays so
            lines[ex.out_start:ex.out_stop] = out
        with open(path, "w", encoding="utf-8") as fh:
            fh.write("\n".join(lines))
    return failures + check_python(path, update)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="*", help="markdown files [default: README.md docs/*.md]")
    ap.add_argument("--update", action="store_true", help="rewrite the outputs from a fresh run")
    args = ap.parse_args(argv)
    files = args.files or [os.path.join(ROOT, "README.md")] + sorted(
        os.path.join(ROOT, "docs", f) for f in os.listdir(os.path.join(ROOT, "docs")) if f.endswith(".md"))
    bad = 0
    for f in files:
        fails = check_file(f, update=args.update)
        for msg in fails:
            print(msg, file=sys.stderr)
        bad += len(fails)
        print(f"{os.path.relpath(f, ROOT)}: {'updated' if args.update else ('ok' if not fails else f'{len(fails)} differ')}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
