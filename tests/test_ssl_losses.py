"""The SSL loss terms alone: shapes, values known by hand, gradients, descent, dual ascent."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from disbench.methods import ssl_losses as L


def unit(*shape: int, seed: int = 0) -> torch.Tensor:
    return F.normalize(torch.randn(*shape, generator=torch.Generator().manual_seed(seed)), dim=-1)


# --- spaces -----------------------------------------------------------------------
def test_space_sizes_give_the_rounding_remainder_to_content():
    assert L.space_sizes(16, [0.5, 0.25, 0.25]) == [8, 4, 4]
    assert L.space_sizes(10, [0.5, 0.25, 0.25]) == [6, 2, 2]
    assert L.space_sizes(7, [1 / 3, 1 / 3, 1 / 3]) == [3, 2, 2]


def test_normalize_spaces_makes_each_slice_unit_and_the_joint_norm_sqrt_of_the_space_count():
    z = torch.randn(5, 8) * 3
    out = L.normalize_spaces(z, [4, 2, 2])
    for part in L.split_spaces(out, [4, 2, 2]):
        torch.testing.assert_close(part.norm(dim=-1), torch.ones(5))
    torch.testing.assert_close(out.norm(dim=-1), torch.full((5,), math.sqrt(3)))


# --- alignment ----------------------------------------------------------------------
def test_infonce_alignment_known_values():
    q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    assert L.infonce_alignment(q, q, 0.5).item() == pytest.approx(-2.0)  # cos 1, divided by tau
    assert L.infonce_alignment(q, q.flip(1), 0.5).item() == pytest.approx(0.0)  # orthogonal pairs
    assert L.cosine_violation(q, q).item() == pytest.approx(0.0)
    assert L.cosine_violation(q, -q).item() == pytest.approx(2.0)


def test_mse_alignment_known_value():
    assert L.mse_alignment(torch.zeros(2, 2), torch.ones(2, 2) * 2).item() == pytest.approx(4.0)


# --- entropy terms ---------------------------------------------------------------------
def test_infonce_entropy_excludes_positives_known_value():
    # two examples, two views each; views of one example coincide, examples orthogonal
    e0, e1 = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    views = torch.stack([torch.stack([e0, e1]), torch.stack([e0, e1])])  # (V=2, B=2, D=2)
    # each anchor sees only the two views of the other example, at similarity 0: log(2 e^0)
    assert L.infonce_entropy(views, temperature=0.5).item() == pytest.approx(math.log(2))
    # if the positives leaked into the sum it would include e^(1/0.5) terms
    collapsed = torch.stack([torch.stack([e0, e0]), torch.stack([e0, e0])])
    assert L.infonce_entropy(collapsed, temperature=0.5).item() == pytest.approx(math.log(2) + 2.0)


def test_infonce_entropy_with_gathered_candidates_matches_the_local_computation():
    views = unit(3, 8, 5)
    whole = L.infonce_entropy(views, 0.2)
    # split the batch as two processes would and average their terms
    halves = [L.infonce_entropy(views[:, i * 4 : (i + 1) * 4], 0.2, views, offset=i * 4) for i in range(2)]
    torch.testing.assert_close(torch.stack(halves).mean(), whole)


def test_nt_xent_textbook_matches_cross_entropy_formulation():
    views = unit(2, 6, 4)
    tau = 0.3
    z = torch.cat([views[0], views[1]])  # (2B, D)
    logits = z @ z.T / tau
    logits.fill_diagonal_(float("-inf"))
    targets = torch.cat([torch.arange(6, 12), torch.arange(0, 6)])
    expected = F.cross_entropy(logits, targets)
    torch.testing.assert_close(L.nt_xent(views, tau, denominator="textbook"), expected)


def _two_examples_at_known_angles() -> tuple[torch.Tensor, float, float, float]:
    """Views (V=2, B=2, D=2) at angles 0, 90 (example 0) and 30, 120 degrees (example 1)."""
    def at(degrees: float) -> torch.Tensor:
        return torch.tensor([math.cos(math.radians(degrees)), math.sin(math.radians(degrees))])

    views = torch.stack([torch.stack([at(0), at(30)]), torch.stack([at(90), at(120)])])
    # every anchor has its positive at 90 degrees and two negatives (the views of the other example)
    return views, math.cos(math.radians(90)), math.cos(math.radians(30)), math.cos(math.radians(60))


def test_nt_xent_default_leaves_every_view_of_the_anchors_image_out_of_the_denominator_by_hand():
    views, positive, near, middle = _two_examples_at_known_angles()
    tau = 0.5
    e = lambda cos: math.exp(cos / tau)  # noqa: E731
    # anchors: q0 (0 deg) negatives q1 (30), k1 (120); q1 (30): q0 (0), k0 (90);
    #          k0 (90): q1 (30), k1 (120);       k1 (120): q0 (0), k0 (90)
    negatives = [(near, math.cos(math.radians(120))), (near, middle), (middle, near), (math.cos(math.radians(120)), near)]
    by_hand = sum(-positive / tau + math.log(e(a) + e(b)) for a, b in negatives) / 4
    assert L.nt_xent(views, tau).item() == pytest.approx(by_hand, abs=1e-6)
    assert L.nt_xent(views, tau, denominator="negatives").item() == pytest.approx(by_hand, abs=1e-6)
    # the textbook form keeps the positive in the denominator: log(e(p) + e(a) + e(b)) instead
    textbook = sum(-positive / tau + math.log(e(positive) + e(a) + e(b)) for a, b in negatives) / 4
    assert L.nt_xent(views, tau, denominator="textbook").item() == pytest.approx(textbook, abs=1e-6)


def test_nt_xent_default_with_several_positives_takes_the_log_of_their_summed_similarities():
    # the reference's positive term is -log sum_p exp s(a, p), not the mean of log-softmax terms
    views = unit(3, 4, 5, seed=3)
    tau = 0.4
    z = views.reshape(12, 5)
    logits = z @ z.T / tau
    example = torch.arange(4).repeat(3)
    same = example[:, None] == example[None, :]
    itself = torch.eye(12, dtype=torch.bool)
    positive = torch.logsumexp(logits.masked_fill(~same | itself, float("-inf")), dim=1)
    negative = torch.logsumexp(logits.masked_fill(same, float("-inf")), dim=1)
    torch.testing.assert_close(L.nt_xent(views, tau), (negative - positive).mean())


def test_nt_xent_with_gathered_candidates_matches_the_local_computation():
    views = unit(2, 8, 5, seed=4)
    for denominator in L.NT_XENT_DENOMINATORS:
        whole = L.nt_xent(views, 0.2, denominator=denominator)
        halves = [L.nt_xent(views[:, i * 4 : (i + 1) * 4], 0.2, views, i * 4, denominator) for i in range(2)]
        torch.testing.assert_close(torch.stack(halves).mean(), whole)


def test_nt_xent_refuses_an_unknown_denominator():
    with pytest.raises(ValueError, match="denominator must be one of negatives, textbook"):
        L.nt_xent(unit(2, 3, 4), 0.2, denominator="vissl")


def test_vicreg_terms_known_values():
    constant = torch.zeros(10, 3)
    # zero variance: the hinge is 1 - sqrt(1e-4) = 0.99 in every dimension
    assert L.variance_term(constant).item() == pytest.approx(0.99, abs=1e-6)
    assert L.covariance_term(constant).item() == pytest.approx(0.0)
    x = torch.randn(2000, 1, generator=torch.Generator().manual_seed(0))
    duplicated = torch.cat([x, x], dim=1)  # off-diagonal covariance = Var(x), counted twice, divided by D=2
    expected = torch.var(x).item() ** 2
    assert L.covariance_term(duplicated).item() == pytest.approx(expected, rel=1e-4)
    loss = L.vicreg_loss(duplicated, duplicated)
    assert set(loss) == {"loss", "invariance", "variance", "covariance"}
    assert loss["invariance"].item() == 0.0


@pytest.mark.parametrize(
    "loss_fn",
    [
        lambda z: L.infonce_entropy(F.normalize(z, dim=-1), 0.2),
        lambda z: L.nt_xent(F.normalize(z, dim=-1), 0.2),
        lambda z: L.nt_xent(F.normalize(z, dim=-1), 0.2, denominator="textbook"),
        lambda z: L.vicreg_loss(z[0], z[1])["loss"],
        lambda z: L.infonce_alignment(F.normalize(z[0], dim=-1), F.normalize(z[1], dim=-1), 0.2),
    ],
    ids=["infonce_entropy", "nt_xent", "nt_xent_textbook", "vicreg", "infonce_alignment"],
)
def test_losses_are_scalars_with_gradients_and_decrease_under_gradient_steps(loss_fn):
    z = torch.randn(2, 32, 8, generator=torch.Generator().manual_seed(1), requires_grad=True)
    optimiser = torch.optim.SGD([z], lr=0.1)
    first = loss_fn(z)
    assert first.shape == ()
    first.backward()
    assert z.grad is not None and torch.isfinite(z.grad).all() and z.grad.abs().sum() > 0
    for _ in range(30):
        optimiser.zero_grad()
        loss = loss_fn(z)
        loss.backward()
        optimiser.step()
    assert loss_fn(z).item() < first.item()


# --- dual ascent -----------------------------------------------------------------------
def test_dual_ascent_raises_violated_multipliers_and_returns_satisfied_ones_to_zero():
    lambdas = torch.tensor([1.0, 1.0])
    violated_then_held = torch.tensor([0.5, 0.0])  # space 0 violates the 0.01 tolerance, space 1 holds it
    for _ in range(10):
        lambdas = L.dual_ascent(lambdas, violated_then_held, tolerance=0.01, step_size=0.5)
    assert lambdas[0].item() == pytest.approx(1.0 + 10 * 0.5 * 0.49)  # rose by eta (c - tol) per step
    assert lambdas[1].item() == pytest.approx(1.0 - 10 * 0.5 * 0.01)  # fell by eta * tol per step
    # once every constraint holds, the multipliers decay to zero and stay there, never negative
    for _ in range(1000):
        lambdas = L.dual_ascent(lambdas, torch.tensor([0.0, 0.0]), tolerance=0.01, step_size=0.5)
    assert torch.equal(lambdas, torch.zeros(2))


def test_lambda_step_size_is_zero_in_its_warm_up_then_its_own_cosine_from_its_end():
    # eta_0 = 0.01 x 512 / 256 = 0.02; warm-up 100 of 1,100 steps; the reference ends at eta_0 / 1000
    def eta(step: int) -> float:
        return L.lambda_step_size(0.01, 512, step, total_steps=1100, warmup_steps=100, end_ratio=1e-3)

    assert eta(0) == 0.0 and eta(99) == 0.0
    assert eta(100) == pytest.approx(0.02)  # full size right after the warm-up: no ramp
    end = 0.02 * 1e-3
    assert eta(600) == pytest.approx(end + (0.02 - end) * 0.5)  # half way through the decay
    assert eta(350) == pytest.approx(end + (0.02 - end) * 0.5 * (1 + math.cos(math.pi / 4)))
    assert eta(1100) == pytest.approx(end)
    # the reference's formula (utils.adjust_learning_rate past the warm-up), transcribed
    def reference(step: int) -> float:
        start, stop = 0.02, 0.02 * 0.001
        return (start - stop) * 0.5 * (1 + math.cos(math.pi * (step - 100) / 1000)) + stop

    for step in (100, 237, 512, 999, 1099):
        assert eta(step) == pytest.approx(reference(step), rel=1e-12)
    # without a warm-up the schedule starts at step 0, independent of the learning rate's warm-up
    assert L.lambda_step_size(0.01, 256, 0, total_steps=10, warmup_steps=0, end_ratio=1e-3) == pytest.approx(0.01)
