"""The content-addressed ensemble cache: reused for an equal configuration, never for a
changed one (data, forget set, model, training configuration or key)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ascentjax import nets


def _config(**change):
    x = np.arange(12.0).reshape(6, 2)
    cfg = dict(
        x=x, y=np.array([0, 1, 0, 1, 0, 1]), forget=np.array([1, 4]), model=nets.MLP((8,), 2),
        train=dict(epochs=2, batch_size=3, learning_rate=0.05), key=jax.random.key(0),
    )  # fmt: skip
    cfg.update(change)
    return cfg


def test_equal_config_reuses_and_any_change_recomputes(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return dict(params={"w": jnp.full((2, 3), float(len(calls)))}, margins=np.ones((2, 4)))

    r1, hit1 = nets.cached(tmp_path, "oracle", _config(), compute)
    r2, hit2 = nets.cached(tmp_path, "oracle", _config(), compute)
    assert (hit1, hit2) == (False, True) and len(calls) == 1
    np.testing.assert_array_equal(np.asarray(r2["params"]["w"]), np.asarray(r1["params"]["w"]))
    assert isinstance(r2["params"]["w"], jax.Array) and isinstance(r2["margins"], np.ndarray)
    x2 = np.arange(12.0).reshape(6, 2)
    x2[3, 1] += 1e-9  # one data value
    changes = [
        dict(x=x2),
        dict(forget=np.array([1, 5])),
        dict(model=nets.MLP((9,), 2)),
        dict(model=nets.SmallCNN((8, 8), 2)),
        dict(train=dict(epochs=3, batch_size=3, learning_rate=0.05)),
        dict(train=dict(epochs=2, batch_size=3, learning_rate=0.05, momentum=0.0)),
        dict(key=jax.random.key(1)),
        dict(y=np.array([0, 1, 0, 1, 0, 1], np.int32)),  # same values, other dtype
    ]
    for i, change in enumerate(changes):
        r, hit = nets.cached(tmp_path, "oracle", _config(**change), compute)
        assert not hit and len(calls) == 2 + i, change
        assert float(r["params"]["w"][0, 0]) == 2 + i  # the fresh result, not a stale one
    assert len([p for p in tmp_path.iterdir() if p.is_dir()]) == 1 + len(changes)
    # None disables the cache; a bad name or an unencodable config is refused
    assert nets.cached(None, "oracle", _config(), compute)[1] is False
    with pytest.raises(ValueError, match="name"):
        nets.cached(tmp_path, "a/b", _config(), compute)
    with pytest.raises(TypeError, match="object"):
        nets.content_hash({"f": object()})
