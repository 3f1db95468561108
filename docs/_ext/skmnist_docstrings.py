"""Docstring fix-ups applied while the API reference is built.

Two kinds of text would otherwise break a warnings-as-errors build:

* **Inherited scikit-learn docstrings** (``get_params``, ``score``,
  ``set_fit_request``, ...) cite labels and glossary terms of scikit-learn's
  own documentation (``:ref:`User Guide <metadata_routing>```,
  ``:term:`meta-estimator```), which do not exist in this site and cannot be
  fetched (the build is offline, without intersphinx). Those roles become
  their plain text.
* **Fitted-attribute names and star-unpacking in skmnist's own docstrings**,
  e.g. ``ndarray of shape (n_features_in_,)`` or ``(n_samples,
  *input_shape_)``: in reStructuredText ``name_`` is a hyperlink reference
  and a lone ``*`` starts emphasis. Outside literals they are escaped, so
  they render as written. An inline literal followed directly by a letter
  (the plural of a literal class name) gets the ``"\ "`` docutils needs.
  (Writing names in backticks, as scikit-learn does, needs no fix-up.)

Both run after numpydoc has turned the sections into reStructuredText, and
leave literal blocks, doctest blocks and inline literals alone.
"""

import re

# :ref:`text <label>`, :term:`text <term>`, :doc:`text <doc>` -> text; :ref:`label` -> label.
_ROLE_WITH_TEXT = re.compile(r":(?:ref|term|doc):`([^`<]*?)\s*<[^`>]*>`")
_ROLE_PLAIN = re.compile(r":(?:ref|term|doc):`([^`]*)`")
# Inline literals and interpreted text (``x``, `x`, :role:`x`), which stay as they are.
_LITERAL = re.compile(r"(``.+?``|(?::[\w:+-]+:)?`[^`]+`_{0,2})")
# A word ending in "_" that docutils would read as a hyperlink reference.
_REFERENCE = re.compile(r"(?<![\w\\*])([A-Za-z]\w*?)_(?=[\s,.;:)\]]|$)")
# Inline literals, paired left to right; one run into a word (``torch.nn.Module``s)
# needs "\ " between the closing backquotes and the word.
_INLINE_LITERAL = re.compile(r"``.+?``")
# A "*" opening a word (``*input_shape_``) with no closing "*" after it on the line.
_STAR = re.compile(r"(?<=[\s(\[,])\*(?=[A-Za-z_])")


def _separate_suffix(match):
    end = match.end()
    word_follows = end < len(match.string) and (match.string[end].isalnum()
                                                or match.string[end] == "_")
    return match.group(0) + ("\\ " if word_follows else "")


def _outside_literals(line, fix):
    parts = _LITERAL.split(line)
    return "".join(part if i % 2 else fix(part) for i, part in enumerate(parts))


def _escape_markup(text):
    text = _REFERENCE.sub(r"\1\\_", text)

    def star(match):
        rest = text[match.end():]
        return match.group(0) if "*" in rest else r"\*"

    return _STAR.sub(star, text)


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
    from_sklearn = module.startswith("sklearn")
    for i in _text_lines(lines):
        line = lines[i]
        if from_sklearn:
            line = _ROLE_PLAIN.sub(r"\1", _ROLE_WITH_TEXT.sub(r"\1", line))
        line = _INLINE_LITERAL.sub(_separate_suffix, line)
        lines[i] = _outside_literals(line, _escape_markup)


def setup(app):
    # numpydoc's handler has the default priority (500); run after it.
    app.connect("autodoc-process-docstring", fix_docstring, priority=600)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
