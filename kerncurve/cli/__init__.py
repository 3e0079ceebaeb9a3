"""The `kerncurve` command line: a click group with one module per subcommand.

Subcommands are imported lazily (``kerncurve --help`` does not import scipy). Every error
the user can fix becomes exactly one ``error:`` line on stderr and exit status 2; an
unexpected failure exits 1 (traceback only with ``--debug``); a closed stdout pipe
(``| head``) ends quietly.
"""

import importlib
import os
import sys
import traceback

import click

from .. import __version__
from ..errors import KerncurveError

__all__ = ["main", "COMMANDS"]

# command name -> "module:attribute" under kerncurve.cli
COMMANDS = {
    "spectrum": "spectrum:command",
    "predict": "predict:command",
    "shift": "shift:command",
    "shift-optimize": "shift:optimize_command",
    "sgd": "sgd:command",
    "dynamics": "dynamics:command",
    "td": "td:command",
    "capacity": "capacity:command",
    "dmft": "dmft:command",
    "align": "align:command",
}


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
        try:
            rv = super().main(args=argv, prog_name=prog_name or "kerncurve", standalone_mode=False, **extra)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("error: aborted", err=True)
            sys.exit(1)
        except click.exceptions.UsageError as exc:
            where = f" (see 'kerncurve {exc.ctx.info_name} --help')" if exc.ctx is not None and exc.ctx.parent else ""
            msg = " ".join(exc.format_message().split())
            click.echo(f"error: {msg}{where}", err=True)
            sys.exit(2)
        except click.ClickException as exc:
            click.echo(f"error: {' '.join(exc.format_message().split())}", err=True)
            sys.exit(2)
        except KerncurveError as exc:
            if debug:
                traceback.print_exc()
            click.echo(f"error: {' '.join(str(exc).split())}", err=True)
            sys.exit(2)
        except BrokenPipeError:
            _silence_stdout()
            sys.exit(0)
        except KeyboardInterrupt:
            click.echo("error: interrupted", err=True)
            sys.exit(130)
        except Exception as exc:  # noqa: BLE001 - the last line of defence
            if debug:
                traceback.print_exc()
            click.echo(
                f"error: internal error ({type(exc).__name__}: {' '.join(str(exc).split())}); "
                "rerun with --debug for a traceback and report it",
                err=True,
            )
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


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
