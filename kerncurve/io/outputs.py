"""Outputs that finish or fail loudly, and never touch an input.

Every file a command writes goes through here:

* `plan_outputs` resolves each output path before any work (symlinks followed) and refuses
  one that names an input or another output, a missing or read-only folder, a folder, an
  empty or over-long name;
* `write_bytes` writes a file atomically: the content, rendered in memory beforehand, goes
  to a temporary file beside the target (flushed to disk), which then replaces the target
  by rename, so a failed or interrupted run leaves the old file intact. The replacement
  keeps an existing file's permission bits (and owner where allowed); a symlink's target is
  updated, not the link; special files (``/dev/stdout``, FIFOs, character devices) are
  written through;
* `write_stdout` writes the table with checked writes, so a short write is an error, not
  a silent truncation.

Temporary files are registered while they exist; `remove_temporaries` deletes them (the
command line calls it from its signal handlers).
"""

import errno
import os
import secrets
import stat
import sys
from dataclasses import dataclass

from ..errors import InputError, OutputError

__all__ = [
    "OutputTarget",
    "resolve_output",
    "plan_outputs",
    "write_bytes",
    "write_stdout",
    "remove_temporaries",
    "TEMP_PREFIX",
]

TEMP_PREFIX = ".kerncurve-"
_LIVE = set()  # temporary files that exist right now


@dataclass(frozen=True)
class OutputTarget:
    """An output path resolved before any work.

    Attributes
    ----------
    option, path : str
        The option that names it and the path as given.
    real : str
        The file that will be written (symlinks resolved).
    special : bool
        A character device, FIFO or socket: written through, never replaced.
    mode, uid, gid : int or None
        Of the existing regular file that will be replaced (kept), else None.
    """

    option: str
    path: str
    real: str
    special: bool = False
    mode: int = None
    uid: int = None
    gid: int = None


def _name_max(folder):
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        return 255


def resolve_output(path, option="-o/--output"):
    """Validate an output path and say how it will be written (`OutputTarget`).

    Raises
    ------
    InputError
        Empty name, a folder, a missing or unwritable folder, a name too long for the
        file system.
    """
    if isinstance(path, OutputTarget):
        return path
    path = os.fspath(path)
    if path == "":
        raise InputError(f"{option}: the file name is empty; give a path", param=_param(option))
    if path.endswith(os.sep) or os.path.isdir(path):
        raise InputError(f"{option}: {path!r} is a folder; give a file name", param=_param(option))
    real = os.path.realpath(path)
    try:
        st = os.stat(real)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise InputError(f"{option}: cannot use {path!r}: {exc.strerror}", param=_param(option)) from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        if stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode) or stat.S_ISSOCK(st.st_mode):
            if not os.access(real, os.W_OK):
                raise InputError(f"{option}: {path!r} is not writable", param=_param(option))
            return OutputTarget(option, path, real, special=True)
        raise InputError(f"{option}: {path!r} is not a regular file; give a file name", param=_param(option))
    folder = os.path.dirname(real) or "."
    if not os.path.isdir(folder):
        raise InputError(f"{option}: folder {os.path.dirname(os.path.abspath(path))!r} does not exist; "
                         "create it or choose another path", param=_param(option))
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"{option}: folder {folder!r} is not writable (permission denied); choose another path",
                         param=_param(option))
    _probe(folder, option)
    name = os.path.basename(real)
    limit = _name_max(folder)
    if len(os.fsencode(name)) > limit or len(os.fsencode(TEMP_PREFIX + name)) + 9 > limit:
        raise InputError(f"{option}: file name {name[:40]!r}… is too long for this file system "
                         f"(at most {limit - len(TEMP_PREFIX) - 9} bytes); choose a shorter name", param=_param(option))
    if st is None:
        return OutputTarget(option, path, real)
    return OutputTarget(option, path, real, mode=stat.S_IMODE(st.st_mode), uid=st.st_uid, gid=st.st_gid)


def _probe(folder, option):
    """Create and remove a file in ``folder``: the only sure test that it takes new files
    (permission bits do not tell for root, read-only mounts or special file systems)."""
    try:
        tmp, fd = _new_temp(folder, ".probe")
    except OSError as exc:
        raise InputError(f"{option}: cannot create files in folder {folder!r} ({exc.strerror or exc}); choose "
                         "another path", param=_param(option)) from None
    os.close(fd)
    _discard(tmp)


def _param(option):
    # "-o/--output" -> "output", "--modes-output" -> "modes_output"
    return option.split("/")[-1].lstrip("-").replace("-", "_")


