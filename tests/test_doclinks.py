"""The HTML representation of every estimator links its API page (skmnist/_doclinks.py)."""

import pathlib
import re

import pytest

from skmnist import SkMNISTClassifier, SkMNISTFineTuner, _doclinks
from skmnist.model_selection import ArchitectureSearchCV
from skmnist.preprocessing import (
    ImageFlattener,
    ImageReshaper,
    ImageResizer,
    PixelScaler,
    PixelStandardizer,
)

API = pathlib.Path(__file__).parents[1] / "docs" / "api"
ESTIMATORS = [SkMNISTClassifier(), SkMNISTFineTuner(), ImageFlattener(), ImageReshaper(),
              ImageResizer(), PixelScaler(), PixelStandardizer(),
              ArchitectureSearchCV(SkMNISTClassifier(), {"lr": [1e-3]})]


def _documented_pages():
    """``module.Class`` of every name the API pages list in an autosummary."""
    pages = set()
    for rst in API.glob("*.rst"):
        text = rst.read_text()
        module = re.search(r"^\.\. currentmodule:: (\S+)", text, re.M)
        for name in re.findall(r"^   ([A-Z]\w+)$", text, re.M):
            pages.add(f"{module.group(1)}.{name}")
    return pages


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_the_link_is_the_estimators_api_page(estimator):
    link = estimator._get_doc_link()
    assert link.startswith(_doclinks.DOCS_URL.rstrip("/") + "/api/generated/")
    page = link.rsplit("/", 1)[1].removesuffix(".html")
    assert page in _documented_pages()
    assert link in estimator._repr_html_()
