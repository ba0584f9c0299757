"""One conditional GAN for colorization, parameterised by its objective.

`ColorGAN` owns a generator (L -> ab) and, except for plain regression, a discriminator. Its single
`train_step` serves every objective: the objective says which loss pair to use, how many critic
updates run per generator update, and whether critic weights are clipped or gradient-penalised.
`fit()` drives it, so progress bars, callbacks and tf.distribute come from Keras.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from colorize_cli import losses
from colorize_cli._keras import keras, tf

ops = keras.ops


# The options an objective may accept (Objective fields the user can set: `colorize train --n-critic ...`); each
# objective lists those that change anything for it, and the CLI's option rules are read from that list.
OPTIONS = ("critic_steps", "warmup_critic_steps", "critic_pretrain", "clip", "gp_weight", "margin", "pull_away",
           "label_smoothing", "conditional_energy", "image_pool", "label_flip", "minibatch_disc")


@dataclass(frozen=True)
class Objective:
    """What distinguishes one GAN variant from another: its loss pair, the options it accepts and their values."""

    name: str
    discriminator: str | None = "patch"  # "patch", "energy", or None for regression without a discriminator
    d_norm: str | None = "batch"  # PatchGAN normalisation: "batch", "layer" (WGAN-GP) or None (WGAN)
    # the losses (functions of `losses`): critic_loss(objective, real scores, fake scores, per-sample targets or
    # None) is what the discriminator minimises, generator_loss(fake scores) the generator's adversarial term
    critic_loss: Callable | None = field(default=None, compare=False, repr=False)
    generator_loss: Callable | None = field(default=None, compare=False, repr=False)
    options: frozenset = frozenset()  # the OPTIONS that apply to this objective
    critic_steps: int = 1  # discriminator updates per generator update
    warmup_critic_steps: int = 0  # WGAN: this many critic updates for the first `warmup_until` generator steps ...
    warmup_until: int = 25
    warmup_every: int = 500  # ... and at every `warmup_every`-th generator step (Arjovsky et al.)
    # NoGAN (DeOldify): the first this many steps train the critic alone on the (fixed) generator's outputs, so
    # that the joint phase starts against a critic that already tells them from photos; 0 = off
    critic_pretrain: int = 0
    clip: float = 0.0  # WGAN weight clipping range (+-clip); 0 = off
    gp_weight: float = 0.0  # WGAN-GP penalty weight; 0 = off
    margin: float = 0.3  # EBGAN hinge margin on the per-sample RMS energy
    pull_away: float = 0.0  # EBGAN pull-away term weight (0.1 in Zhao et al.)
    label_smoothing: float = 0.0  # one-sided: the real target becomes 1 - label_smoothing
    conditional_energy: bool = False  # EBGAN: auto-encode [L, ab] instead of ab alone
    # training aids of seed 004 (the practical GAN guide)
    image_pool: int = 0  # the discriminator sees past fakes from a pool of this many (half the time once full); 0 = off
    label_flip: float = 0.0  # GAN/LSGAN: each real and fake target swapped with this probability
    minibatch_disc: bool = False  # PatchGAN: a minibatch standard-deviation channel (networks.MinibatchStdDev)

    def replace(self, **changes) -> "Objective":
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def check(self) -> "Objective":
        """Refuse options that do not apply to this objective (one line each)."""
        defaults = Objective(self.name)
        for option in OPTIONS:
            if option not in self.options and getattr(self, option) != getattr(defaults, option):
                users = [o.name for o in OBJECTIVES.values() if option in o.options]
                raise ValueError(f"{option} applies to {', '.join(users)}, not {self.name}"
                                 + ("" if self.discriminator else f" (it needs a discriminator; {self.name} has none)"))
        if not 0 <= self.label_flip < 0.5:
            raise ValueError(f"label_flip must be in [0, 0.5), got {self.label_flip}")
        return self

    # -- losses --------------------------------------------------------------------------------
    def d_loss(self, real, fake, real_target=None, fake_target=None):
        """`real_target`/`fake_target`: per-sample targets (N, 1, 1, 1) when labels are flipped."""
        return self.critic_loss(self, real, fake, None if real_target is None else (real_target, fake_target))

    def g_loss(self, fake):
        return self.generator_loss(fake)

    def critic_steps_at(self, step):
        """Critic updates at generator step(s) `step` (int, array or tensor): `warmup_critic_steps` on
        warm-up steps (Arjovsky et al.), `critic_steps` otherwise."""
        if not self.warmup_critic_steps:
            return self.critic_steps
        warm = ops.logical_or(step < self.warmup_until, step % self.warmup_every == 0)
        return ops.where(warm, self.warmup_critic_steps, self.critic_steps)

    def critic_updates(self, generator_steps: int) -> int:
        """Discriminator updates in a run of `generator_steps`: what its learning-rate schedule must span."""
        if self.discriminator is None:
            return 0
        if not self.warmup_critic_steps:
            return generator_steps * self.critic_steps
        return int(ops.convert_to_numpy(ops.sum(self.critic_steps_at(np.arange(generator_steps)))))

    @property
    def is_wasserstein(self) -> bool:
        return self.name in ("wgan", "wgan-gp")


def _target_loss(plain, per_sample):
    """A critic loss on real/fake targets: one-sided label smoothing, or per-sample (flipped) targets."""
    def critic_loss(objective, real, fake, targets):
        return plain(real, fake, objective.label_smoothing) if targets is None else per_sample(real, fake, *targets)
    return critic_loss


def _energy_loss(objective, real, fake, targets):
    return losses.ebgan_d(real, fake, objective.margin)


def _wasserstein_loss(objective, real, fake, targets):
    return losses.wgan_d(real, fake)


# every adversarial objective: critic updates per step, NoGAN critic pretraining, clipping, gradient penalty, a pool
_CRITIC = frozenset({"critic_steps", "critic_pretrain", "clip", "gp_weight", "image_pool"})
OBJECTIVES = {
    "regression": Objective("regression", discriminator=None, d_norm=None),
    "gan": Objective("gan", critic_loss=_target_loss(losses.gan_d, losses.gan_d_targets), generator_loss=losses.gan_g,
                     options=_CRITIC | {"label_smoothing", "label_flip", "minibatch_disc"}),
    "lsgan": Objective("lsgan", critic_loss=_target_loss(losses.lsgan_d, losses.lsgan_d_targets),
                       generator_loss=losses.lsgan_g, options=_CRITIC | {"label_smoothing", "label_flip", "minibatch_disc"}),
    "ebgan": Objective("ebgan", discriminator="energy", critic_loss=_energy_loss, generator_loss=losses.ebgan_g,
                       options=_CRITIC | {"margin", "pull_away", "conditional_energy"}),
    "wgan": Objective("wgan", d_norm=None, critic_steps=5, warmup_critic_steps=100, clip=0.01, critic_loss=_wasserstein_loss,
                      generator_loss=losses.wgan_g, options=_CRITIC | {"warmup_critic_steps", "minibatch_disc"}),
    "wgan-gp": Objective("wgan-gp", d_norm="layer", critic_steps=5, gp_weight=10.0, critic_loss=_wasserstein_loss,
                         generator_loss=losses.wgan_g, options=_CRITIC | {"warmup_critic_steps", "minibatch_disc"}),
}


class ImagePool(keras.layers.Layer):
    """Experience replay for the discriminator (Shrivastava et al. 2017; pix2pix/CycleGAN's ImagePool,
    seed 004): a pool of `size` past fakes with their L. While it fills, every fake is stored and shown
    as is; once full, each fake is, with probability 1/2, swapped for a random stored one (which it
    replaces), so the discriminator keeps seeing the generator's older mistakes and cannot chase only
    its latest move. Variables, so it lives in the training graph and in checkpoints."""

    def __init__(self, size: int, l_shape, ab_shape, **kwargs):
        super().__init__(**kwargs)
        self.size = int(size)
        self.pool_l = self.add_weight(shape=(self.size, *l_shape), initializer="zeros", trainable=False, name="pool_l")
        self.pool_ab = self.add_weight(shape=(self.size, *ab_shape), initializer="zeros", trainable=False, name="pool_ab")
        self.count = self.add_weight(shape=(), dtype="int32", initializer="zeros", trainable=False, name="count")
        self.built = True

    def query(self, l, ab, seed):
        """(L, fakes shown to the discriminator, mask of the samples that came from the pool)."""
        n = ops.shape(ab)[0]
        full = self.count >= self.size
        from_pool = ops.logical_and(full, keras.random.uniform((n,), seed=seed) < 0.5)
        slots = ops.where(full, keras.random.randint((n,), 0, self.size, seed=seed), (self.count + ops.arange(n)) % self.size)
        stored_l, stored_ab = ops.take(self.pool_l, slots, axis=0), ops.take(self.pool_ab, slots, axis=0)
        pick = ops.reshape(from_pool, (-1, 1, 1, 1))
        # while filling every fake is stored; once full, only the swapped ones
        store = ops.reshape(ops.logical_or(ops.logical_not(full), from_pool), (-1, 1, 1, 1))
        self.pool_l.assign(ops.scatter_update(self.pool_l, slots[:, None], ops.where(store, l, stored_l)))
        self.pool_ab.assign(ops.scatter_update(self.pool_ab, slots[:, None], ops.where(store, ab, stored_ab)))
        self.count.assign(ops.minimum(self.count + n, self.size))
        return ops.where(pick, stored_l, l), ops.where(pick, stored_ab, ab), from_pool


class ColorGAN(keras.Model):
    """Generator + optional discriminator trained with `objective` and loss weights
    `adv * L_adv + l1 * L1 + l2 * L2` on normalised ab (L1 optionally class-rebalanced: `ab_weights`)."""

    def __init__(self, generator, discriminator, objective: Objective, adv: float = 1.0, l1: float = 100.0,
                 l2: float = 0.0, seed: int = 0, ab_weights=None, **kwargs):
        super().__init__(**kwargs)
        if (discriminator is None) != (objective.discriminator is None):
            raise ValueError(f"objective {objective.name!r} {'needs' if objective.discriminator else 'takes no'} discriminator")
        objective.check()
        self.generator = generator
        self.discriminator = discriminator
        self.objective = objective
        self.adv_weight, self.l1_weight, self.l2_weight = float(adv), float(l1), float(l2)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.pool = (ImagePool(objective.image_pool, generator.input_shape[1:], generator.output_shape[1:], name="image_pool")
                     if objective.image_pool else None)
        # class rebalancing of the L1 term (losses.rebalanced_l1): per-cell weights of the ab grid, or None
        self.ab_weights = None if ab_weights is None else ops.convert_to_tensor(np.asarray(ab_weights, np.float32))
        self.ab_bins = 0 if ab_weights is None else int(round(np.sqrt(len(ab_weights))))
        names = ["g_loss", "l1"]
        if discriminator is not None:
            names += ["d_loss", "g_adv"]
        if objective.is_wasserstein:
            names.append("wasserstein")  # the critic's estimate; falls as quality improves (Arjovsky et al.)
        if objective.name == "ebgan":
            names += ["real_energy", "fake_energy"]
        self.trackers = {n: keras.metrics.Mean(name=n) for n in names}
        self.val_trackers = {n: keras.metrics.Mean(name=n) for n in ("l1", "ab_mean", "ab_mean_true")}

    @property
    def metrics(self):
        return list(self.trackers.values()) + list(self.val_trackers.values())

    def compile(self, g_optimizer, d_optimizer=None, **kwargs):
        super().compile(**kwargs)
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer
        # build optimizer slots now: variables cannot be created inside the critic loop's graph
        g_optimizer.build(self.generator.trainable_variables)
        if d_optimizer is not None:
            d_optimizer.build(self.discriminator.trainable_variables)

    def call(self, l, training=False):
        return self.generator(l, training=training)

    # -- pieces of the step ----------------------------------------------------------------------
    def _scores(self, l, ab):
        """Discriminator output for (L, ab): patch scores, or per-sample energies plus embeddings."""
        out = self.discriminator([l, ab], training=True)
        if self.objective.discriminator == "energy":
            reconstruction, embedding = out
            return losses.energy(ab, ops.cast(reconstruction, "float32")), ops.cast(embedding, "float32")
        return ops.cast(out, "float32"), None  # losses in float32 under mixed bfloat16

    def _reconstruction(self, ab, fake):
        loss, l1 = 0.0, losses.l1(ab, fake)
        if self.l1_weight:
            weighted = l1 if self.ab_weights is None else losses.rebalanced_l1(ab, fake, self.ab_weights, self.ab_bins)
            loss += self.l1_weight * weighted
        if self.l2_weight:
            loss += self.l2_weight * losses.l2(ab, fake)
        return loss, l1

    def _critic_loss(self, l, ab, fake, real_scores, fake_scores):
        targets = (None, None)
        if self.objective.label_flip:
            targets = losses.flipped_targets(ops.shape(ab)[0], self.objective.label_flip, self.objective.label_smoothing,
                                             self.seed_generator)
        d_loss = self.objective.d_loss(real_scores, fake_scores, *targets)
        if self.objective.gp_weight:
            alpha = keras.random.uniform((ops.shape(ab)[0], 1, 1, 1), seed=self.seed_generator)
            d_loss += self.objective.gp_weight * losses.gradient_penalty(self.discriminator, l, ab, fake, alpha)
        return d_loss

    @staticmethod
    def _per_replica(loss):
        """Under tf.distribute the optimizers all-reduce *sum* gradients, so each replica's loss is divided
        by the replica count (what Keras' own train_step does); a no-op on one device."""
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        return loss if replicas == 1 else loss / replicas

    def _apply_d(self, tape, scaled_d_loss):
        variables = self.discriminator.trainable_variables
        self.d_optimizer.apply(tape.gradient(scaled_d_loss, variables), variables)
        if self.objective.clip:
            for v in variables:
                v.assign(ops.clip(v, -self.objective.clip, self.objective.clip))

    # -- the step ------------------------------------------------------------------------------------
    def train_step(self, data):
        l, ab = data
        obj = self.objective
        if self.discriminator is None:
            with tf.GradientTape() as tape:
                fake = self.generator(l, training=True)
                g_loss, l1 = self._reconstruction(ab, fake)
                scaled_g_loss = self._per_replica(g_loss)  # inside the tape: the scaling must be recorded
            self.g_optimizer.apply(tape.gradient(scaled_g_loss, self.generator.trainable_variables),
                                   self.generator.trainable_variables)
            return self._track(g_loss=g_loss, l1=l1)

        # extra critic updates (WGAN family) before the joint update below
        if obj.critic_steps > 1 or obj.warmup_critic_steps:
            def critic_update(i):
                fake = self.generator(l, training=True)
                with tf.GradientTape() as d_tape:
                    real_scores, _ = self._scores(l, ab)
                    fake_scores, _ = self._scores(l, fake)
                    d_loss = self._per_replica(self._critic_loss(l, ab, fake, real_scores, fake_scores))
                self._apply_d(d_tape, d_loss)
                return (i + 1,)

            extra_updates = obj.critic_steps_at(self.g_optimizer.iterations) - 1
            tf.while_loop(lambda i: i < extra_updates, critic_update, (tf.constant(0),))

        # joint update: one generator forward pass serves both networks' gradients (pix2pix style)
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = self.generator(l, training=True)
            real_scores, _ = self._scores(l, ab)
            fake_scores, fake_embedding = self._scores(l, fake)
            if self.pool is not None:  # the discriminator judges a mix of this step's and past fakes
                pool_l, pool_fake, _ = self.pool.query(l, ops.stop_gradient(fake), self.seed_generator)
                # (a gradient penalty still interpolates this step's fakes, which share L with the real ab)
                d_loss = self._critic_loss(l, ab, fake, real_scores, self._scores(pool_l, pool_fake)[0])
            else:
                d_loss = self._critic_loss(l, ab, fake, real_scores, fake_scores)
            g_adv = obj.g_loss(fake_scores)
            if obj.pull_away:
                g_adv += obj.pull_away * losses.pull_away(fake_embedding)
            reconstruction, l1 = self._reconstruction(ab, fake)
            g_loss = self.adv_weight * g_adv + reconstruction
            scaled_d_loss, scaled_g_loss = self._per_replica(d_loss), self._per_replica(g_loss)
        self._apply_d(d_tape, scaled_d_loss)
        g_gradients = g_tape.gradient(scaled_g_loss, self.generator.trainable_variables)
        if obj.critic_pretrain:  # critic-only steps: zero gradients leave a fresh Adam's moments, so the weights, at 0
            g_on = self.g_optimizer.iterations >= obj.critic_pretrain
            g_gradients = [g * ops.cast(g_on, g.dtype) for g in g_gradients]
        self.g_optimizer.apply(g_gradients, self.generator.trainable_variables)

        extra = {}
        if obj.is_wasserstein:
            extra["wasserstein"] = ops.mean(real_scores) - ops.mean(fake_scores)
        if obj.name == "ebgan":
            extra.update(real_energy=ops.mean(real_scores), fake_energy=ops.mean(fake_scores))
        return self._track(g_loss=g_loss, l1=l1, d_loss=d_loss, g_adv=g_adv, **extra)

    def _track(self, **values):
        for name, value in values.items():
            self.trackers[name].update_state(value)
        return _per_worker({name: tracker.result() for name, tracker in self.trackers.items()})

    def test_step(self, data):
        l, ab = data
        fake = self.generator(l, training=False)
        self.val_trackers["l1"].update_state(losses.l1(ab, fake))
        self.val_trackers["ab_mean"].update_state(ops.mean(ops.abs(fake)))
        self.val_trackers["ab_mean_true"].update_state(ops.mean(ops.abs(ab)))
        return _per_worker({name: tracker.result() for name, tracker in self.val_trackers.items()})

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Skipped: both networks are built when constructed, so there is nothing to build. Under a
        tf.distribute strategy Keras 3 would build from a first batch averaged over the replicas, which
        MultiWorkerMirroredStrategy cannot do eagerly (it fails on the PerReplica batch;
        keras-team/keras#20585), and whose extra pass over the data made MirroredStrategy runs see
        differently shuffled batches from one run to the next (the file order reshuffles per pass)."""


def _per_worker(results: dict) -> dict:
    """A step's scalar results, shaped so that Keras can average them over workers: across workers it
    reduces step outputs with `strategy.reduce("MEAN", axis=0)`, and a scalar has no axis 0 (a length-1
    axis is averaged away, leaving the mean over all replicas). Unchanged on one machine."""
    if not isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy):
        return results
    return {name: ops.reshape(value, (1,)) for name, value in results.items()}
