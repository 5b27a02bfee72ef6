"""docs/cli.md is the parser's own reference (fer_keras.cli.docs): it lists every subcommand and
flag of ``fer-keras`` and nothing else, every flag has help text that states its default, and
every ``fer-keras`` command written in the Markdown files names a real subcommand and real
flags. After adding a flag: ``make docs``."""
import argparse
import re
from pathlib import Path

import pytest

from fer_keras.cli import build_parser
from fer_keras.cli import docs as cli_docs
from fer_keras.cli.common import quiet_backend_import

ROOT = Path(__file__).resolve().parents[2]
CLI_MD = ROOT / "docs" / "cli.md"


@pytest.fixture(scope="module")
def parser():
    return quiet_backend_import(build_parser)


def _parser_inventory(parser):
    """``{command: {flags and positionals}}`` of the parser."""
    return {c: {o for a in cli_docs.arguments(sub) for o in (a.option_strings or [a.dest])}
            for c, sub, _ in cli_docs.subcommands(parser)}


def _doc_inventory(text):
    """The same, read back from docs/cli.md: its ``## command`` sections and their first column."""
    inv, command = {}, None
    for line in text.splitlines():
        if line.startswith("## fer-keras"):
            command = line[3:].strip()
            inv[command] = set()
        elif command and line.startswith("| `"):
            first = line.split(" | ")[0]
            inv[command] |= set(re.findall(r"`([^`]+)`", first))
    return inv


def test_cli_md_lists_every_subcommand_and_flag_and_nothing_else(parser):
    assert CLI_MD.is_file(), "docs/cli.md is missing: run `make docs`"
    have, want = _doc_inventory(CLI_MD.read_text(encoding="utf-8")), _parser_inventory(parser)
    assert len(want) >= 18 and "fer-keras explain saliency" in want  # the walk reaches depth 2
    assert sorted(have) == sorted(want), "subcommands differ: run `make docs`"
    for command in want:
        assert have[command] == want[command], (
            f"{command}: only in the parser {sorted(want[command] - have[command])}, only in "
            f"docs/cli.md {sorted(have[command] - want[command])}: run `make docs`")


def test_cli_md_is_exactly_what_the_parser_writes(parser):
    assert CLI_MD.read_text(encoding="utf-8") == cli_docs.markdown(parser), (
        "docs/cli.md differs from the parser's help texts: run `make docs`")


def test_every_flag_has_help_that_states_its_default(parser):
    assert cli_docs.undocumented(parser) == []


def test_the_documentation_check_fails_a_flag_without_help_or_default():
    """Control: a parser with a silent flag and a flag that hides its default is caught, and
    add_default_to_help fixes only the second."""
    p = argparse.ArgumentParser(prog="fer-keras")
    sub = p.add_subparsers().add_parser("toy", help="a toy")
    sub.add_argument("--silent", type=int, default=3)
    sub.add_argument("--hidden", type=int, default=5, help="a number")
    sub.add_argument("--switch", action="store_true", help="a switch")
    sub.add_argument("--stated", help="a path (default: none)")
    assert cli_docs.undocumented(p) == ["fer-keras toy --silent: no help text",
                                        "fer-keras toy --hidden: help does not say its default"]
    cli_docs.add_default_to_help(p)
    assert cli_docs.undocumented(p) == ["fer-keras toy --silent: no help text"]
    assert "a number (default: 5)" in cli_docs.markdown(p)


def _commands_in_markdown(text):
    """``(command words, flags)`` of every ``fer-keras ...`` command in ``text``: continued
    lines (``\\``) joined; a command ends at a backtick, a table cell, ``;``, ``&&`` or ``#``."""
    text = text.replace("\\\n", " ")
    for m in re.finditer(r"fer-keras((?: [a-z][a-z0-9-]*)+)([^`|;#\n]*?)(?=`|\||;|&&|#|\n|$)",
                         text):
        words = m.group(1).split()
        flags = re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", m.group(0))
        yield words, flags


def _markdown_files():
    files = [ROOT / "README.md", ROOT / "RESULTS.md", ROOT / "BENCHMARKS.md"]
    return files + sorted(p for p in (ROOT / "docs").glob("*.md") if p.name != "cli.md")


def test_every_command_in_the_markdown_exists(parser):
    inv = _parser_inventory(parser)
    bad, seen = [], 0
    for path in _markdown_files():
        for words, flags in _commands_in_markdown(path.read_text(encoding="utf-8")):
            if words[0] not in {c.split()[1] for c in inv}:
                continue  # prose such as "fer-keras is ..." or "fer-keras serve's page"
            command = "fer-keras " + words[0]
            if len(words) > 1 and f"{command} {words[1]}" in inv:
                command += " " + words[1]
            seen += 1
            known = inv[command] | {"--help"}
            bad += [f"{path.name}: {command} {f}" for f in flags if f not in known]
    assert seen >= 20, f"only {seen} commands found in the Markdown: the pattern is broken"
    assert not bad, "flags that the CLI does not have:\n" + "\n".join(bad)


def test_the_markdown_command_check_catches_a_wrong_flag(parser):
    """Control: a made-up flag and a real one, as the Markdown check reads them."""
    found = list(_commands_in_markdown("run `fer-keras train --epochs 3 \\\n  --no-such-flag`"))
    assert found == [(["train"], ["--epochs", "--no-such-flag"])]
    assert "--no-such-flag" not in _parser_inventory(parser)["fer-keras train"]


def test_a_command_group_lists_its_subcommands_and_an_empty_command_says_so(parser):
    """``explain`` has no flags of its own: its section links each of its subcommands; ``models``
    has neither flags nor subcommands and says so (no empty "Subcommands: .")."""
    from fer_keras.cli.docs import markdown

    text = markdown(parser)
    assert "Subcommands: ." not in text
    section = text.split("## fer-keras explain\n", 1)[1].split("\n## ", 1)[0]
    for what in ("confusion", "saliency", "ascent", "features", "lime", "tsne", "checks"):
        assert f"[`{what}`](#fer-keras-explain-{what})" in section
    models = text.split("## fer-keras models\n", 1)[1].split("\n## ", 1)[0]
    assert "No arguments." in models
