"""Search spaces: specs, grids over sub-spaces, sampling and decoding."""

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from skmnist.model_selection import Categorical, Float, Int
from skmnist.model_selection._space import CANDIDATE_PARAM, SUBSPACE_PARAM, SearchSpace


def test_grid_enumerates_every_point_of_every_subspace():
    space = SearchSpace([{"arch": ["mlp"], "hidden_units": [(64,), (128,), (256,)]},
                         {"arch": ["cnn"], "channels": [(8,), (16,)], "lr": [0.1, 0.01]}],
                        grid=True)
    assert space.n_candidates == 3 + 4
    assert space.candidates[0] == {"arch": "mlp", "hidden_units": (64,)}
    assert space.candidates[-1] == {"arch": "cnn", "channels": (16,), "lr": 0.01}
    assert space.param_names == ["arch", "hidden_units", "channels", "lr"]
    # Tuples are stored under their repr, primitives as they are.
    assert space.grid_label(1, "hidden_units") == "(128,)"
    assert space.grid_label(4, "lr") == 0.01
    assert space.grid_distribution("arch").choices == ("mlp", "cnn")


def test_a_dict_is_one_subspace_and_spec_objects_are_accepted_in_a_grid():
    space = SearchSpace({"a": Categorical([1, 2]), "b": CategoricalDistribution(["x", "y"]),
                         "c": range(3)}, grid=True)
    assert space.n_candidates == 2 * 2 * 3


@pytest.mark.parametrize("spec", [Float(0.1, 1.0), Int(1, 5), FloatDistribution(0.1, 1.0),
                                  IntDistribution(1, 4)])
def test_grid_rejects_ranges_naming_the_parameter(spec):
    with pytest.raises(ValueError, match=r"search_space\['lr'\].*sampler='grid'"):
        SearchSpace({"arch": ["mlp"], "lr": spec}, grid=True)


@pytest.mark.parametrize("bad, match", [
    ({}, "empty"),
    ([], "empty"),
    ([{"arch": ["mlp"]}, {}], r"search_space\[1\] is empty"),
    ({"lr": []}, r"\['lr'\] is an empty list"),
    ({"lr": 0.1}, r"\['lr'\] must be a list"),
    ({"lr": Float(1.0, 0.1)}, "low < high"),
    ({"lr": Float(0.0, 1.0, log=True)}, "low > 0"),
    ({"n": Int(1, 5, step=0)}, "step"),
    ({"a": [1, 1]}, "more than once"),
    ({CANDIDATE_PARAM: [1, 2]}, "reserved"),
    ("arch", "dict"),
])
def test_bad_spaces_raise_naming_the_problem(bad, match):
    with pytest.raises(ValueError, match=match):
        SearchSpace(bad, grid=False)


def test_sampled_space_picks_the_subspace_through_the_parameter_that_tells_them_apart():
    space = SearchSpace([{"arch": ["mlp"], "hidden_units": [(64,), (128,)],
                          "lr": Float(1e-4, 1e-2, log=True)},
                         {"arch": ["cnn"], "channels": [(8,), (16,)],
                          "lr": Float(1e-3, 1e-1, log=True)}], grid=False)
    assert space.selector == "arch"
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = set()
    for _ in range(20):
        trial = study.ask()
        params = space.suggest(trial)
        study.tell(trial, 0.5)
        seen.add(params["arch"])
        if params["arch"] == "cnn":
            assert set(params) == {"arch", "channels", "lr"}
            assert params["channels"] in ((8,), (16,))
            assert 1e-3 <= params["lr"] <= 1e-1
            # lr differs between the sub-spaces: stored per sub-space.
            assert "lr[cnn]" in trial.params
        else:
            assert set(params) == {"arch", "hidden_units", "lr"}
            assert 1e-4 <= params["lr"] <= 1e-2
        assert space.decode(study.trials[-1].params) == params
    assert seen == {"mlp", "cnn"}


def test_subspaces_without_a_distinguishing_parameter_get_a_subspace_choice():
    space = SearchSpace([{"a": [1, 2]}, {"b": Int(1, 3)}], grid=False)
    assert space.selector == SUBSPACE_PARAM
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    for _ in range(10):
        trial = study.ask()
        params = space.suggest(trial)
        assert set(params) in ({"a"}, {"b"})
        assert space.decode(trial.params) == params


def test_a_shared_identical_spec_keeps_its_plain_name():
    space = SearchSpace([{"arch": ["mlp"], "lr": Float(0.1, 1.0)},
                         {"arch": ["cnn"], "lr": Float(0.1, 1.0)}], grid=False)
    study = optuna.create_study()
    trial = study.ask()
    space.suggest(trial)
    assert set(trial.params) == {"arch", "lr"}


def test_decode_of_foreign_params_is_none():
    space = SearchSpace({"a": [1, 2]}, grid=True)
    assert space.decode({"something": 1}) is None
    assert space.decode({CANDIDATE_PARAM: 7}) is None


def test_spec_reprs_and_equality():
    assert repr(Float(1e-4, 1e-2, log=True)) == "Float(0.0001, 0.01, log=True)"
    assert repr(Int(1, 9, step=2)) == "Int(1, 9, step=2)"
    assert Categorical([(1,), 2]) == Categorical([(1,), 2])
    assert Float(0.1, 1.0) != Float(0.1, 2.0)
    assert SearchSpace({"a": [1]}, grid=True).fingerprint() != \
        SearchSpace({"a": [2]}, grid=True).fingerprint()
