"""Run the Python code blocks of the user guide, page by page.

Every ``.. code-block:: python`` block of a page is run, in order, as one
script (later blocks see the names earlier ones defined), in a fresh
temporary folder, with ``SKMNIST_DATA`` pointing to an empty folder there
so that nothing is read from or downloaded into the real data home. A block
whose directive has the option ``:class: no-check`` is shown but not run:
those need a GPU, the network, a database server or a file the page only
imagines, and say so in the text around them.

Usage::

    python docs/check_snippets.py                  # every page
    python docs/check_snippets.py quickstart gpu   # some pages (file stems)
    python docs/check_snippets.py --list           # what would run

It exits with status 1 if any page fails. The pages train small networks on
the CPU; the whole run takes a few minutes on two cores.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

DOCS = Path(__file__).resolve().parent
PAGES = sorted([DOCS / "index.rst", *(DOCS / "user_guide").glob("*.rst")])
_DIRECTIVE = re.compile(r"^(\s*)\.\. code-block:: python\s*$")


def code_blocks(path):
    """``[(line number, code, checked), ...]`` of the page's Python code blocks."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks = []
    i = 0
    while i < len(lines):
        match = _DIRECTIVE.match(lines[i])
        if not match:
            i += 1
            continue
        start = i + 1
        indent = len(match.group(1))
        i += 1
        checked = True
        while i < len(lines) and lines[i].strip().startswith(":"):  # directive options
            if re.match(r"\s*:class:.*\bno-check\b", lines[i]):
                checked = False
            i += 1
        body = []
        while i < len(lines) and (not lines[i].strip()
                                  or len(lines[i]) - len(lines[i].lstrip()) > indent):
            body.append(lines[i])
            i += 1
        blocks.append((start, textwrap.dedent("\n".join(body)).strip("\n") + "\n", checked))
    return blocks


def script_of(path):
    parts = []
    for line, code, checked in code_blocks(path):
        if checked:
            parts.append(f"# --- {path.name}, line {line}\n{code}")
    return "\n".join(parts)


def run_page(path):
    script = script_of(path)
    if not script:
        return None, 0.0, ""
    with tempfile.TemporaryDirectory(prefix="skmnist-docs-") as tmp:
        env = dict(os.environ, SKMNIST_DATA=os.path.join(tmp, "data_home"),
                   MPLBACKEND="Agg", PYTHONWARNINGS="ignore")
        start = time.perf_counter()
        result = subprocess.run([sys.executable, "-c", script], cwd=tmp, env=env,
                                capture_output=True, text=True)
        elapsed = time.perf_counter() - start
    return result.returncode == 0, elapsed, result.stdout + result.stderr


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="*", help="page file stems (default: all)")
    parser.add_argument("--list", action="store_true", help="print the blocks, run nothing")
    parser.add_argument("--show-output", action="store_true", help="print what pages print")
    args = parser.parse_args(argv)
    pages = [p for p in PAGES if not args.pages or p.stem in args.pages]
    unknown = set(args.pages) - {p.stem for p in pages}
    if unknown:
        parser.error(f"no such page(s): {', '.join(sorted(unknown))}")
    failed = []
    for page in pages:
        name = page.relative_to(DOCS)
        if args.list:
            for line, _, checked in code_blocks(page):
                print(f"{name}:{line}: {'run' if checked else 'not run (no-check)'}")
            continue
        ok, elapsed, output = run_page(page)
        if ok is None:
            continue
        print(f"{'ok  ' if ok else 'FAIL'} {name} ({elapsed:.1f} s)", flush=True)
        if not ok or args.show_output:
            print(textwrap.indent(output.rstrip(), "    "), flush=True)
        if not ok:
            failed.append(str(name))
    if failed:
        print(f"\n{len(failed)} page(s) failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
