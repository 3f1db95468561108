"""ArchitectureSearchCV in one process: grids, samplers, pruning, splits, results, errors."""

import pickle
from collections import defaultdict

import numpy as np
import optuna
import pytest
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.linear_model import LogisticRegression, Ridge, SGDClassifier
from sklearn.model_selection import KFold

from skmnist import SkMNISTClassifier
from skmnist.model_selection import ArchitectureSearchCV, Float, Int

from ._estimators import ToyClassifier, toy_data

GRID = [{"arch": ["a"], "width": [1, 2, 3]},
        {"arch": ["b"], "width": [1, 2], "depth": [1, 2]}]


@pytest.fixture
def data():
    return toy_data()


def states(search):
    return list(search.cv_results_["state"])


def test_grid_evaluates_every_point_exactly_once(data):
    search = ArchitectureSearchCV(ToyClassifier(), GRID, cv=2).fit(*data)
    params = search.cv_results_["params"]
    assert len(params) == 3 + 4
    assert len({repr(sorted(p.items())) for p in params}) == 7
    assert states(search) == ["COMPLETE"] * 7
    assert len(search.study_.trials) == 7  # no duplicate, nothing retried
    # The best point: arch b, width 2, depth 2.
    assert search.best_params_ == {"arch": "b", "width": 2, "depth": 2}
    assert search.best_score_ == pytest.approx(ToyClassifier(arch="b", width=2, depth=2)
                                               .quality() * (1 - 0.5 ** 3))
    assert search.cv_results_["rank_test_score"][search.best_index_] == 1


def test_conditional_parameters_are_masked_where_a_subspace_lacks_them(data):
    search = ArchitectureSearchCV(ToyClassifier(), GRID, cv=2).fit(*data)
    res = search.cv_results_
    is_b = np.asarray(res["param_arch"] == "b")
    assert res["param_depth"].mask.tolist() == (~is_b).tolist()
    assert not res["param_width"].mask.any()
    for p in res["params"]:
        assert ("depth" in p) == (p["arch"] == "b")


def test_cv_results_layout_is_gridsearchcv_like(data):
    search = ArchitectureSearchCV(ToyClassifier(), GRID, cv=3).fit(*data)
    res = search.cv_results_
    n = len(res["params"])
    for key in ("mean_fit_time", "std_fit_time", "mean_score_time", "std_score_time",
                "split0_test_score", "split1_test_score", "split2_test_score",
                "mean_test_score", "std_test_score", "rank_test_score", "state",
                "epochs_trained", "trial_number", "param_arch", "param_width"):
        assert len(res[key]) == n, key
    splits = np.c_[res["split0_test_score"], res["split1_test_score"], res["split2_test_score"]]
    np.testing.assert_allclose(res["mean_test_score"], splits.mean(axis=1))
    assert search.n_splits_ == 3
    assert res["epochs_trained"].tolist() == [3] * n
    assert res["rank_test_score"].dtype == np.int32


def test_tpe_and_random_run_n_trials_with_ranges(data):
    space = [{"arch": ["a"], "lr": Float(1e-3, 1.0, log=True), "width": Int(1, 4)},
             {"arch": ["b"], "depth": [1, 2]}]
    for sampler in ("tpe", "random"):
        search = ArchitectureSearchCV(ToyClassifier(), space, sampler=sampler, n_trials=8,
                                      cv=2, random_state=0).fit(*data)
        assert len(search.cv_results_["params"]) == 8
        for p in search.cv_results_["params"]:
            if p["arch"] == "a":
                assert 1e-3 <= p["lr"] <= 1.0 and 1 <= p["width"] <= 4
                assert isinstance(p["width"], int)
            else:
                assert set(p) == {"arch", "depth"}


def test_seeded_samplers_are_reproducible(data):
    space = {"arch": ["a", "b"], "lr": Float(1e-3, 1.0, log=True)}

    def run():
        search = ArchitectureSearchCV(ToyClassifier(), space, sampler="random", n_trials=5,
                                      cv=2, random_state=3).fit(*data)
        return search.cv_results_["params"]

    assert run() == run()


