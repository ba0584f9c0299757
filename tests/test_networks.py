import numpy as np
import pytest

from colorize_cli import networks, registry


@pytest.mark.parametrize("name", sorted(registry.BUILTIN))
def test_every_registered_generator_maps_l_to_ab(name):
    card = registry.BUILTIN[name]
    size = 32 if card.arch == "unet" else 64
    if card.arch == "semantic":  # a fresh semantic run's encoder: a bundled model's (ImageNet's own weights)
        from colorize_cli import train

        generator = networks.build_generator(card.arch, input_size=size, width=4, encoder=str(train.default_encoder()))
    else:
        generator = networks.build_generator(card.arch, input_size=size, width=4)
    out = generator(np.zeros((2, size, size, 1), np.float32))
    assert tuple(out.shape) == (2, size, size, 2)
    assert np.abs(np.asarray(out)).max() <= 1.0  # tanh: |ab| <= 110 after scaling


def test_unet_256_is_pix2pix_depth():
    g = networks.unet_generator(256, 4)
    assert len([l for l in g.layers if l.name.startswith("enc") and l.name[3:].isdigit()]) == 8  # down to 1x1


@pytest.mark.parametrize("norm", ["batch", "layer", None])
def test_patchgan_gives_30x30_scores_for_256(norm):
    d = networks.patch_discriminator(256, 4, norm=norm)
    assert d.output_shape == (None, 30, 30, 1)
    has_bn = any("BatchNormalization" in type(l).__name__ for l in d.layers)
    assert has_bn == (norm == "batch")


def test_energy_discriminator_reconstructs_ab():
    d = networks.energy_discriminator(64, 4)
    recon, embedding = d([np.zeros((2, 64, 64, 1), np.float32), np.zeros((2, 64, 64, 2), np.float32)])
    assert tuple(recon.shape) == (2, 64, 64, 2) and tuple(embedding.shape) == (2, 4, 4, 32)


def test_colorful_predicts_at_quarter_resolution_then_upsamples():
    g = networks.colorful_generator(64, 4)
    assert g.get_layer("ab_quarter").output.shape[1:3] == (16, 16)
    assert g.output_shape == (None, 64, 64, 2)


def test_bad_unet_size_is_refused():
    with pytest.raises(ValueError, match="power of two"):
        networks.unet_generator(100, 4)


def test_unet_weights_run_at_a_larger_input_with_the_same_levels():
    small = networks.unet_generator(32, 4, dropout=0)
    large = networks.unet_generator(64, 4, dropout=0, levels=5)  # stops at 2x2 instead of 1x1
    large.set_weights(small.get_weights())  # same layers, same shapes
    x = np.random.default_rng(0).uniform(-1, 1, (1, 64, 64, 1)).astype(np.float32)
    assert tuple(large(x).shape) == (1, 64, 64, 2)
    with pytest.raises(ValueError, match="2..5 levels"):
        networks.unet_generator(32, 4, levels=6)


def test_initial_weights_follow_the_seed_and_differ_between_layers():
    """`train --seed` decides the starting weights, and layers of the same shape do not start alike
    (a shared Keras initializer would give them one draw, seeded at import)."""
    import itertools

    from colorize_cli._keras import keras

    def build(seed):
        keras.utils.set_random_seed(seed)
        generator = networks.build_generator("unet", input_size=64, width=4)
        return {w.path: np.asarray(w) for w in generator.weights if w.path.endswith(("kernel", "gamma"))}

    first, again, other = build(1), build(1), build(2)
    assert all(np.array_equal(first[k], again[k]) for k in first)
    assert not any(np.array_equal(first[k], other[k]) for k in first)
    alike = [(a, b) for a, b in itertools.combinations(first, 2)
             if first[a].shape == first[b].shape and np.array_equal(first[a], first[b])]
    assert sum(first[a].shape == first[b].shape for a, b in itertools.combinations(first, 2)) > 10  # there were candidates
    assert alike == []


def test_a_model_trained_in_mixed_bfloat16_is_exported_computing_in_float32(tmp_path):
    """Stages train in mixed bfloat16; the TFLite converter cannot take bfloat16 layers (a failed export of the
    default), so the exported .keras is a float32 copy with the same weights and nearly the same outputs."""
    from colorize_cli import train
    from colorize_cli._keras import keras

    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        mixed = networks.build_generator("unet", input_size=32, width=4)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert {layer.dtype_policy.name for layer in mixed.layers} >= {"mixed_bfloat16"}
    card = registry.ModelCard(name="mixed", arch="unet", input_size=32, width=4)
    card_path = train.export_generator(mixed, card, tmp_path)
    saved = registry.load_keras_model(card_path.with_suffix(".keras"))
    assert {layer.dtype_policy.name for layer in saved.layers} == {"float32"}
    x = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 1)).astype(np.float32)
    assert np.abs(np.asarray(saved(x)) - np.asarray(mixed(x), np.float32)).mean() < 0.02  # bfloat16's rounding only
    assert networks.in_float32(saved) is saved
