"""A sub-command parser that imports its command's module only when that command is chosen.

The top-level ``--help`` lists each sub-command from its name and help text alone, so it
must not pay for what the commands import (``phone`` pulls in aiortc and av, ~0.5 s).
argparse hands the remaining arguments to the chosen sub-parser's ``parse_known_args``:
that is the moment the module is imported and asked to add its arguments and handler, so
``kazoo-actors phone --help`` still shows every option of ``phone``.
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any


class LazyCommandParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` filled in by ``module.function(self)`` on its first parse.

    Pass it to ``add_subparsers(parser_class=LazyCommandParser)``; ``add_parser`` forwards
    ``configure="package.module:function"`` here.
    """

    def __init__(self, *args: Any, configure: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        module_name, _, function_name = configure.partition(":")
        if not module_name or not function_name:
            raise ValueError(f"configure must be 'module:function', got {configure!r}")
        self._module_name = module_name
        self._function_name = function_name
        self._configured = False

    def configure(self) -> None:
        """Import the command's module and let it add its arguments (once)."""
        if self._configured:
            return
        module = importlib.import_module(self._module_name)
        getattr(module, self._function_name)(self)
        self._configured = True

    def add_subparsers(self, **kwargs: Any) -> Any:
        # argparse makes nested sub-parsers of type(self); a command's own sub-commands
        # (``lab up``) are configured eagerly by the command, so they are plain parsers.
        kwargs.setdefault("parser_class", argparse.ArgumentParser)
        return super().add_subparsers(**kwargs)

    def parse_known_args(self, *args: Any, **kwargs: Any) -> Any:
        self.configure()
        return super().parse_known_args(*args, **kwargs)

    # print_help() and print_usage() on the sub-parser itself bypass parsing.
    def format_help(self) -> str:
        self.configure()
        return super().format_help()

    def format_usage(self) -> str:
        self.configure()
        return super().format_usage()
