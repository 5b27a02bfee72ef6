"""The command-line reference, ``docs/cli.md``, written from the parser itself so that it cannot
drift from the CLI: ``python docs/make_cli_reference.py`` (``make docs``).
``tests/cli/test_cli_docs.py`` fails when the file and the parser differ, when a flag has no help
text or hides its default (:func:`undocumented`), and when a command in the Markdown files names
a subcommand or flag that does not exist."""
from __future__ import annotations

import argparse

HEADER = """# Command-line reference

Written from the parser by `make docs` (`python docs/make_cli_reference.py`); do not edit it
by hand: `tests/cli/test_cli_docs.py` fails when it and `fer-keras --help` differ.
`fer-keras COMMAND --help` prints the same text.
"""


def subcommands(parser, prefix="fer-keras"):
    """``(command, parser, help)`` for every subcommand under ``parser``, depth first, in
    ``--help`` order: ``("fer-keras train", ...)``, ``("fer-keras explain saliency", ...)``."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                command = f"{prefix} {name}"
                yield command, sub, helps.get(name) or ""
                yield from subcommands(sub, command)


def arguments(parser):
    """The documented arguments of one parser: every action but ``--help`` and subparsers."""
    return [a for a in parser._actions
            if not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction))]


def takes_value(action):
    return action.nargs != 0


def expanded_help(parser, action):
    """The help text as ``--help`` prints it (``%(default)s`` and the like filled in)."""
    if not action.help:
        return ""
    return parser._get_formatter()._expand_help(action)


def undocumented(parser):
    """Problems of the documentation of every flag under ``parser``: ``"fer-keras train
    --epochs: no help text"`` or ``"...: help does not say its default"``. A flag that takes a
    value and is not required must say its default (the word "default" in its help); a
    positional or a switch (``store_true``) needs only a help text."""
    problems = []
    for command, sub, _ in [("fer-keras", parser, "")] + list(subcommands(parser)):
        for a in arguments(sub):
            name = a.option_strings[-1] if a.option_strings else a.dest
            text = expanded_help(sub, a)
            if not text.strip():
                problems.append(f"{command} {name}: no help text")
            elif (a.option_strings and takes_value(a) and not a.required
                  and "default" not in text.lower()):
                problems.append(f"{command} {name}: help does not say its default")
    return problems


def add_default_to_help(parser):
    """Append ``(default: X)`` to the help of every flag under ``parser`` that has a default
    value and does not state it yet; run once on the finished parser (``fer-keras --help`` and
    ``docs/cli.md`` then show every default)."""
    for _, sub, _ in [("", parser, "")] + list(subcommands(parser)):
        for a in arguments(sub):
            if (a.help and a.option_strings and takes_value(a)
                    and a.default not in (None, argparse.SUPPRESS)
                    and "default" not in a.help.lower()):
                a.help += " (default: %(default)s)"
    return parser


def _value(action):
    if action.choices is not None and not isinstance(action.choices, dict):
        return "{" + ",".join(str(c) for c in action.choices) + "}"
    if not takes_value(action):
        return ""
    metavar = action.metavar or (action.dest.upper() if action.option_strings else action.dest)
    if isinstance(metavar, tuple):
        metavar = " ".join(metavar)
    if action.nargs in ("+", "*"):
        return f"{metavar} ..."
    if isinstance(action.nargs, int) and action.nargs > 1 and " " not in metavar:
        return " ".join([metavar] * action.nargs)
    return metavar


def _cell(text):
    return (" ".join(str(text).split()).replace("|", "\\|").replace("<", "&lt;")
            .replace(">", "&gt;"))


def _anchor(command):
    return command.replace(" ", "-")


def markdown(parser):
    """``docs/cli.md`` of ``parser`` (:func:`fer_keras.cli.build_parser`): a table of the
    subcommands, then one table of flags per subcommand."""
    commands = list(subcommands(parser))
    lines = [HEADER, "| command | what it does |", "|---|---|"]
    lines += [f"| [`{c}`](#{_anchor(c)}) | {_cell(h)} |" for c, _, h in commands]
    for command, sub, help_ in commands:
        lines += ["", f"## {command}", "", _cell(help_) or "", ""]
        args = arguments(sub)
        if not args:
            children = [f"[`{c.rsplit(' ', 1)[1]}`](#{_anchor(c)})"
                        for c, _, _ in subcommands(sub, command)
                        if c.count(" ") == command.count(" ") + 1]
            lines.append("Subcommands: " + ", ".join(children) + "." if children
                         else "No arguments.")
            continue
        lines += ["| argument | value | what it means |", "|---|---|---|"]
        for a in args:
            name = ", ".join(f"`{o}`" for o in a.option_strings) or f"`{a.dest}` (positional)"
            value = _value(a)
            text = expanded_help(sub, a)
            if a.required:
                text = f"required; {text}"
            lines.append(f"| {name} | {_cell(value) and '`' + _cell(value) + '`'} | "
                         f"{_cell(text)} |")
    return "\n".join(lines).replace("\n\n\n", "\n\n") + "\n"
