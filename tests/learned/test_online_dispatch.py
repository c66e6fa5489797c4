"""The learned online dispatch: its prices span gap-filling and Lyapunov, training keeps
the best candidate, saved weights load back and hostile files are refused naming the field."""

import json

import pytest
from helpers import SMALL_STREAM, evaluation_of, placement_of

import partopt
from partopt.fields import InstanceError, InstanceTypeError
from partopt.learned.online import OnlineDispatch, load_online_dispatch, train_online_dispatch, training_score


@pytest.fixture(scope="module")
def stream():
    return partopt.generate("stream", seed=3, **SMALL_STREAM)


def test_zero_weights_are_the_gap_filling_policy_and_the_energy_weight_saves_energy(stream):
    gaps = partopt.simulate(stream, "gap-filling")
    zero = partopt.simulate(stream, OnlineDispatch((0.0,) * 6))
    assert zero.placement == gaps.placement and zero.task_delay_s == pytest.approx(gaps.task_delay_s)
    drained = stream.replace(
        batteries=tuple(partopt.Battery(capacity_j=1.0, initial_j=0.5) for _ in stream.batteries)
    )  # half-empty batteries: the energy price is V / 2 from the start
    free = partopt.simulate(drained, OnlineDispatch((0.0,) * 6)).energy_j
    assert partopt.simulate(drained, OnlineDispatch((0.0, 0.0, 0.0, 0.0, 50.0, 0.0))).energy_j <= free
    # below its threshold the energy has no price: batteries large enough to stay half drained
    half = stream.replace(batteries=tuple(partopt.Battery(capacity_j=1e6, initial_j=5e5) for _ in stream.batteries))
    waits = partopt.simulate(half, OnlineDispatch((0.0, 0.0, 0.0, 0.0, 50.0, 0.6)))
    assert waits.placement == partopt.simulate(half, "gap-filling").placement
    priced = partopt.simulate(half, OnlineDispatch((0.0, 0.0, 0.0, 0.0, 50.0, 0.4)))
    assert priced.placement != waits.placement and priced.energy_j < waits.energy_j


def test_training_keeps_the_best_candidate_and_it_beats_its_starts():
    policy, history = train_online_dispatch((40.0,), iterations=2, population=4, episodes=1, stream_params=SMALL_STREAM)
    assert policy.trained is not None
    assert history == sorted(history) and policy.trained["score"] == history[-1] >= -1.0
    import gymnasium as gym

    from partopt.learned.online import _episode_return

    env = gym.make("partopt/SharedEdge-v0", stream_params={**SMALL_STREAM, "rate_per_s": 40.0}, fill_gaps=True)
    for start in (OnlineDispatch((0.0,) * 6), OnlineDispatch((0.0, 0.0, 0.0, 0.0, 1.0, 0.0))):
        assert _episode_return(env, policy, 0) >= _episode_return(env, start, 0) - 1e-9


def test_a_candidate_worse_than_gap_filling_at_any_rate_scores_below_it():
    assert training_score([[1.0, 1.0], [1.0]]) == pytest.approx(-1.0)  # gap-filling itself
    assert training_score([[0.9, 0.95], [1.0]]) > -1.0  # better at one rate, as good at the other
    assert training_score([[0.7, 0.7], [1.05]]) < -1.0  # better on average, worse at one rate
    assert training_score([[0.7], [1.05]]) < training_score([[0.99], [1.0]])


def test_the_shipped_policy_solves_a_stream_and_evaluate_agrees(stream):
    result = partopt.solve(stream, "online-learned")
    again = partopt.evaluate(stream, placement_of(result), result.start_s)
    assert evaluation_of(result, partopt.StreamEvaluation).total_delay == pytest.approx(again.total_delay)
    assert evaluation_of(result, partopt.StreamEvaluation).valid == again.valid


def test_weights_round_trip_and_hostile_files_are_refused(tmp_path):
    policy = OnlineDispatch((0.1, 0.2, 0.3, 0.4, 0.5, 0.6), {"note": "test"})
    path = tmp_path / "w.json"
    policy.save(path)
    assert load_online_dispatch(path) == policy
    path.write_text(json.dumps({"format": "partopt.online-dispatch/1", "weights": [0.1, 0.2, 0.3, 0.4, 0.5]}))
    assert load_online_dispatch(path).weights == (0.1, 0.2, 0.3, 0.4, 0.5, 0.0)  # the first format: no threshold
    for text, field in (
        ("not json", "file"),
        (json.dumps({"format": "x", "weights": [0] * 6}), "format"),
        (json.dumps({"format": "partopt.online-dispatch/2", "weights": [0] * 5}), "weights"),
        (json.dumps({"format": "partopt.online-dispatch/1", "weights": [0] * 6}), "weights"),
        (json.dumps({"format": "partopt.online-dispatch/2", "weights": [0, 0, "1", 0, 0, 0]}), r"weights\[2\]"),
        ('{"format": "partopt.online-dispatch/2", "weights": [0, 0, 0, NaN, 0, 0]}', r"weights\[3\]"),
    ):
        path.write_text(text)
        with pytest.raises((InstanceError, InstanceTypeError), match=field):
            load_online_dispatch(path)
