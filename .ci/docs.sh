#!/usr/bin/env bash
# Build the HTML documentation: warnings are errors, and nothing is fetched
# from the network during the build (no intersphinx inventories).
#
#     bash .ci/docs.sh              # install the doc requirements, build docs/_build/html
#     bash .ci/docs.sh --snippets   # also run every Python example of the user guide
#
# The doc requirements are the package itself plus Sphinx and numpydoc (the
# theme, alabaster, comes with Sphinx). Once pyproject.toml has a `docs`
# extra, it is installed instead of the list below.
set -euo pipefail
cd "$(dirname "$0")/.."

run_snippets=0
for arg in "$@"; do
    case "$arg" in
        --snippets) run_snippets=1 ;;
        *) echo "usage: bash .ci/docs.sh [--snippets]" >&2; exit 2 ;;
    esac
done

if grep -Eq '^docs *= *\[' pyproject.toml; then
    python -m pip install --quiet --progress-bar off -e ".[docs]"
else
    python -m pip install --quiet --progress-bar off -e . "sphinx>=7" "numpydoc>=1.6"
fi

# autosummary writes a stub per documented object on every build; stale
# stubs of removed names must not survive, and -E rereads every source
# (Sphinx does not notice when only a docstring changed).
rm -rf docs/api/generated
start=$SECONDS
python -m sphinx -E -W --keep-going -b html docs docs/_build/html
echo "docs: built docs/_build/html in $((SECONDS - start)) s with no warnings"

if [ "$run_snippets" = 1 ]; then
    python docs/check_snippets.py
fi
