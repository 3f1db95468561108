"""A Sphinx directive that shows the ``skmnist`` command's ``--help`` text.

``.. skmnist-help::`` renders ``skmnist --help``; ``.. skmnist-help:: train``
renders ``skmnist train --help``. The text comes from
:func:`skmnist.cli.build_parser` when the documentation is built, so the
page always shows the options of the code it documents. A subcommand that
does not exist, or a ``search`` command that is unavailable, is reported
as a warning (an error under ``sphinx-build -W``), never skipped silently.
"""

import contextlib
import os

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

# The width the help text is wrapped at, whatever the terminal of the build.
HELP_COLUMNS = "80"


@contextlib.contextmanager
def _columns(width):
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = width
    try:
        yield
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old


def help_text(command=None):
    """``skmnist [command] --help`` as a string."""
    from skmnist.cli import build_parser

    with _columns(HELP_COLUMNS):
        parser = build_parser()
        if command is None:
            return parser.format_help()
        if command == "search" and parser.search_unavailable is not None:
            raise ValueError(f"'skmnist search' is not available: {parser.search_unavailable}")
        subparsers = [a for a in parser._actions if hasattr(a, "choices")
                      and isinstance(a.choices, dict)]
        for action in subparsers:
            if command in action.choices:
                return action.choices[command].format_help()
        raise ValueError(f"'skmnist' has no subcommand {command!r}")


class SkmnistHelp(SphinxDirective):
    """``.. skmnist-help:: [COMMAND]``: the command's help as a literal block."""

    optional_arguments = 1
    has_content = False

    def run(self):
        command = self.arguments[0] if self.arguments else None
        try:
            text = help_text(command)
        except Exception as exc:  # reported, never silently dropped
            logger.warning("skmnist-help %s: %s", command or "", exc,
                           location=self.get_location())
            return [nodes.paragraph(text=f"(The help of 'skmnist {command or ''}' could not "
                                         f"be generated: {exc})")]
        block = nodes.literal_block(text.rstrip() + "\n", text.rstrip() + "\n")
        block["language"] = "text"
        return [block]


def setup(app):
    app.add_directive("skmnist-help", SkmnistHelp)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
