"""scikit-learn's own estimator checks over every skmnist estimator."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skmnist import SkMNISTClassifier

# Expected failures: check name -> reason. Keep it empty.
EXPECTED_FAILED_CHECKS = {}

ESTIMATORS = [
    SkMNISTClassifier(device="cpu"),
    SkMNISTClassifier(arch="mlp", device="cpu"),
    # The checks' data has few, non-square features: read each row as a
    # 1-pixel-high image so the convolutional path runs every check too.
    SkMNISTClassifier(arch="cnn", image_shape=(1, 1, -1), device="cpu"),
]


@parametrize_with_checks(
    ESTIMATORS,
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
