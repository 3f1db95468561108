"""Docstring fix-ups applied while the API reference is built.

The estimators inherit docstrings from scikit-learn (``get_params``,
``score``, ``set_fit_request``, ...) that cite labels and glossary terms of
scikit-learn's own documentation (``:ref:`User Guide <metadata_routing>```,
``:term:`meta-estimator```). Those targets do not exist in this site and
cannot be fetched (the build is offline, without intersphinx), so in
docstrings that come from scikit-learn these roles become their plain text.

skmnist's own docstrings get no fix-up: they are written so that they build
as they are (fitted-attribute names such as `n_features_in_` in backticks,
as scikit-learn writes them).

The handler runs after numpydoc has turned the sections into
reStructuredText, and leaves literal and doctest blocks alone.
"""

import re

# :ref:`text <label>`, :term:`text <term>`, :doc:`text <doc>` -> text; :ref:`label` -> label.
_ROLE_WITH_TEXT = re.compile(r":(?:ref|term|doc):`([^`<]*?)\s*<[^`>]*>`")
_ROLE_PLAIN = re.compile(r":(?:ref|term|doc):`([^`]*)`")


def _text_lines(lines):
    """Indices of the lines that hold prose (not literal or doctest blocks)."""
    literal_indent = None
    in_doctest = False
    for i, line in enumerate(lines):
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if literal_indent is not None:
            if stripped and indent <= literal_indent:
                literal_indent = None
            else:
                continue
        if in_doctest:
            if not stripped:
                in_doctest = False
            continue
        if stripped.startswith(">>>"):
            in_doctest = True
            continue
        if stripped.startswith(".. code-block::") or stripped.startswith(".. code::") or (
                stripped.endswith("::") and not stripped.startswith(".. ")):
            literal_indent = indent
        yield i


def fix_docstring(app, what, name, obj, options, lines):
    """``autodoc-process-docstring`` handler (runs after numpydoc's)."""
    module = getattr(obj, "__module__", None) or ""
    if what == "module":
        module = name
    if not module.startswith("sklearn"):
        return
    for i in _text_lines(lines):
        lines[i] = _ROLE_PLAIN.sub(r"\1", _ROLE_WITH_TEXT.sub(r"\1", lines[i]))


def setup(app):
    # numpydoc's handler has the default priority (500); run after it.
    app.connect("autodoc-process-docstring", fix_docstring, priority=600)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
