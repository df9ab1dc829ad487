"""End-to-end learning with scratchgen alone: nn layers, functional losses, autograd and an
optimizer together must actually fit data (the acceptance tests of the nn/optim issue)."""
import numpy as np
import pytest

import scratchgen as sg
import scratchgen.functional as F
import scratchgen.nn as nn
import scratchgen.optim as optim


def test_mlp_learns_xor():
    sg.manual_seed(0)
    x = sg.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = sg.tensor([[0.0], [1.0], [1.0], [0.0]])
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
    opt = optim.Adam(model.parameters(), lr=0.05)
    for _ in range(500):
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(model(x), y)
        loss.backward()
        opt.step()
    assert loss.item() < 0.01
    predictions = (model(x).data > 0).astype(np.float32)
    np.testing.assert_array_equal(predictions, y.data)  # 4 out of 4


def test_classifier_beats_95_percent_on_sklearn_digits():
    datasets = pytest.importorskip("sklearn.datasets")
    images, labels = datasets.load_digits(return_X_y=True)  # (1797, 64) pixels in 0..16
    images = (images / 16).astype(np.float32)
    order = np.random.default_rng(0).permutation(len(images))  # a seeded 75/25 split
    train, test = order[:1350], order[1350:]
    x_train, y_train, x_test, y_test = images[train], labels[train], images[test], labels[test]
    sg.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Dropout(0.1), nn.Linear(128, 10))
    opt = optim.Adam(model.parameters(), lr=3e-3)
    rng = np.random.default_rng(0)
    for epoch in range(15):
        order = rng.permutation(len(x_train))
        for start in range(0, len(order), 64):
            batch = order[start:start + 64]
            opt.zero_grad()
            F.cross_entropy(model(sg.Tensor(x_train[batch])), y_train[batch]).backward()
            opt.step()
    model.eval()
    with sg.no_grad():
        accuracy = (model(sg.Tensor(x_test)).argmax(axis=1) == y_test).mean()
    assert accuracy > 0.95, f"test accuracy {accuracy:.3f}"
