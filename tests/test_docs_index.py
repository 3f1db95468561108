"""The docs' front page: its code block fits the page's text column."""

import pathlib
import re

INDEX = pathlib.Path(__file__).parents[1] / "docs" / "index.rst"
#: Characters of a code line that fit the theme's (alabaster) text column.
COLUMN = 72


def _code_lines(text):
    lines, inside, indent = [], False, 0
    for line in text.splitlines():
        if re.match(r"^\.\. code-block::", line):
            inside, indent = True, 0
            continue
        if inside:
            if line.strip() and not line.startswith(" "):
                inside = False
            elif line.strip():
                lines.append(line[3:])  # the block's own indent
    return lines


def test_index_code_fits_the_column():
    lines = _code_lines(INDEX.read_text(encoding="utf-8"))
    assert len(lines) >= 5
    too_long = [line for line in lines if len(line) > COLUMN]
    assert not too_long, f"longer than {COLUMN} characters: {too_long}"