def test_n_trials_caps_a_grid(data):
    search = ArchitectureSearchCV(ToyClassifier(), GRID, n_trials=3, cv=2).fit(*data)
    assert len(search.cv_results_["params"]) == 3


def test_pruning_stops_trials_early_and_records_epochs(data):
    # Epoch-1 scores: arch a ~0.25, arch b ~0.40; the threshold prunes a at epoch 1.
    search = ArchitectureSearchCV(ToyClassifier(max_epochs=4), GRID, cv=2,
                                  pruner=optuna.pruners.ThresholdPruner(lower=0.3)).fit(*data)
    res = search.cv_results_
    for p, state, epochs in zip(res["params"], res["state"], res["epochs_trained"]):
        if p["arch"] == "a":
            assert (state, epochs) == ("PRUNED", 1)
        else:
            assert (state, epochs) == ("COMPLETE", 4)
    unpruned = ArchitectureSearchCV(ToyClassifier(max_epochs=4), GRID, cv=2).fit(*data)
    assert res["epochs_trained"].sum() < unpruned.cv_results_["epochs_trained"].sum()
    assert search.best_params_ == unpruned.best_params_
    # Complete trials rank before pruned ones.
    complete = res["state"] == "COMPLETE"
    assert res["rank_test_score"][complete].max() < res["rank_test_score"][~complete].min()
    # Optuna saw one intermediate value per epoch trained.
    for trial in search.study_.trials:
        assert len(trial.intermediate_values) == trial.user_attrs["epochs_trained"]


@pytest.mark.parametrize("pruner", ["median", "halving", "hyperband", "none"])
def test_named_pruners(data, pruner):
    search = ArchitectureSearchCV(ToyClassifier(max_epochs=4), GRID, cv=2,
                                  pruner=pruner).fit(*data)
    assert len(search.cv_results_["params"]) == 7
    assert search.best_params_["arch"] == "b"


def test_cv_splits_stay_fixed_for_every_epoch_and_trial(data):
    X, y = data
    ToyClassifier.calls.clear()
    search = ArchitectureSearchCV(ToyClassifier(record=True, max_epochs=3), GRID, cv=3,
                                  refit=False)
    search.fit(X, y)
    by_model = defaultdict(lambda: {"fit": [], "score": []})
    for model_id, kind, ids in ToyClassifier.calls:
        by_model[model_id][kind].append(ids)
    # 7 trials x 3 fold models, each trained and scored at every one of 3 epochs.
    assert len(by_model) == 7 * 3
    folds = set()
    for record in by_model.values():
        assert len(record["fit"]) == len(record["score"]) == 3
        assert len(set(record["fit"])) == 1, "training rows changed between epochs"
        assert len(set(record["score"])) == 1, "validation rows changed between epochs"
        train, valid = set(record["fit"][0]), set(record["score"][0])
        assert not train & valid, "validation rows were trained on"
        assert train | valid == set(range(len(y)))
        folds.add(record["score"][0])
    # The same 3 splits for every trial, their validation parts a partition of the data.
    assert len(folds) == 3
    assert sorted(i for fold in folds for i in fold) == list(range(len(y)))
    ToyClassifier.calls.clear()


def test_a_shuffling_cv_is_split_once(data):
    X, y = data
    ToyClassifier.calls.clear()
    ArchitectureSearchCV(ToyClassifier(record=True, max_epochs=2), {"width": [1, 2, 3]},
                         cv=KFold(3, shuffle=True), refit=False).fit(X, y)
    valid_sets = {ids for _, kind, ids in ToyClassifier.calls if kind == "score"}
    assert len(valid_sets) == 3  # not re-shuffled per trial or per epoch
    ToyClassifier.calls.clear()


