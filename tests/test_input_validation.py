"""Public functions check what they can at trace time and name the bad argument.

Shape mismatches used to surface as raw XLA errors (``dot_general requires contracting
dimensions``) or an ``IndexError``; complex input to ``lambertw`` was silently cast to
its real part. Each case here must raise ``ValueError``/``TypeError`` naming the
argument, also under ``jit`` (the shapes are known when tracing), while the valid
inputs, including the pytree placeholders JAX builds internally, keep working.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ascentjax as aj


def _data(n: int = 4, d: int = 2) -> aj.Dataset:
    return aj.Dataset(
        x=jnp.ones((n, d)), y=jnp.ones(n), forget=jnp.zeros(n, bool), weight=jnp.ones(n)
    )


@pytest.mark.parametrize(
    "fields,error,match",
    [
        (dict(y=jnp.ones(3)), ValueError, "Dataset y must have shape \\(4,\\)"),
        (dict(forget=jnp.zeros(5, bool)), ValueError, "Dataset forget must have shape"),
        (dict(weight=jnp.ones(())), ValueError, "Dataset weight must have shape"),
        (dict(x=jnp.ones(4)), ValueError, "Dataset x must have shape \\(n, d\\)"),
        (dict(y=jnp.ones(4, complex)), TypeError, "Dataset y must have a real"),
        (dict(x="features"), TypeError, "Dataset x must be an array"),
    ],
)
def test_dataset_rejects_inconsistent_fields(fields, error, match) -> None:
    good = _data()._asdict()
    with pytest.raises(error, match=match):
        aj.Dataset(**(good | fields))


def test_dataset_still_a_pytree_for_every_transform() -> None:
    data = _data()
    # placeholders JAX puts in the fields (in_axes ints and None, shapes, sentinels)
    specs = aj.Dataset(0, 0, None, 0)
    stack = [jnp.stack([a, 2 * a]) for a in (data.x, data.y, data.weight)]
    shared = aj.Dataset(stack[0], stack[1], data.forget, stack[2])  # forget shared by all
    sums = jax.vmap(lambda d: d.x.sum() + d.forget.sum(), in_axes=(specs,))(shared)
    np.testing.assert_allclose(sums, [8.0, 16.0])
    shapes = jax.tree_util.tree_map(lambda a: a.shape, data, is_leaf=lambda a: hasattr(a, "shape"))
    assert shapes.x == (4, 2)
    # whole-data-set maps: a cast (forget becomes float) and per-field reductions
    cast = jax.tree_util.tree_map(lambda a: a.astype(jnp.float32), data)
    assert cast.forget.dtype == jnp.float32
    assert jax.tree_util.tree_map(jnp.sum, data).x == 8.0
    assert jax.jit(lambda d: d.n_total)(data) == 4.0


@pytest.mark.parametrize(
    "fn",
    [
        lambda w, d: aj.margins(w, d),
        lambda w, d: aj.retain_objective(w, d, 0.1),
        lambda w, d: aj.pretrain_objective(w, d, 0.1),
        lambda w, d: aj.da_objective(w, d, 0.1, "logistic"),
        lambda w, d: jax.jit(jax.grad(lambda v: aj.da_objective(v, d, 0.1)))(w),
        lambda w, d: aj.run_rule(aj.pretrain(0.1, lam=0.1), w, d, steps=2),
    ],
    ids=["margins", "retain", "pretrain", "da", "jit-grad", "run_rule"],
)
def test_weights_of_the_wrong_shape_name_w(fn) -> None:
    with pytest.raises(ValueError, match=r"w must have shape \(2,\) to match data.x"):
        fn(jnp.zeros(3), _data())


def test_accuracy_names_the_mismatched_argument() -> None:
    x, y = jnp.ones((5, 2)), jnp.ones(5)
    with pytest.raises(ValueError, match=r"w must have shape \(2,\)"):
        aj.accuracy(jnp.ones(3), x, y)
    with pytest.raises(ValueError, match=r"y must have shape \(5,\)"):
        aj.accuracy(jnp.ones(2), x, jnp.ones(4))
    assert float(aj.accuracy(jnp.ones(2), x, y)) == 1.0


def test_window_edges_checks_the_mask() -> None:
    with pytest.raises(ValueError, match="mask must have the shape of alphas"):
        aj.theory.window_edges([0.1, 0.2, 0.3], [True, False])
    with pytest.raises(TypeError, match="mask must be boolean"):
        aj.theory.window_edges([0.1, 0.2], [1, 0])
    assert aj.theory.window_edges([0.1, 0.2, 0.3], np.array([False, True, True])) == (0.2, 0.3)


@pytest.mark.parametrize(
    "p,q,name", [((0,), (5,), "p_samples"), ((5,), (0,), "q_samples"), ((), (5,), "p_samples")]
)
def test_binned_kl_needs_samples(p, q, name) -> None:
    with pytest.raises(ValueError, match=f"{name} needs at least one sample"):
        aj.nets.binned_kl(jnp.zeros(p), jnp.zeros(q))


@pytest.mark.parametrize("z", [1 + 1j, jnp.array([1.0, 2.0], jnp.complex64)])
def test_lambertw_rejects_complex_input(z) -> None:
    with pytest.raises(TypeError, match="z must be real"):
        aj.lambertw(z)
    with pytest.raises(TypeError, match="z must be real"):
        jax.jit(aj.lambertw)(z)


def test_lambertw_accepts_integers() -> None:
    # W(1) = Omega = 0.5671432904097838 (the omega constant, independent of the code)
    assert float(aj.lambertw(1)) == pytest.approx(0.5671432904097838, rel=1e-12)
