"""scikit-learn's own estimator checks over every skmnist estimator."""

import numpy as np
from sklearn.frozen import FrozenEstimator
from sklearn.utils.estimator_checks import parametrize_with_checks

from skmnist import SkMNISTClassifier, SkMNISTFineTuner

# Expected failures: check name -> reason. Keep them empty where possible.
EXPECTED_FAILED_CHECKS = {}
FINETUNER_EXPECTED_FAILED_CHECKS = {
    "check_estimators_overwrite_params": (
        "The check compares joblib.hash of each parameter with the hash of a deepcopy "
        "taken before fit. The pretrained parameter is a fitted model, and a deep-copied "
        "skorch net pickles to different bytes than the original even with identical "
        "weights, so the hashes differ although fit changes nothing. "
        "tests/test_finetune.py::test_pretrained_is_never_mutated checks directly that "
        "the pretrained weights, batch-norm statistics, parameters and history stay "
        "bit-identical."
    ),
}


def _expected_failed_checks(estimator):
    if isinstance(estimator, SkMNISTFineTuner):
        return FINETUNER_EXPECTED_FAILED_CHECKS
    return EXPECTED_FAILED_CHECKS


def _pretrained_strip_cnn():
    """A CNN trained on rows read as 1-pixel-high images (the checks' data shape)."""
    rng = np.random.RandomState(0)
    X = rng.randn(60, 6)
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)
    model = SkMNISTClassifier(arch="cnn", image_shape=(1, 1, -1), channels=(8,),
                              max_epochs=2, device="cpu", random_state=0)
    return model.fit(X, y)


ESTIMATORS = [
    SkMNISTClassifier(device="cpu"),
    SkMNISTClassifier(arch="mlp", device="cpu"),
    # The checks' data has few, non-square features: read each row as a
    # 1-pixel-high image so the convolutional path runs every check too.
    SkMNISTClassifier(arch="cnn", image_shape=(1, 1, -1), device="cpu"),
    # FrozenEstimator keeps the pretrained weights through sklearn.clone; the
    # checks' rows of any width are resized to the pretrained 6-pixel strip.
    SkMNISTFineTuner(FrozenEstimator(_pretrained_strip_cnn()), freeze="none",
                     image_shape=(1, 1, -1), device="cpu"),
]


@parametrize_with_checks(
    ESTIMATORS,
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
