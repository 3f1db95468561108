"""The epoch runner (skmnist/_training.py): seeding, early stopping, Ctrl-C, run state."""

import numpy as np
import pytest
import torch
from skorch.callbacks import LRScheduler

from skmnist._engine import SkorchEngineNet, TensorBatchIterator
from skmnist._training import EpochRunner, lr_scheduler, rest


def _net(lr=0.1, schedule=True, optimizer=torch.optim.SGD):
    torch.manual_seed(0)
    callbacks = [("lr", LRScheduler(torch.optim.lr_scheduler.StepLR, step_size=1,
                                    gamma=0.5))] if schedule else []
    net = SkorchEngineNet(
        module=torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2)),
        criterion=torch.nn.CrossEntropyLoss, optimizer=optimizer, lr=lr,
        batch_size=8, iterator_train=TensorBatchIterator, iterator_train__shuffle=True,
        iterator_valid=TensorBatchIterator, train_split=None, classes=[0, 1],
        callbacks=callbacks, device="cpu", verbose=0)
    return net.initialize()


@pytest.fixture
def data():
    rng = np.random.RandomState(0)
    X = torch.as_tensor(rng.rand(32, 1, 1, 4), dtype=torch.float32)
    y = torch.as_tensor((X[:, 0, 0, 0] > 0.5).long())
    return X, y


def test_state_dict_round_trip_and_epoch_seeds():
    runner = EpochRunner(7)
    runner.n_iter, runner.run_epochs = 3, 2
    again = EpochRunner.from_state_dict(runner.state_dict())
    assert again.state_dict() == {"seed": 7, "n_iter": 3, "run_epochs": 2}
    assert again.epoch_seed() == runner.epoch_seed()
    seeds = set()
    for n in range(5):
        runner.n_iter = n
        seeds.add(runner.epoch_seed())
    assert len(seeds) == 5  # every epoch its own seed
    assert EpochRunner(8).epoch_seed() != EpochRunner(7).epoch_seed()


def test_run_counts_epochs_and_calls_the_hooks(data):
    X, y = data
    net, runner, calls = _net(), EpochRunner(0), []
    runner.begin(net, X, y, new_run=True)
    interrupted = runner.run(net, X, y, 3, before_epoch=lambda: calls.append("before"),
                             after_epoch=lambda: calls.append("after"))
    runner.end(net, X, y, end_run=True)
    assert not interrupted and runner.n_iter == runner.run_epochs == 3
    assert calls == ["before", "after"] * 3
    assert len(net.history) == 3 and not net.module_.training
    runner.run(net, X, y, 1, count_run=False)  # partial_fit: counted, not part of the run
    assert (runner.n_iter, runner.run_epochs) == (4, 3)


def test_a_run_is_reproducible_from_its_seed(data):
    X, y = data
    weights = []
    for _ in range(2):
        net, runner = _net(), EpochRunner(3)
        runner.begin(net, X, y, new_run=True)
        runner.run(net, X, y, 2)
        weights.append(net.module_[1].weight.detach().clone())
    assert torch.equal(*weights)


def test_early_stopping_restores_the_best_weights(data):
    X, y = data
    net, runner = _net(), EpochRunner(0)
    runner.begin(net, X, y, new_run=True)
    losses = iter([1.0, 0.5, 0.7, 0.8, 0.9, 0.4])
    states = []

    def after():
        net.history.record("train_loss", next(losses))
        states.append({k: v.clone() for k, v in net.module_.state_dict().items()})

    runner.run(net, X, y, 6, monitor="train_loss", patience=2, tol=0.0, restore_best=True,
               after_epoch=after)
    assert runner.n_iter == 4  # stopped after two epochs without improvement
    best = states[1]  # the epoch with loss 0.5
    assert all(torch.equal(best[k], v) for k, v in net.module_.state_dict().items())


