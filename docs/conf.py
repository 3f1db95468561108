"""Sphinx configuration of the skmnist documentation.

Build it with ``bash .ci/docs.sh`` (or ``python -m sphinx -W --keep-going -b
html docs docs/_build/html``). The build is offline: no intersphinx
inventories are fetched, no theme assets are downloaded.
"""

import os
import sys

# The package itself is imported from the installed (editable) checkout;
# docs/_ext holds this site's own small Sphinx extensions.
sys.path.insert(0, os.path.abspath("_ext"))

import skmnist  # noqa: E402

# -- Project -----------------------------------------------------------------
project = "skmnist"
author = "The skmnist developers"
copyright = "the skmnist developers"
release = skmnist.__version__
version = ".".join(release.split(".")[:2])

# -- General -----------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "skmnist_cli",  # docs/_ext: `skmnist ... --help`, rendered at build time
    "skmnist_docstrings",  # docs/_ext: docstring fix-ups (see its docstring)
]
# No sphinx.ext.intersphinx: the build must not need the network.

templates_path = ["_templates"]
# docs/search.md (notes of the search's author) is not a page of this site: its
# content lives in user_guide/search.rst, and as a page its name would clash with
# Sphinx's own search page. Only .rst files are read anyway (no Markdown parser).
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "search.md"]
root_doc = "index"
source_suffix = {".rst": "restructuredtext"}
default_role = "literal"  # `x` in docstrings renders as code, as in scikit-learn
pygments_style = "sphinx"

# -- autodoc / autosummary ---------------------------------------------------
autosummary_generate = True
autodoc_default_options = {"member-order": "groupwise"}
autodoc_typehints = "none"  # types are written in the numpydoc sections
autoclass_content = "class"  # __init__ only assigns its arguments
# Longer signatures (the estimators') are shown one parameter per line (Sphinx >= 7.1).
python_maximum_signature_line_length = 88

# -- numpydoc ----------------------------------------------------------------
numpydoc_show_class_members = False  # autosummary/autodoc list the members
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False
# The docstring examples run as doctests under pytest (--doctest-modules);
# Sphinx only renders them.

# -- HTML --------------------------------------------------------------------
html_theme = "alabaster"
html_title = f"skmnist {release}"
html_theme_options = {
    "description": "PyTorch image classifiers as scikit-learn estimators",
    "fixed_sidebar": True,
    "show_relbars": True,
    "page_width": "1180px",
    "sidebar_width": "240px",
}
html_sidebars = {
    "**": ["about.html", "navigation.html", "relations.html", "searchbox.html"],
}
html_show_sourcelink = False
html_copy_source = False