def _same(a, b):
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def plan_outputs(outputs, inputs=()):
    """Resolve every output and refuse any that would overwrite an input or another output.

    Parameters
    ----------
    outputs : iterable of (option, path)
        ``path`` None means the option was not given.
    inputs : iterable of (label, path)
        Files read by the command.

    Returns
    -------
    dict
        option → `OutputTarget`.
    """
    targets = {}
    for option, path in outputs:
        if path is None:
            continue
        t = resolve_output(path, option)
        path = t.path
        for label, inp in inputs:
            if inp is None:
                continue
            inp_real = os.path.realpath(os.fspath(inp))
            if _same(t.real, inp_real) or (not t.special and t.real == inp_real):
                raise InputError(f"{option} {path!r} is the same file as {label} {os.fspath(inp)!r}; writing it "
                                 "would destroy the input: choose another output path", param=_param(option))
        for other in targets.values():
            if t.special and other.special:
                continue  # e.g. two outputs to /dev/null
            if t.real == other.real or _same(t.real, other.real):
                raise InputError(f"{option} {path!r} and {other.option} {other.path!r} name the same file; one "
                                 "would overwrite the other: give them different paths", param=_param(option))
        targets[option] = t
    return targets


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:  # pragma: no cover - os.write raises instead on every platform we know
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        view = view[written:]


def _new_temp(folder, suffix):
    for _ in range(100):
        tmp = os.path.join(folder, f"{TEMP_PREFIX}{secrets.token_hex(4)}{suffix}")
        _LIVE.add(tmp)  # registered before it exists: a signal in between removes nothing
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            return tmp, fd
        except FileExistsError:
            _LIVE.discard(tmp)
    raise OSError(errno.EEXIST, "could not create a temporary file")  # pragma: no cover


def _discard(tmp):
    try:
        os.unlink(tmp)
    except OSError:
        pass
    _LIVE.discard(tmp)


def write_bytes(target, data, option="-o/--output"):
    """Write ``data`` to an output atomically (or through a special file).

    Parameters
    ----------
    target : OutputTarget or path
        A path is resolved first (`resolve_output`).
    data : bytes

    Raises
    ------
    OutputError
        The write failed (disk full, I/O error); an existing file is left untouched and no
        temporary file remains.
    """
    if not isinstance(target, OutputTarget):
        target = resolve_output(target, option)
    what = f"{target.option} {target.path!r}"
    if target.special:
        try:
            fd = os.open(target.real, os.O_WRONLY)
            try:
                _write_all(fd, data)
            finally:
                os.close(fd)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise OutputError(f"could not write {what}: {exc.strerror or exc}") from None
        return
    folder = os.path.dirname(target.real) or "."
    tmp = None
    try:
        tmp, fd = _new_temp(folder, os.path.splitext(target.real)[1])
        try:
            _write_all(fd, data)
            os.fsync(fd)
            if target.mode is not None:
                os.fchmod(fd, target.mode)
                if target.uid is not None and (target.uid, target.gid) != (os.getuid(), os.getgid()):
                    try:
                        os.fchown(fd, target.uid, target.gid)
                    except OSError:
                        pass  # only root may give a file away; the mode is kept regardless
            else:
                umask = os.umask(0)
                os.umask(umask)
                os.fchmod(fd, 0o666 & ~umask)
        finally:
            os.close(fd)
        os.replace(tmp, target.real)
        _LIVE.discard(tmp)
        tmp = None
    except OSError as exc:
        raise OutputError(f"could not write {what}: {exc.strerror or exc}") from None
    finally:
        if tmp is not None:
            _discard(tmp)


def remove_temporaries():
    """Delete every temporary file that a write in progress holds (signal-safe enough)."""
    for tmp in list(_LIVE):
        try:
            os.unlink(tmp)
        except OSError:
            pass
        _LIVE.discard(tmp)


def write_stdout(text):
    """Write ``text`` to standard output with checked writes.

    Raises
    ------
    BrokenPipeError
        The reader went away (the command line exits 0 quietly).
    OutputError
        Standard output is closed or the write failed (disk full): never a silent
        truncation.
    """
    stream = sys.stdout
    if stream is None or getattr(stream, "closed", False) or _STDOUT_CLOSED[0]:
        raise OutputError("could not write the table to stdout: standard output is closed; write it with -o FILE")
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        fd = None
    data = text.encode("utf-8")
    try:
        if fd is None or stream is not sys.__stdout__:
            stream.write(text)  # a captured stream (tests, notebooks)
            stream.flush()
            return
        stream.flush()
        _write_all(fd, data)
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise OutputError(f"could not write the table to stdout: {exc.strerror or exc}") from None


_STDOUT_CLOSED = [False]


def mark_stdout_closed(closed=True):
    """Record that standard output was closed when the process started."""
    _STDOUT_CLOSED[0] = bool(closed)