def test_is_a_classifier_that_clones_and_exposes_params():
    search = ArchitectureSearchCV(SkMNISTClassifier(), GRID, pruner="median", n_jobs=1)
    assert is_classifier(search)
    cloned = clone(search)
    assert cloned.get_params()["pruner"] == "median"
    assert cloned.get_params()["estimator__max_epochs"] == "auto"
    search.set_params(estimator__max_epochs=2, cv=3)
    assert search.estimator.max_epochs == 2 and search.cv == 3
    regression = ArchitectureSearchCV(Ridge(), {"alpha": [0.1, 1.0]})
    assert not is_classifier(regression) and is_regressor(regression)


def test_a_regressor_is_searched_too(data):
    X, y = data
    search = ArchitectureSearchCV(Ridge(), {"alpha": [0.1, 1.0]}, cv=2).fit(X, y.astype(float))
    assert len(search.cv_results_["params"]) == 2
    assert search.predict(X).shape == (len(y),)


def test_refit_predicts_and_delegates(data):
    X, y = data
    search = ArchitectureSearchCV(ToyClassifier(), GRID, cv=2).fit(X, y)
    assert search.best_estimator_.get_params()["arch"] == "b"
    assert search.best_estimator_.n_iter_ == 3  # refitted with fit on all the data
    assert search.predict(X).shape == (len(y),)
    assert search.classes_.tolist() == [0, 1, 2]
    assert search.n_features_in_ == X.shape[1]
    assert search.score(X, y) == pytest.approx(search.best_estimator_.score(X, y))
    assert search.refit_time_ >= 0
    no_refit = ArchitectureSearchCV(ToyClassifier(), GRID, cv=2, refit=False).fit(X, y)
    assert not hasattr(no_refit, "best_estimator_")
    assert no_refit.best_params_ == search.best_params_
    assert not hasattr(no_refit, "predict")


def test_search_pickles(data):
    search = ArchitectureSearchCV(ToyClassifier(), GRID, cv=2).fit(*data)
    again = pickle.loads(pickle.dumps(search))
    assert again.best_params_ == search.best_params_
    assert len(again.study_.trials) == len(search.study_.trials)


def test_estimators_without_partial_fit_are_fitted_once_per_fold(data):
    X, y = data
    search = ArchitectureSearchCV(LogisticRegression(max_iter=50), {"C": [0.1, 1.0]},
                                  cv=2, pruner="median").fit(X, y)
    assert states(search) == ["COMPLETE", "COMPLETE"]
    assert all(trial.intermediate_values == {} for trial in search.study_.trials)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_sklearn_partial_fit_estimators_use_max_iter_as_epochs(data):
    X, y = data
    search = ArchitectureSearchCV(SGDClassifier(max_iter=3, random_state=0),
                                  {"alpha": [1e-4, 1e-2]}, cv=2).fit(X, y)
    assert search.cv_results_["epochs_trained"].tolist() == [3, 3]
    assert all(len(t.intermediate_values) == 3 for t in search.study_.trials)


def test_failing_candidates_are_recorded_and_the_rest_continue(data):
    space = [{"arch": ["a"], "fail": [True]}, {"arch": ["b"], "fail": [False]}]
    search = ArchitectureSearchCV(ToyClassifier(), space, cv=2).fit(*data)
    res = search.cv_results_
    assert list(res["state"]) == ["FAIL", "COMPLETE"]
    assert "always fails" in res["error"][0]
    assert np.isnan(res["mean_test_score"][0])
    assert res["rank_test_score"].tolist() == [2, 1]
    with pytest.raises(ValueError, match="No trial .* completed.*always fails"):
        ArchitectureSearchCV(ToyClassifier(), {"fail": [True]}, cv=2).fit(*data)


