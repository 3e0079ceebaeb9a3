"""The `kerncurve` command line: a click group with one module per subcommand.

Subcommands are imported lazily (``kerncurve --help`` does not import scipy). Every error
the user can fix becomes exactly one ``error:`` line on stderr and exit status 2; an output
that cannot be written (disk full, closed stdout) is one ``error:`` line and exit status 1;
an unexpected failure exits 1 (traceback only with ``--debug``). A closed stdout pipe
(``| head``) ends quietly with status 0 at any point. SIGTERM, SIGHUP and SIGINT remove any
temporary output file before exiting (128 + signal number; 130 for SIGINT) with one line.
A closed stderr makes the run quiet; a closed stdout is reported when the table is written.
"""

import importlib
import os
import signal
import sys
import traceback

import click

from .. import __version__
from ..errors import KerncurveError, OutputError
from .session import PipeClosed

__all__ = ["main", "COMMANDS"]

# command name -> "module:attribute" under kerncurve.cli
COMMANDS = {
    "spectrum": "spectrum:command",
    "predict": "predict:command",
    "shift": "shift:command",
    "shift-optimize": "shift_optimize:command",
    "sgd": "sgd:command",
    "dynamics": "dynamics:command",
    "td": "td:command",
    "capacity": "capacity:command",
    "dmft": "dmft:command",
    "align": "align:command",
    "reservoir": "reservoir:command",
    "report": "report:command",
    "transfer": "transfer:command",
    "heads": "heads:command",
    "limits": "limits:command",
}


class Signalled(BaseException):
    """SIGTERM/SIGHUP/SIGINT arrived: unwind (running every ``finally``), then exit."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


def _on_signal(signum, frame):
    from ..io.outputs import remove_temporaries

    remove_temporaries()
    raise Signalled(signum)


def _install_signals():
    old = {}
    for name in ("SIGTERM", "SIGHUP", "SIGINT"):
        sig = getattr(signal, name, None)
        if sig is None:
            continue
        try:
            old[sig] = signal.signal(sig, _on_signal)
        except (ValueError, OSError):  # not the main thread
            pass
    return old


def _restore_signals(old):
    for sig, handler in old.items():
        try:
            signal.signal(sig, handler)
        except (ValueError, OSError, TypeError):
            pass


def _reserve_std_streams():
    """Keep fds 0–2 occupied (so no output file lands on them); note which were closed."""
    from ..io.outputs import mark_stdout_closed

    closed = {}
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
            closed[fd] = False
        except OSError:
            closed[fd] = True
            try:
                dn = os.open(os.devnull, os.O_RDWR)
                if dn != fd:
                    os.dup2(dn, fd)
                    os.close(dn)
            except OSError:
                pass
    if closed[1] or sys.stdout is None:
        mark_stdout_closed(True)
        sys.stdout = open(os.devnull, "w")
    if closed[2] or sys.stderr is None:
        sys.stderr = open(os.devnull, "w")


def _say(text):
    try:
        click.echo(text, err=True)
    except (OSError, ValueError):
        pass  # stderr gone: the exit status still tells


def _one_line(exc):
    return " ".join(str(exc).split())


class KerncurveGroup(click.Group):
    def list_commands(self, ctx):
        return list(COMMANDS)

    def get_command(self, ctx, name):
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(f"{__name__}.{module}"), attr)

    def main(self, args=None, prog_name=None, **extra):
        argv = list(sys.argv[1:] if args is None else args)
        debug = "--debug" in argv
        extra.pop("standalone_mode", None)
        _reserve_std_streams()  # a closed stderr now leads to devnull: the run is quiet
        old = _install_signals()
        code = 0
        try:
            rv = super().main(args=argv, prog_name=prog_name or "kerncurve", standalone_mode=False, **extra)
            code = rv if isinstance(rv, int) else 0
        except click.exceptions.Exit as exc:
            code = exc.exit_code
        except click.exceptions.Abort:
            _say("error: aborted")
            code = 1
        except click.exceptions.UsageError as exc:
            where = f" (see 'kerncurve {exc.ctx.info_name} --help')" if exc.ctx is not None and exc.ctx.parent else ""
            _say(f"error: {_one_line(exc.format_message())}{where}")
            code = 2
        except click.ClickException as exc:
            _say(f"error: {_one_line(exc.format_message())}")
            code = 2
        except OutputError as exc:
            if debug:
                traceback.print_exc()
            _say(f"error: {_one_line(exc)}")
            code = 1
        except KerncurveError as exc:
            if debug:
                traceback.print_exc()
            _say(f"error: {_one_line(exc)}")
            code = 2
        except (BrokenPipeError, PipeClosed):
            _silence_stdout()
            code = 0
        except Signalled as exc:
            from ..io.outputs import remove_temporaries

            remove_temporaries()
            name = signal.Signals(exc.signum).name
            _say("error: interrupted" if name == "SIGINT" else f"error: stopped by {name}")
            code = 128 + int(exc.signum)
        except MemoryError:
            _say("error: out of memory; use --memory to set a budget, --top-eigen K, or a smaller input")
            code = 1
        except Exception as exc:  # noqa: BLE001 - the last line of defence
            if debug:
                traceback.print_exc()
            _say(f"error: internal error ({type(exc).__name__}: {_one_line(exc)}); "
                 "rerun with --debug for a traceback and report it")
            code = 1
        finally:
            from ..io.outputs import remove_temporaries

            remove_temporaries()
            _restore_signals(old)
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            _silence_stdout()
        except (OSError, ValueError):
            pass
        sys.exit(code)


def _silence_stdout():
    # Python flushes stdout at exit; point it at devnull so that flush cannot fail again.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


@click.group(cls=KerncurveGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="kerncurve")
@click.option("--debug", is_flag=True, help="Show a traceback on unexpected errors.")
def main(debug):
    """Predict learning curves of kernels and wide networks from their spectrum.

    INPUT is an HDF5 file of features, a Gram matrix or raw inputs, plus targets
    (see the README's HDF5 schema). Results go to stdout as CSV (or JSON with --json);
    summaries and warnings go to stderr.
    """
