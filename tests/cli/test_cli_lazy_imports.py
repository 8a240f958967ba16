"""The CLI lists every sub-command without importing it; a command's module loads when chosen.

The import checks run in a fresh interpreter: the test process has long imported everything.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from kazoo_actors.cli.lazy_parser import LazyCommandParser
from kazoo_actors.cli.main import COMMANDS, main

# Runs the CLI's main in-process, then prints which modules it loaded as the last line.
MODULES_AFTER = """
import json, sys
from kazoo_actors.cli.main import main
try:
    main(json.loads(sys.argv[1]))
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""

HEAVY = ("aiortc", "av", "kazoo_actors.actors", "kazoo_actors.engine", "media", "trio")
COMMAND_MODULES = sorted({command.configure.partition(":")[0] for command in COMMANDS})

# One option (or nested command) per sub-command that only its own module defines.
OWN_OPTION = {
    "lab": "up|down",
    "demo": "--algorithm",
    "register": "--reconnect-delay",
    "soak": "--user-template",
    "lab-soak": "--user-template",
    "phone": "--transfer-to",
}


def _modules_loaded_by(argv: list[str]) -> tuple[str, set[str]]:
    done = subprocess.run(
        [sys.executable, "-c", MODULES_AFTER, json.dumps(argv)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    *output, modules = done.stdout.splitlines()
    return "\n".join(output), set(json.loads(modules))


def _loaded(modules: set[str], package: str) -> list[str]:
    return sorted(m for m in modules if m == package or m.startswith(f"{package}."))


@pytest.mark.parametrize("argv", [["--help"], [], ["lab", "--help"], ["lab", "up", "--help"]])
def test_help_loads_neither_media_nor_the_engine(argv: list[str]) -> None:
    output, modules = _modules_loaded_by(argv)
    assert "usage: kazoo-actors" in output
    for package in HEAVY:
        assert _loaded(modules, package) == [], package


def test_top_level_help_imports_no_command_module() -> None:
    output, modules = _modules_loaded_by(["--help"])
    assert [m for m in COMMAND_MODULES if m in modules] == []
    for command in COMMANDS:
        # argparse wraps the help text; its first words stay on the command's line.
        first_words = " ".join(command.help.split()[:3])
        assert f"    {command.name}" in output and first_words in output


def test_running_a_command_imports_only_its_own_module() -> None:
    output, modules = _modules_loaded_by(["demo", "--seed", "1"])
    assert "# done" in output
    assert [m for m in COMMAND_MODULES if m in modules] == ["kazoo_actors.cli.demo"]
    assert _loaded(modules, "aiortc") == []


@pytest.mark.parametrize("command", [c.name for c in COMMANDS])
def test_each_command_help_shows_its_own_options(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith(f"usage: kazoo-actors {command} ")
    assert OWN_OPTION[command] in text


def test_a_command_parser_configures_itself_for_help_without_parsing() -> None:
    parser = LazyCommandParser(prog="r", configure="kazoo_actors.cli.register:add_arguments")
    assert "--reconnect-delay" in parser.format_help()
    assert "--ws-url" in parser.format_usage()


def test_a_configure_target_names_module_and_function() -> None:
    with pytest.raises(ValueError, match="module:function"):
        LazyCommandParser(prog="r", configure="kazoo_actors.cli.register")


def test_every_listed_command_has_a_known_option() -> None:
    assert sorted(OWN_OPTION) == sorted(command.name for command in COMMANDS)
