"""The GAN training aids of seed 004 do what they claim: image pool, noisy labels, minibatch discrimination."""

import numpy as np
import pytest

from colorize_cli import gan, losses, networks, registry, train
from colorize_cli._keras import keras


def test_image_pool_stores_while_filling_then_returns_past_fakes_half_the_time():
    pool = gan.ImagePool(8, (4, 4, 1), (4, 4, 2))
    seed = keras.random.SeedGenerator(0)

    def batch(value, n=4):
        return np.full((n, 4, 4, 1), value, np.float32), np.full((n, 4, 4, 2), value, np.float32)

    for value in (1.0, 2.0):  # filling: every fake shown as is, and stored
        l, ab = batch(value)
        _, shown, from_pool = pool.query(l, ab, seed)
        assert not np.asarray(from_pool).any() and np.all(np.asarray(shown) == value)
    assert sorted(np.asarray(pool.pool_ab)[:, 0, 0, 0]) == [1.0] * 4 + [2.0] * 4

    picked, total = 0, 0
    for step in range(100):  # full: each fake swapped for a stored one with probability 1/2
        l, ab = batch(10.0 + step, n=8)
        shown_l, shown, from_pool = (np.asarray(t) for t in pool.query(l, ab, seed))
        assert np.all((shown[:, 0, 0, 0] < 10.0 + step) == from_pool)  # pooled ones are older fakes
        assert np.array_equal(shown_l[..., 0], shown[..., 0])  # each fake keeps its own L
        picked, total = picked + from_pool.sum(), total + from_pool.size
    assert 0.44 < picked / total < 0.56


def test_label_flip_swaps_the_stated_fraction_of_targets():
    seed = keras.random.SeedGenerator(1)
    real, fake = (np.asarray(t).ravel() for t in losses.flipped_targets(20000, 0.1, 0.0, seed))
    assert set(np.unique(real)) == {0.0, 1.0} and set(np.unique(fake)) == {0.0, 1.0}
    assert (real == 0).mean() == pytest.approx(0.1, abs=0.01)
    assert (fake == 1).mean() == pytest.approx(0.1, abs=0.01)
    real, fake = (np.asarray(t).ravel() for t in losses.flipped_targets(1000, 0.0, 0.1, seed))
    assert np.all(real == 0.9) and np.all(fake == 0.0)  # no flips: one-sided smoothing only


def test_minibatch_layer_output_depends_on_the_other_samples():
    disc = networks.patch_discriminator(32, 4, minibatch_stddev=True)
    rng = np.random.default_rng(0)
    l, ab = rng.uniform(-1, 1, (2, 32, 32, 1)).astype(np.float32), rng.uniform(-1, 1, (2, 32, 32, 2)).astype(np.float32)
    first = np.asarray(disc([l, ab], training=False))[0]
    ab2 = ab.copy()
    ab2[1] = 0.0  # change only the second sample
    assert not np.allclose(first, np.asarray(disc([l, ab2], training=False))[0])
    plain = networks.patch_discriminator(32, 4)
    assert np.allclose(np.asarray(plain([l, ab], training=False))[0], np.asarray(plain([l, ab2], training=False))[0])


@pytest.mark.parametrize("aids", [{"image_pool": 6}, {"label_flip": 0.1}, {"minibatch_disc": True},
                                  {"image_pool": 6, "label_flip": 0.05, "minibatch_disc": True}])
def test_a_gan_trains_with_the_aids(aids):
    card = registry.ModelCard(**{**registry.BUILTIN["pix2pix-lsgan"].__dict__, "input_size": 32, "width": 4, "d_width": 4,
                                 "objective_options": aids})
    model = train.build_gan(card, total_steps=4, decay_fraction=0.5)
    rng = np.random.default_rng(0)
    l = rng.uniform(-1, 1, (8, 32, 32, 1)).astype(np.float32)
    ab = rng.uniform(-0.5, 0.5, (8, 32, 32, 2)).astype(np.float32)
    history = model.fit(l, ab, batch_size=4, epochs=2, verbose=0).history
    assert np.isfinite(history["d_loss"]).all() and np.isfinite(history["g_loss"]).all()
    if "image_pool" in aids:
        assert int(model.pool.count.numpy()) == 6


@pytest.mark.parametrize("objective, aids", [("wgan", {"label_flip": 0.1}), ("ebgan", {"minibatch_disc": True}),
                                             ("regression", {"image_pool": 4})])
def test_aids_that_do_not_apply_are_refused(objective, aids):
    with pytest.raises(ValueError, match="applies to|need a discriminator"):
        gan.OBJECTIVES[objective].replace(**aids).check()


def test_critic_pretraining_trains_the_critic_alone_then_both():
    """NoGAN: during the first `critic_pretrain` steps the generator's weights stay exactly as they were
    (its batch-norm statistics aside) while the critic learns; afterwards both train."""
    card = registry.ModelCard(**{**registry.BUILTIN["pix2pix-lsgan"].__dict__, "input_size": 32, "width": 4, "d_width": 4,
                                 "objective_options": {"critic_pretrain": 3}})
    model = train.build_gan(card, total_steps=6, decay_fraction=0.0)
    rng = np.random.default_rng(0)
    l = rng.uniform(-1, 1, (12, 32, 32, 1)).astype(np.float32)
    ab = rng.uniform(-0.5, 0.5, (12, 32, 32, 2)).astype(np.float32)
    g_start = [w.numpy().copy() for w in model.generator.trainable_weights]
    d_start = [w.numpy().copy() for w in model.discriminator.trainable_weights]
    model.fit(l, ab, batch_size=4, epochs=1, verbose=0, shuffle=False)  # 3 steps: the critic alone
    assert all(np.array_equal(a, w.numpy()) for a, w in zip(g_start, model.generator.trainable_weights))
    assert not all(np.array_equal(a, w.numpy()) for a, w in zip(d_start, model.discriminator.trainable_weights))
    assert int(model.g_optimizer.iterations.numpy()) == 3  # the steps count, so schedules and resumes line up
    model.fit(l, ab, batch_size=4, epochs=1, verbose=0, shuffle=False)  # 3 more: both
    assert not all(np.array_equal(a, w.numpy()) for a, w in zip(g_start, model.generator.trainable_weights))


def test_critic_pretraining_needs_a_critic():
    with pytest.raises(ValueError, match="needs a discriminator"):
        gan.OBJECTIVES["regression"].replace(critic_pretrain=10).check()


OPTION_VALUES = {"critic_steps": 2, "warmup_critic_steps": 3, "critic_pretrain": 2, "clip": 0.05, "gp_weight": 1.0,
                 "margin": 0.5, "pull_away": 0.1, "label_smoothing": 0.1, "conditional_energy": True, "image_pool": 4,
                 "label_flip": 0.1, "minibatch_disc": True}


@pytest.mark.parametrize("name", sorted(gan.OBJECTIVES))
def test_each_objective_accepts_exactly_the_options_it_lists(name):
    """The objective's own list decides (the CLI's option rules read it): every listed option is accepted,
    every other one refused in one line naming the objectives it applies to."""
    assert set(OPTION_VALUES) == set(gan.OPTIONS)
    objective = gan.OBJECTIVES[name]
    for option, value in OPTION_VALUES.items():
        changed = objective.replace(**{option: value})
        if option in objective.options:
            changed.check()
        else:
            with pytest.raises(ValueError, match=f"^{option} applies to .*not {name}"):
                changed.check()
    assert (objective.critic_loss is None) == (objective.discriminator is None) == (objective.generator_loss is None)