def test_ctrl_c_restores_the_last_completed_epoch(data, monkeypatch):
    X, y = data
    net, runner = _net(), EpochRunner(0)
    runner.begin(net, X, y, new_run=True)
    runner.run(net, X, y, 1)
    saved = {k: v.clone() for k, v in net.module_.state_dict().items()}
    lr_before = net.optimizer_.param_groups[0]["lr"]
    original = SkorchEngineNet.train_step
    calls = {"n": 0}

    def train_step(self, batch, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(self, batch, **kwargs)

    monkeypatch.setattr(SkorchEngineNet, "train_step", train_step)
    with pytest.warns(UserWarning, match="during epoch 2.*epoch \\(1\\)"):
        assert runner.run(net, X, y, 3) is True
    assert runner.n_iter == 1 and len(net.history) == 1
    assert all(torch.equal(saved[k], v) for k, v in net.module_.state_dict().items())
    assert net.optimizer_.param_groups[0]["lr"] == lr_before


def test_a_resumed_run_fast_forwards_the_schedule(data):
    X, y = data
    net, runner = _net(), EpochRunner(0)
    runner.begin(net, X, y, new_run=True)
    runner.run(net, X, y, 2)
    lr_after_two = net.optimizer_.param_groups[0]["lr"]
    resumed = EpochRunner.from_state_dict(runner.state_dict())
    fresh = _net()
    resumed.begin(fresh, X, y, new_run=True, resumed=True)
    assert fresh.optimizer_.param_groups[0]["lr"] == pytest.approx(lr_after_two)
    assert resumed.run_epochs == 2


def test_partial_fit_continues_a_begun_run(data):
    X, y = data
    net, runner = _net(), EpochRunner(0)
    runner.begin(net, X, y, new_run=False)
    runner.run(net, X, y, 1, count_run=False)
    scheduler = lr_scheduler(net)
    runner.begin(net, X, y, new_run=False)  # a second partial_fit: the schedule goes on
    assert lr_scheduler(net) is scheduler
    runner.begin(net, X, y, new_run=True)   # a fit: it starts again
    assert lr_scheduler(net) is not scheduler


def test_rest_puts_the_net_in_eval_mode():
    net = _net(schedule=False)
    net.module_.train()
    rest(net)
    assert not net.module_.training


@pytest.mark.parametrize("interrupted_epoch", [1, 2])
def test_training_on_after_ctrl_c_equals_an_uninterrupted_run(data, monkeypatch,
                                                              interrupted_epoch):
    """The undo restores everything an epoch changes (weights, Adam's moments, steps)."""
    X, y = data
    reference, runner = _net(lr=0.01, optimizer=torch.optim.Adam), EpochRunner(0)
    runner.begin(reference, X, y, new_run=True)
    runner.run(reference, X, y, 3)

    net, runner = _net(lr=0.01, optimizer=torch.optim.Adam), EpochRunner(0)
    runner.begin(net, X, y, new_run=True)
    runner.run(net, X, y, interrupted_epoch - 1)
    original = SkorchEngineNet.train_step
    calls = {"n": 0}

    def train_step(self, batch, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:  # the third batch of the interrupted epoch (of 4)
            raise KeyboardInterrupt
        return original(self, batch, **kwargs)

    monkeypatch.setattr(SkorchEngineNet, "train_step", train_step)
    with pytest.warns(UserWarning, match="interrupted"):
        assert runner.run(net, X, y, 1) is True
    monkeypatch.undo()
    runner.run(net, X, y, 3 - runner.n_iter)
    for key, value in reference.module_.state_dict().items():
        assert torch.equal(value, net.module_.state_dict()[key]), key
    ref_state, state = reference.optimizer_.state_dict(), net.optimizer_.state_dict()
    assert ref_state["param_groups"] == state["param_groups"]
    for p in ref_state["state"]:
        for key in ref_state["state"][p]:
            assert torch.equal(ref_state["state"][p][key], state["state"][p][key]), key


def test_a_fitted_model_keeps_no_training_data(data):
    import pickle

    from skmnist import SkMNISTClassifier

    X, y = data
    clf = SkMNISTClassifier(arch="mlp", hidden_units=(4,), max_epochs=2, device="cpu",
                            random_state=0).fit(X.numpy().reshape(len(X), -1), y.numpy())
    assert getattr(clf.net_, "_dataset_cache", None) is None
    clf.partial_fit(X.numpy().reshape(len(X), -1), y.numpy())
    assert getattr(clf.net_, "_dataset_cache", None) is None
    assert len(pickle.dumps(clf)) < 200_000
