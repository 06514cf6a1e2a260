"""Problem types: pytrees, validation, and data equal to the generators'."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ascentjax as aj


def _assert_same_data(a: aj.Dataset, b: aj.Dataset) -> None:
    for name in ("x", "y", "forget", "weight"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
        assert getattr(a, name).dtype == getattr(b, name).dtype, name


def test_one_coordinate_data_equals_generator() -> None:
    p = aj.OneCoordinate(alpha=0.5, lam=0.01, block_size=5, n_retain=100, n_forget=10)
    _assert_same_data(p.data(), aj.one_coordinate_data(None, 5, 0.5, 100, 10))
    key = jax.random.key(3)
    _assert_same_data(
        p.data(key, noise=0.1, dtype=jnp.float32),
        aj.one_coordinate_data(key, 5, 0.5, 100, 10, noise=0.1, dtype=jnp.float32),
    )


def test_block_data_equals_generator() -> None:
    b = aj.Block(rho=0.8, alpha=0.05, lam=0.01)
    ref = aj.cross_correlated_data(None, 0.8, 0.05, block_size=50, n_retain=900, n_forget=100)
    _assert_same_data(b.data(), ref)
    key = jax.random.key(1)
    _assert_same_data(
        b.data(key, noise=0.2),
        aj.cross_correlated_data(
            key, 0.8, 0.05, block_size=50, n_retain=900, n_forget=100, noise=0.2
        ),
    )


def test_defaults_and_static_loss() -> None:
    b = aj.Block(rho=0.5, alpha=0.1, lam=0.02)
    assert (b.block_size, b.n_retain, b.n_forget, b.loss) == (50.0, 900.0, 100.0, "exp")
    leaves, treedef = jax.tree.flatten(aj.Block(0.5, 0.1, 0.02, loss="logistic"))
    assert leaves == [0.5, 0.1, 0.02, 50.0, 900.0, 100.0]  # loss is not a leaf
    assert jax.tree.unflatten(treedef, leaves).loss == "logistic"
    with pytest.raises(dataclasses.FrozenInstanceError):
        b.rho = 0.3  # type: ignore[misc]


def test_vmap_and_jit_over_a_batch_of_problems() -> None:
    rhos = jnp.array([0.1, 0.5, 0.9])
    alphas = jnp.array([0.0, 0.05, 0.2])
    batch = aj.Block(
        rho=rhos,
        alpha=alphas,
        lam=jnp.full(3, 0.01),
        block_size=jnp.full(3, 50.0),
        n_retain=jnp.full(3, 900.0),
        n_forget=jnp.full(3, 100.0),
    )

    def forget_margin_weight(b: aj.Block) -> jax.Array:
        return b.rho * b.alpha * b.block_size / b.n_forget

    out = jax.jit(jax.vmap(forget_margin_weight))(batch)
    np.testing.assert_allclose(out, np.array([0.1, 0.5, 0.9]) * [0.0, 0.05, 0.2] * 0.5)

    # data under vmap: block_size is not mapped (it fixes the number of rows)
    axes = aj.Block(rho=0, alpha=0, lam=None, block_size=None, n_retain=None, n_forget=None)
    xs = jax.vmap(lambda b: b.data().x, in_axes=(axes,))(aj.Block(rho=rhos, alpha=alphas, lam=0.01))
    assert xs.shape == (3, 102, 2)
    for i in range(3):
        ref = aj.cross_correlated_data(
            None, float(rhos[i]), float(alphas[i]), block_size=50, n_retain=900, n_forget=100
        )
        np.testing.assert_array_equal(xs[i], ref.x)

    # a one-coordinate problem traced through jit
    w = jax.jit(lambda a: aj.OneCoordinate(alpha=a, lam=0.01).data().weight)(0.3)
    np.testing.assert_allclose(w[50:100], 0.3)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"rho": 1.0}, "rho"),
        ({"rho": -0.1}, "rho"),
        ({"alpha": -1.0}, "alpha"),
        ({"lam": 0.0}, "lam"),
        ({"block_size": 0.0}, "block_size"),
        ({"n_retain": 10.0}, "n_retain"),
        ({"n_forget": 1.0, "alpha": 0.5}, "n_forget"),
        ({"loss": "hinge"}, "loss"),
        ({"rho": float("nan")}, "rho"),
    ],
)
def test_block_validation_names_the_field(kwargs: dict, field: str) -> None:
    args = {"rho": 0.5, "alpha": 0.1, "lam": 0.01, **kwargs}
    with pytest.raises(ValueError, match=field):
        aj.Block(**args)


def test_one_coordinate_validation() -> None:
    with pytest.raises(ValueError, match="lam"):
        aj.OneCoordinate(alpha=0.1, lam=-1.0)
    with pytest.raises(ValueError, match="alpha"):
        aj.OneCoordinate(alpha=jnp.array([0.1, -0.2]), lam=0.1)
    with pytest.raises(TypeError, match="alpha"):
        aj.OneCoordinate(alpha="0.1", lam=0.1)
    with pytest.raises(TypeError, match="block_size"):
        aj.OneCoordinate(alpha=0.1, lam=0.1, block_size=jnp.array([5.0, 6.0])).data()
    with pytest.raises(ValueError, match="block_size"):
        aj.OneCoordinate(alpha=0.1, lam=0.1, block_size=5.5).data()
