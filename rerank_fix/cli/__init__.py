"""The ``rerank-fix`` command line. Each subcommand lives in its own module with
``add_parser(subparsers)`` (cheap: no heavy imports) and ``run(args) -> int``."""
from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from rerank_fix import __version__
from rerank_fix.errors import UserInputError

COMMANDS = ("demo", "diagnose", "compare", "fix", "serve", "mine", "finetune", "export", "rewrite")


def _modules():
    for name in COMMANDS:
        try:
            yield name, importlib.import_module(f"rerank_fix.cli.{name}")
        except ModuleNotFoundError as exc:
            # A command whose optional module is absent should not break the others.
            if exc.name != f"rerank_fix.cli.{name}":
                raise


class _Parser(argparse.ArgumentParser):
    """argparse with the project's one-line error (no usage block) and exit code 2."""

    def error(self, message: str):  # type: ignore[override]
        from rerank_fix.errors import one_line

        print(f"error: {self.prog}: {one_line(message)} — see `{self.prog} --help`", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="rerank-fix",
        description="Measure whether a reranker helps on your corpus and query mix, per stratum, and fix it.")
    parser.add_argument("--version", action="version", version=f"rerank-fix {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging and full tracebacks")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in _modules():
        sub = module.add_parser(subparsers)
        sub.set_defaults(_module=module)
    return parser


def _setup_logging(verbose: bool) -> None:
    from rich.logging import RichHandler

    # Our own progress at INFO; every library (transformers, onnxscript's optimizer, httpx, ...) only from
    # WARNING up, unless --verbose, so a user sees what rerank_fix is doing, not thousands of library lines.
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, format="%(message)s",
                        handlers=[RichHandler(show_path=False, show_time=False, markup=False)], force=True)
    logging.getLogger("rerank_fix").setLevel(logging.DEBUG if verbose else logging.INFO)
    from rerank_fix.net.secrets import RedactingFilter

    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactingFilter())  # no credential reaches the terminal, whoever logs it


def main(argv: list[str] | None = None) -> int:
    # Offline by default for the bundled model; a user with internet can set HF_HUB_OFFLINE=0.
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error already printed in one line
        return exc.code if isinstance(exc.code, int) else 2
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    _setup_logging(args.verbose)
    try:
        return int(args._module.run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.verbose:
            raise
        code, line = describe_failure(exc)
        _print_error(line)
        return code


def describe_failure(exc: BaseException) -> tuple[int, str]:
    """``(exit code, one line)`` for an exception that ended a command.

    A user's mistake (bad data, config, paths, permissions, encodings) is exit code 2 with what to fix; anything
    else is a bug in rerank-fix: exit code 1, one line, and the traceback with ``--verbose``.
    """
    from rerank_fix.errors import format_user_error, one_line

    if isinstance(exc, UserInputError):
        return 2, format_user_error(exc)
    if isinstance(exc, UnicodeError):
        return 2, one_line(f"input is not valid UTF-8 ({exc}) — re-save the file as UTF-8")
    if isinstance(exc, OSError) and (exc.filename is not None or isinstance(exc, PermissionError)):
        fix = {PermissionError: "check the file's permissions", IsADirectoryError: "give a file, not a folder",
               NotADirectoryError: "give a folder, not a file", FileNotFoundError: "check the path",
               FileExistsError: "choose another path"}.get(type(exc), "check the path and the disk")
        where = f"{exc.filename}: " if exc.filename is not None else ""
        return 2, one_line(f"{where}{exc.strerror or exc} — {fix}")
    if isinstance(exc, MemoryError):
        return 1, "out of memory — use a smaller input or batch size; run with --verbose for the traceback"
    return 1, one_line(f"internal error ({type(exc).__name__}: {exc})", limit=300) + \
        " — this is a bug in rerank-fix; run with --verbose for the traceback and report it"


def _print_error(line: str) -> None:
    from rich.console import Console
    from rich.text import Text

    # Text, not markup: user messages may contain square brackets. No wrapping: one line, whatever the width.
    Console(stderr=True, width=100_000).print(Text.assemble(("error: ", "bold red"), line), soft_wrap=True)


if __name__ == "__main__":
    sys.exit(main())
