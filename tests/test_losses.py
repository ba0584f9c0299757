import math

import numpy as np
import pytest

from colorize_cli import losses
from colorize_cli._keras import keras, tf

ones = np.ones((2, 30, 30, 1), np.float32)
zeros = np.zeros((2, 30, 30, 1), np.float32)


def value(x):
    return float(np.asarray(x))


def test_lsgan_is_zero_at_its_targets():
    assert value(losses.lsgan_d(ones, zeros)) == 0
    assert value(losses.lsgan_g(ones)) == 0
    assert value(losses.lsgan_d(zeros, ones)) == pytest.approx(1.0)  # 0.5 * 1 + 0.5 * 1


def test_bce_of_zero_logits_is_log_2():
    assert value(losses.gan_g(zeros)) == pytest.approx(math.log(2), rel=1e-6)
    assert value(losses.gan_d(zeros, zeros)) == pytest.approx(2 * math.log(2), rel=1e-6)


def test_one_sided_label_smoothing_moves_only_the_real_target():
    smoothed = value(losses.lsgan_d(0.9 * ones, zeros, label_smoothing=0.1))
    assert smoothed == pytest.approx(0.0, abs=1e-7)
    # BCE with target 0.9 is minimal at p = 0.9, i.e. logit log(9)
    logit = math.log(9) * ones
    x = tf.Variable(logit)
    with tf.GradientTape() as tape:
        loss = losses.gan_d(x, zeros - 50, label_smoothing=0.1)
    assert np.abs(tape.gradient(loss, x).numpy()).max() < 1e-6


def test_wgan_signs():
    assert value(losses.wgan_d(ones, zeros)) == -1  # critic rewarded for real > fake
    assert value(losses.wgan_g(ones)) == -1


def test_gradient_penalty_of_a_linear_critic():
    """D(l, ab) = sum(w * ab): the gradient is w everywhere, so the penalty is (||w|| - 1)^2."""
    w = np.random.default_rng(0).normal(size=(1, 8, 8, 2)).astype(np.float32)

    def critic(inputs, training=False):
        _, ab = inputs
        return keras.ops.sum(ab * w, axis=[1, 2, 3])

    real = np.random.default_rng(1).normal(size=(3, 8, 8, 2)).astype(np.float32)
    fake = np.random.default_rng(2).normal(size=(3, 8, 8, 2)).astype(np.float32)
    alpha = np.random.default_rng(3).uniform(size=(3, 1, 1, 1)).astype(np.float32)
    gp = value(losses.gradient_penalty(critic, np.zeros((3, 8, 8, 1), np.float32), real, fake, alpha))
    assert gp == pytest.approx((np.linalg.norm(w) - 1) ** 2, rel=1e-4)


def test_ebgan_hinge_is_zero_at_the_margin():
    real_energy = np.zeros(4, np.float32)
    assert value(losses.ebgan_d(real_energy, np.full(4, 0.3, np.float32), margin=0.3)) == 0
    assert value(losses.ebgan_d(real_energy, np.full(4, 0.1, np.float32), margin=0.3)) == pytest.approx(0.2)
    assert value(losses.ebgan_g(np.full(4, 0.1, np.float32))) == pytest.approx(0.1)


def test_energy_is_per_sample_rms():
    ab = np.zeros((2, 4, 4, 2), np.float32)
    recon = np.stack([np.full((4, 4, 2), 0.5), np.zeros((4, 4, 2))]).astype(np.float32)
    np.testing.assert_allclose(np.asarray(losses.energy(ab, recon)), [0.5, 0.0], atol=1e-5)


def test_pull_away_of_orthogonal_and_identical_embeddings():
    orthogonal = np.eye(4, dtype=np.float32).reshape(4, 2, 2, 1)
    assert value(losses.pull_away(orthogonal)) == pytest.approx(0.0, abs=1e-7)
    identical = np.ones((4, 2, 2, 1), np.float32)
    assert value(losses.pull_away(identical)) == pytest.approx(1.0, rel=1e-5)


def test_reconstruction_terms():
    a = np.zeros((1, 2, 2, 2), np.float32)
    b = np.full((1, 2, 2, 2), 0.5, np.float32)
    assert value(losses.l1(a, b)) == pytest.approx(0.5)
    assert value(losses.l2(a, b)) == pytest.approx(0.25)


def test_rebalanced_l1_weights_each_pixel_by_its_true_colour_cell():
    import numpy as np

    from colorize_cli import losses

    bins = 4
    target = np.zeros((1, 2, 2, 2), np.float32)
    target[0, 0, 0] = [0.9, 0.9]  # a saturated pixel: cell (3, 3); the rest sit in cell (2, 2)
    prediction = np.zeros_like(target)  # error 0.9 on the saturated pixel only
    uniform = np.ones(bins * bins, np.float32)
    assert float(losses.rebalanced_l1(target, prediction, uniform, bins)) == pytest.approx(float(losses.l1(target, prediction)))
    rare = uniform.copy()
    rare[3 * bins + 3] = 5.0
    assert float(losses.rebalanced_l1(target, prediction, rare, bins)) == pytest.approx(5 * 0.9 / 4)


def test_rebalancing_weights_favour_rare_colours(tmp_path):
    import cv2
    import numpy as np

    from colorize_cli import data

    paths = []
    for i in range(6):  # mostly gray photos with a small saturated red square
        image = np.full((64, 64, 3), 120 + 10 * i, np.uint8)
        image[:8, :8] = (30, 30, 220)
        paths.append(tmp_path / f"{i}.png")
        cv2.imwrite(str(paths[-1]), image)
    weights = data.ab_rebalancing_weights(paths, 0.5).reshape(data.AB_BINS, data.AB_BINS)
    centre = data.AB_BINS // 2
    red_lab = data.colorspace.bgr_to_lab(np.array([[[30, 30, 220]]], np.uint8))[0, 0]
    red = tuple(int((v / 110 + 1) * 0.5 * data.AB_BINS) for v in red_lab[1:])
    assert weights[red] > 3 * weights[centre, centre]
    _, ab = data.load_pair(paths[0], 64, 0, augment=False)
    cells = np.clip(np.floor((ab.reshape(-1, 2) + 1) * 0.5 * data.AB_BINS), 0, data.AB_BINS - 1).astype(int)
    assert weights[cells[:, 0], cells[:, 1]].mean() == pytest.approx(1.0, rel=0.35)  # the loss keeps its scale
    assert np.array_equal(data.ab_rebalancing_weights(paths, 0.0) > 0, np.ones(data.AB_BINS ** 2, bool))
