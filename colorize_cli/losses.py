"""Loss functions as small pure functions of tensors (keras.ops), one pair per GAN objective.

Naming: `<objective>_d(real, fake)` is what the discriminator minimises, `<objective>_g(fake)`
what the generator's adversarial term minimises. Scores are raw (no sigmoid inside the nets).
"""

from __future__ import annotations

from colorize_cli._keras import keras, tf

ops = keras.ops


def l1(target, prediction):
    return ops.mean(ops.abs(target - prediction))


def l2(target, prediction):
    """Mean squared error. The original code used tf.nn.l2_loss (half the *sum* over the batch),
    which made 'L2 = 1' runs pure regression; a mean keeps the weight comparable to L1's."""
    return ops.mean(ops.square(target - prediction))


def rebalanced_l1(target, prediction, bin_weights, bins: int):
    """L1 with each pixel weighted by the rarity of its true colour: Zhang et al.'s class rebalancing
    (ECCV 2016, eq. 4) carried over to regression. Plain L1 lets the common near-gray colours dominate,
    so a rare saturated object (a red door) is pulled towards brown; weighting its pixels by
    1 / ((1 - lambda) p(ab) + lambda / Q) keeps its colour worth predicting.

    `target`, `prediction`: normalised ab in [-1, 1]; `bin_weights`: (bins * bins,) weights of the ab
    grid's cells (`data.ab_rebalancing_weights`), a-major."""
    cells = ops.cast(ops.clip(ops.floor((target + 1.0) * 0.5 * bins), 0, bins - 1), "int32")
    weights = ops.take(bin_weights, cells[..., 0] * bins + cells[..., 1])
    return ops.mean(weights * ops.mean(ops.abs(target - prediction), axis=-1))


def _bce_with_logits(logits, target):
    # softplus(x) - t*x is the numerically stable binary cross-entropy of a logit
    return ops.mean(ops.softplus(logits) - target * logits)


def gan_d(real, fake, label_smoothing: float = 0.0):
    """Vanilla GAN (binary cross-entropy). One-sided label smoothing lowers only the real target."""
    return _bce_with_logits(real, 1.0 - label_smoothing) + _bce_with_logits(fake, 0.0)


def gan_g(fake):
    """Non-saturating generator loss: -log sigmoid(D(fake))."""
    return _bce_with_logits(fake, 1.0)


def lsgan_d(real, fake, label_smoothing: float = 0.0):
    """Least squares (a=0, b=1) on raw scores, as pix2pix/CycleGAN do."""
    return 0.5 * ops.mean(ops.square(real - (1.0 - label_smoothing))) + 0.5 * ops.mean(ops.square(fake))


def lsgan_g(fake):
    return 0.5 * ops.mean(ops.square(fake - 1.0))


def gan_d_targets(real, fake, real_target, fake_target):
    """`gan_d` with per-sample targets (noisy labels: some real targets 0, some fake targets 1)."""
    return _bce_with_logits(real, real_target) + _bce_with_logits(fake, fake_target)


def lsgan_d_targets(real, fake, real_target, fake_target):
    """`lsgan_d` with per-sample targets."""
    return 0.5 * ops.mean(ops.square(real - real_target)) + 0.5 * ops.mean(ops.square(fake - fake_target))


def flipped_targets(batch: int, probability: float, smoothing: float, seed):
    """Noisy labels (seed 004): real targets (1 - smoothing) and fake targets 0, each swapped with
    `probability`, per sample, shaped (N, 1, 1, 1) to broadcast over patch scores."""
    flip_real = keras.random.uniform((batch, 1, 1, 1), seed=seed) < probability
    flip_fake = keras.random.uniform((batch, 1, 1, 1), seed=seed) < probability
    real = ops.where(flip_real, 0.0, 1.0 - smoothing)
    fake = ops.where(flip_fake, 1.0 - smoothing, 0.0)
    return real, fake


def wgan_d(real, fake):
    """The critic maximises D(real) - D(fake), so it minimises the negative."""
    return ops.mean(fake) - ops.mean(real)


def wgan_g(fake):
    return -ops.mean(fake)


def gradient_penalty(critic, l, real_ab, fake_ab, alpha):
    """WGAN-GP: mean over samples of (||grad_ab D(L, ab_hat)||_2 - 1)^2 with ab_hat = real + alpha (fake - real).

    `alpha` has shape (N, 1, 1, 1) (one draw per sample). L is shared by real and fake, so only
    the ab input is interpolated and differentiated. The norm is over each sample's H, W, C."""
    interpolated = ops.convert_to_tensor(real_ab + alpha * (fake_ab - real_ab))
    with tf.GradientTape() as tape:
        tape.watch(interpolated)
        scores = critic([l, interpolated], training=True)
    grads = tape.gradient(scores, interpolated)
    norms = ops.sqrt(ops.sum(ops.square(grads), axis=[1, 2, 3]) + 1e-12)
    return ops.mean(ops.square(norms - 1.0))


def energy(ab, reconstruction):
    """EBGAN energy per sample: root-mean-square reconstruction error of the auto-encoder.

    Per-sample RMS (not the original's batch-wide Frobenius norm / B) keeps the margin's meaning
    independent of batch size and resolution: a margin of 0.3 is ~33 ab units of error."""
    return ops.sqrt(ops.mean(ops.square(reconstruction - ab), axis=[1, 2, 3]) + 1e-12)


def ebgan_d(real_energy, fake_energy, margin: float):
    """Push real energies down and fake energies up to the margin (hinge)."""
    return ops.mean(real_energy) + ops.mean(ops.relu(margin - fake_energy))


def ebgan_g(fake_energy):
    return ops.mean(fake_energy)


def pull_away(embedding):
    """EBGAN pull-away term: mean squared cosine similarity between distinct samples' embeddings
    (flattened per sample). Zero for mutually orthogonal embeddings, 1 for identical ones."""
    n = ops.shape(embedding)[0]
    flat = ops.reshape(embedding, (n, -1))
    unit = flat / (ops.sqrt(ops.sum(ops.square(flat), axis=1, keepdims=True)) + 1e-12)
    cosine = ops.matmul(unit, ops.transpose(unit))
    n_float = ops.cast(n, cosine.dtype)
    off_diagonal = ops.sum(ops.square(cosine)) - ops.sum(ops.square(ops.diagonal(cosine)))
    return off_diagonal / ops.maximum(n_float * (n_float - 1.0), 1.0)