@pytest.mark.parametrize("kwargs, match", [
    (dict(search_space={}), "search_space is empty"),
    (dict(search_space={"lr": Float(0.1, 1.0)}), r"search_space\['lr'\].*sampler='grid'"),
    (dict(sampler="bayes"), "sampler must be one of"),
    (dict(sampler="tpe"), "n_trials is required"),
    (dict(sampler="random"), "n_trials is required"),
    (dict(n_trials=0), "n_trials must be"),
    (dict(pruner="sometimes"), "pruner must be"),
    (dict(n_jobs=0), "n_jobs must be"),
    (dict(timeout=-1), "timeout must be"),
    (dict(refit="yes"), "refit must be"),
    (dict(heartbeat_interval=0), "heartbeat_interval must be"),
    (dict(scoring=["accuracy", "f1"]), "one metric"),
    (dict(search_space={"colour": ["red"]}), "'colour', which ToyClassifier does not take"),
    (dict(storage=3.5), "storage must be"),
    (dict(n_jobs=2, storage=optuna.storages.InMemoryStorage()), "n_jobs > 1 needs"),
])
def test_bad_parameters_raise_value_errors_naming_them(data, kwargs, match):
    params = dict(estimator=ToyClassifier(), search_space=GRID, cv=2)
    params.update(kwargs)
    search = ArchitectureSearchCV(**params)
    with pytest.raises(ValueError, match=match):
        search.fit(*data)


def test_init_only_stores_parameters():
    space = object()
    search = ArchitectureSearchCV(ToyClassifier(), space, sampler="nonsense", n_jobs=-7)
    assert search.search_space is space and search.sampler == "nonsense"
    assert not [k for k in vars(search) if k.endswith("_")]


def test_resuming_a_study_in_a_file_continues_it(tmp_path, data):
    storage = str(tmp_path / "study.journal")
    first = ArchitectureSearchCV(ToyClassifier(), GRID, cv=2, storage=storage,
                                 study_name="resume", n_trials=3).fit(*data)
    assert len(first.cv_results_["params"]) == 3
    second = ArchitectureSearchCV(ToyClassifier(), GRID, cv=2, storage=storage,
                                  study_name="resume").fit(*data)
    assert len(second.cv_results_["params"]) == 7
    assert len(second.study_.trials) == 7  # the first three were not run again
    numbers = second.cv_results_["trial_number"].tolist()
    assert numbers == list(range(7))
    # Running it again finds nothing left to do.
    third = ArchitectureSearchCV(ToyClassifier(), GRID, cv=2, storage=storage,
                                 study_name="resume").fit(*data)
    assert len(third.study_.trials) == 7


def test_sqlite_storage_and_a_changed_space_is_refused(tmp_path, data):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    search = ArchitectureSearchCV(ToyClassifier(), GRID, cv=2, storage=url,
                                  study_name="s").fit(*data)
    assert len(search.cv_results_["params"]) == 7
    with pytest.raises(ValueError, match="another search space"):
        ArchitectureSearchCV(ToyClassifier(), {"width": [9]}, cv=2, storage=url,
                             study_name="s").fit(*data)


def test_skmnist_grid_on_the_bundled_sample(mnist_subset):
    """2 architectures x 3 settings: one trial per point, and the best model predicts."""
    X, y = mnist_subset
    space = [{"arch": ["mlp"], "hidden_units": [(8,), (16,), (32,)]},
             {"arch": ["cnn"], "channels": [(2,), (4,), (6,)], "hidden_units": [(16,)]}]
    estimator = SkMNISTClassifier(max_epochs=2, batch_size=64, device="cpu", random_state=0)
    search = ArchitectureSearchCV(estimator, space, cv=2, pruner="median").fit(X, y)
    res = search.cv_results_
    assert len(res["params"]) == 6
    assert len({repr(p) for p in res["params"]}) == 6
    assert len([t for t in search.study_.trials
                if t.user_attrs.get("duplicate_of") is None]) == 6
    assert set(res["state"]) <= {"COMPLETE", "PRUNED"}
    assert search.best_estimator_.arch_ == search.best_params_["arch"]
    assert search.predict(X[:5]).shape == (5,)
    assert search.predict_proba(X[:5]).shape == (5, 10)
    assert search.best_score_ > 0.3
