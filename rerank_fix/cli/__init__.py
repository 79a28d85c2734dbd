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

COMMANDS = ("demo", "diagnose", "compare", "mine", "finetune", "export", "rewrite", "fix")


def _modules():
    for name in COMMANDS:
        try:
            yield name, importlib.import_module(f"rerank_fix.cli.{name}")
        except ModuleNotFoundError as exc:
            # A command whose optional module is absent should not break the others.
            if exc.name != f"rerank_fix.cli.{name}":
                raise


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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


def main(argv: list[str] | None = None) -> int:
    # Offline by default for the bundled model; a user with internet can set HF_HUB_OFFLINE=0.
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    _setup_logging(args.verbose)
    try:
        return int(args._module.run(args) or 0)
    except UserInputError as exc:
        if args.verbose:
            raise
        from rich.console import Console
        from rich.text import Text

        # Text, not markup: user messages may contain square brackets.
        Console(stderr=True).print(Text.assemble(("error: ", "bold red"), str(exc)), soft_wrap=True)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
