"""Build the ``adoption`` parser from the command modules, run a command, and map errors to exit codes.

Every command exits 0 on success, 1 when the input (a log, a file, the machine) is bad, 2 on a usage error
(unknown option, a path that does not exist, a parameter out of range), 3 on a bug in ``adoption`` and
130 when interrupted. Errors are one line on standard error; ``--debug`` shows the traceback of an
unexpected failure. The library's exceptions carry no exit codes: :data:`EXIT_CODES` is the one mapping.
"""

from __future__ import annotations

import argparse
import errno
import functools
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import TextIO

from adoption.cli import (
    activation,
    calibrate,
    diffusion,
    effect,
    funnel,
    gifts,
    market,
    report,
    simulate,
    survey,
    sweep,
    tipping,
    validate,
)
from adoption.cli.options import Parser, Printable
from adoption.errors import AdoptionError, InputError, InvalidEventLog, ParameterError, UsageError
from adoption.processes import skip_iri_grammar
from adoption.version import __version__

__all__ = ["COMMANDS", "EXIT_CODES", "build_parser", "exit_code", "main"]

#: Functions that add a subcommand to the parser, in the order of ``--help``.
COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    validate.add_parser, simulate.add_parser, survey.add_parser, activation.add_parser, effect.add_parser, gifts.add_parser, diffusion.add_parser,
    report.add_parser,
    sweep.add_parser, calibrate.add_parser, tipping.add_parser, market.add_parser, funnel.add_parser,
]

#: The exit code of each kind of error (the most specific class that matches wins).
EXIT_CODES: dict[type[AdoptionError], int] = {
    InvalidEventLog: 1,
    InputError: 1,
    UsageError: 2,
    ParameterError: 2,
    AdoptionError: 1,
}


def exit_code(err: AdoptionError) -> int:
    """The exit code for ``err``: that of the first class of its method resolution order in :data:`EXIT_CODES`.

    Examples
    --------
    >>> exit_code(ParameterError("n_users: expected >= 1")), exit_code(InputError("x: not a log"))
    (2, 1)
    """
    for cls in type(err).__mro__:
        if cls in EXIT_CODES:
            return EXIT_CODES[cls]
    return 1


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = Parser(prog="adoption", description="Social payment adoption: simulate, validate and analyse "
                                                  "red-packet event logs.")
    parser.add_argument("--version", action="version", version=f"adoption {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    for add in COMMANDS:
        add(sub)
    return parser


@functools.cache
def _parser() -> argparse.ArgumentParser:
    """The parser :func:`main` uses, built once a process: it is the same for every call (its choices and
    defaults are constants), and building it costs about 15 ms, a call's whole time for a small command
    in a program or a test that calls :func:`main` many times."""
    return build_parser()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code.

    0 success, 1 bad input (a log, a file, the machine: disk full, permission denied), 2 usage (an option,
    a parameter), 3 a bug in ``adoption``, 130 interrupted (Ctrl-C). Every error is one line on standard
    error; ``--debug`` shows the traceback of an unexpected failure.
    """
    skip_iri_grammar()  # (a report's process builds no IRI parsers: 1.25 s)
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = Printable(stdout), Printable(stderr)  # type: ignore[assignment]
    debug = "--debug" in (sys.argv[1:] if argv is None else argv)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            warnings.showwarning = _warning_line
            return _main(argv, debug)
    finally:
        sys.stdout.flush()
        sys.stdout, sys.stderr = stdout, stderr


def _warning_line(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: TextIO | None = None, line: str | None = None) -> None:
    """A warning as one line: ``adoption: warning: ...``."""
    text = str(message).strip().splitlines()[0] if str(message).strip() else category.__name__
    print(f"adoption: warning: {text}", file=sys.stderr)


def _main(argv: Sequence[str] | None, debug: bool) -> int:
    try:
        args = _parser().parse_args(argv)
        return int(args.handler(args))
    except SystemExit as exit_:  # argparse: --help, --version, usage errors
        return int(exit_.code or 0) if isinstance(exit_.code, int) else 2
    except InvalidEventLog as err:
        for problem in err.problems:
            print(problem.message(), file=sys.stderr)
        return exit_code(err)
    except AdoptionError as err:
        print(f"adoption: error: {err}", file=sys.stderr)
        return exit_code(err)
    except KeyboardInterrupt as interrupt:  # (a message, where the command knows more than the default)
        print(f"adoption: interrupted; {interrupt.args[0] if interrupt.args else 'nothing half-written was kept'}",
              file=sys.stderr)
        return 130
    except MemoryError as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else \
            "out of memory (try fewer users, or --engine duckdb for big logs)"
        print(f"adoption: error: {reason}", file=sys.stderr)
        return 1
    except OSError as err:  # the machine, not the code: disk full, permission denied, read-only folder
        if debug:
            raise
        print(f"adoption: error: {_os_error(err)}", file=sys.stderr)
        return 1
    except Exception as err:  # an unexpected failure: one line unless --debug
        if debug:
            raise
        cause = _os_error_in(err)
        if cause is not None:
            print(f"adoption: error: {_os_error(cause)}", file=sys.stderr)
            return 1
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        print(f"adoption: unexpected error: {type(err).__name__}: {first} (a bug in adoption; rerun with --debug "
              "for details)", file=sys.stderr)
        return 3


def _os_error_in(err: BaseException) -> OSError | None:
    """The OSError behind a library's own exception (e.g. nbformat's on a full disk), if any."""
    seen = err
    for _ in range(5):
        seen = seen.__cause__ or seen.__context__  # type: ignore[assignment]
        if seen is None:
            return None
        if isinstance(seen, OSError) and seen.errno is not None:
            return seen
    return None


def _os_error(err: OSError) -> str:
    where = f"{err.filename}: " if getattr(err, "filename", None) else ""
    if err.errno == errno.ENOSPC:
        return f"{where}disk full (free some space and run again; nothing half-written was kept)"
    if err.errno in (errno.EACCES, errno.EPERM):
        return f"{where}permission denied"
    if err.errno == errno.EROFS:
        return f"{where}read-only file system"
    return f"{where}{err.strerror or err}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
