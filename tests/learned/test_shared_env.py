"""The shared edge online as a Gymnasium environment (partopt/SharedEdge-v0)."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from helpers import SMALL_STREAM

import partopt
import partopt.learned  # registers the environments
from partopt.learned.shared_env import SharedEdgeEnv, observation_size
from partopt.stream.policies import GapFillingPolicy, earliest_finish_policy


def test_environment_passes_gymnasiums_checker():
    env = SharedEdgeEnv(stream_params=SMALL_STREAM)
    check_env(env, skip_render_check=True)
    assert env.observation_space.shape == (observation_size(4, 3),)
    assert env.action_space.nvec.tolist() == [4] * 4


def test_seeded_episodes_repeat():
    env = gym.make(partopt.learned.SHARED_ENV_ID, stream_params=SMALL_STREAM)
    first, _ = env.reset(seed=7)
    rewards = []
    for _ in range(2):
        obs, _ = env.reset(seed=7)
        assert np.array_equal(obs, first)
        env.action_space.seed(1)
        total, done = 0.0, False
        while not done:
            obs, reward, done, _, _ = env.step(env.action_space.sample())
            assert env.observation_space.contains(obs)
            total += float(reward)
        rewards.append(total)
    assert rewards[0] == rewards[1]


@pytest.mark.parametrize("fill_gaps", [False, True])
def test_an_episode_agrees_with_simulate_and_evaluate(fill_gaps):
    """Acting as the earliest-finish policy (gap-filling with ``fill_gaps``), an episode builds
    simulate's schedule; the rewards sum to minus evaluate's delay plus deadline excess."""
    env = SharedEdgeEnv(
        stream_params={**SMALL_STREAM, "battery_j": None, "rate_per_s": 150.0}, beta=2.0, fill_gaps=fill_gaps
    )
    env.reset(seed=3)
    policy = GapFillingPolicy() if fill_gaps else earliest_finish_policy
    total, done, info = 0.0, False, {}
    while not done:
        assert env.seen is not None
        _, reward, done, _, info = env.step(policy(env.seen))
        total += float(reward)
    report = partopt.simulate(env.stream, "gap-filling" if fill_gaps else "earliest-finish")
    ev = info["evaluation"]
    assert ev.placement == report.placement and ev.start_s == report.start_s and ev.valid
    assert -total == pytest.approx(ev.total_delay + 2.0 * ev.penalty, rel=1e-9)


def test_vector_form_and_bad_actions():
    envs = gym.make_vec(
        partopt.learned.SHARED_ENV_ID, num_envs=3, vectorization_mode="sync", stream_params=SMALL_STREAM
    )
    obs, _ = envs.reset(seed=0)
    assert obs.shape == (3, observation_size(4, 3))
    _, rewards, *_ = envs.step(envs.action_space.sample())
    assert rewards.shape == (3,) and np.all(rewards < 0)
    env = SharedEdgeEnv(stream_params=SMALL_STREAM)
    env.reset(seed=0)
    for bad in ([0, 1], [0, 1, 2, 9], [0.5, 1, 1, 1]):
        with pytest.raises(ValueError, match="action"):
            env.step(bad)
    with pytest.raises(ValueError, match="one shape"):
        SharedEdgeEnv(stream_params={**SMALL_STREAM, "shared_params": {"networks": ("vgg16", "nin")}})
    with pytest.raises(ValueError, match="beta"):
        SharedEdgeEnv(stream_params=SMALL_STREAM, beta=-1)
