"""The documentation link of the estimators' HTML representation (as scikit-learn's own).

In a notebook, scikit-learn draws an estimator as a diagram with a "?" that
opens the class's API page. :class:`DocLinkMixin` makes skmnist's
estimators and transformers point that link at skmnist's pages: the API
pages are ``<DOCS_URL>/api/generated/<module>.<Class>.html``, as the
project's Sphinx build (``bash .ci/docs.sh``) names them.
``SKMNIST_DOCS_URL`` points the links elsewhere, e.g. at a local build
(``file:///path/to/skmnist/docs/_build/html``).
"""

import os

#: Where the documentation is published (the Sphinx site of ``docs/``).
DOCS_URL = os.environ.get("SKMNIST_DOCS_URL") or "https://skmnist.readthedocs.io/en/latest"


class DocLinkMixin:
    """Mix into an estimator class (before ``BaseEstimator``) to link its skmnist API page."""

    _doc_link_module = "skmnist"
    _doc_link_template = DOCS_URL.rstrip("/") + \
        "/api/generated/{estimator_module}.{estimator_name}.html"
