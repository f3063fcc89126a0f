"""convtrace.trace(lr=…) and convtrace.train(…) in a notebook: objects that display themselves,
numbers judged by the plain torch loop of test_train."""

import numpy as np
import pytest

import convtrace
from convtrace.core.optim import SGD
from tests.sgd.test_train import _scenario, _torch_losses

NET = dict(net="conv(4,3) relu maxpool(2) fc(3)", size=8, batch=4, loss="ce", classes=3, seed=3)


def test_train_object_displays_its_curve_and_agrees():
    r = convtrace.train(**NET, steps=12, lr=0.05)
    judge, _ = _torch_losses(_scenario(), 12, 0.05, 0.0)
    np.testing.assert_allclose(r.losses, judge, rtol=1e-4)
    bundle = r._repr_mimebundle_()
    assert "●" in bundle["text/plain"] and "torch&#x27;s loop" in bundle["text/html"]
    assert "agrees with torch's loop" in repr(r) and not r.failures
    doc = r.to_dict()
    assert len(doc["steps"]) == 12 and doc["stages"][0]["name"] == "final.conv.weight"


def test_train_object_says_when_it_disagrees(monkeypatch):
    monkeypatch.setattr(SGD, "direction", lambda self, name, w, g: np.asarray(g, w.dtype) * 3)
    r = convtrace.train(**NET, steps=4, lr=0.05)
    assert r.failures and "disagree" in repr(r)


def test_trace_with_lr_has_the_step():
    t = convtrace.trace(seed=42, lr=0.1, momentum=0.5)
    assert "update.conv.weight" in t and "momentum.fc.bias" in t and not t.failures
    assert "update.loss" in t._repr_mimebundle_()["text/plain"]


@pytest.mark.parametrize("bad", [dict(lr="fast"), dict(steps=0), dict(stepz=3)])
def test_bad_keywords(bad):
    call = convtrace.trace if "lr" in bad else convtrace.train
    with pytest.raises(convtrace.ConvtraceError):
        call(**bad)
