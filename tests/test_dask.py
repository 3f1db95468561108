"""scikit-learn's own tools on a Dask cluster, through joblib (the ``dask`` extra).

``with joblib.parallel_backend("dask"): cross_val_score(..., n_jobs=-1)`` sends
each fold to a worker process of the cluster; with the thread count pinned
(``n_jobs=1`` of the estimator) and a fixed ``random_state`` the scores and
``cv_results_`` equal a sequential run's, bit for bit.
"""

import joblib
import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, cross_val_score

from skmnist import SkMNISTClassifier
from skmnist.datasets import load_mnist_sample

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=40)
    with distributed.Client(cluster) as client:
        yield client
    cluster.close()


@pytest.fixture(scope="module")
def data():
    X, y = load_mnist_sample(return_X_y=True)
    return X[::10], y[::10]  # 500 images


def _estimator(**params):
    return SkMNISTClassifier(arch="mlp", hidden_units=(16,), max_epochs=2, device="cpu",
                             random_state=0, n_jobs=1, **params)


def test_cross_val_score_on_a_cluster_equals_a_sequential_run(client, data):
    X, y = data
    sequential = cross_val_score(_estimator(), X, y, cv=3, n_jobs=1)
    with joblib.parallel_backend("dask"):
        on_cluster = cross_val_score(_estimator(), X, y, cv=3, n_jobs=-1)
    np.testing.assert_array_equal(on_cluster, sequential)
    assert len(client.scheduler_info()["workers"]) == 2


def test_grid_search_on_a_cluster_equals_a_sequential_run(client, data):
    X, y = data
    grid = {"hidden_units": [(8,), (16,)], "lr": [1e-3, 3e-3]}
    sequential = GridSearchCV(_estimator(), grid, cv=2, n_jobs=1).fit(X, y)
    with joblib.parallel_backend("dask"):
        on_cluster = GridSearchCV(_estimator(), grid, cv=2, n_jobs=-1).fit(X, y)
    for key in ("mean_test_score", "std_test_score", "rank_test_score"):
        np.testing.assert_array_equal(on_cluster.cv_results_[key], sequential.cv_results_[key])
    assert on_cluster.best_params_ == sequential.best_params_
    np.testing.assert_array_equal(on_cluster.predict_proba(X[:20]),
                                  sequential.predict_proba(X[:20]))
