"""Learned solvers: the environment, tiny training runs, checkpoints as solvers."""

import dataclasses

import numpy as np
import pytest

gym = pytest.importorskip("gymnasium")
torch = pytest.importorskip("torch")

import partopt  # noqa: E402
from partopt.learned import ENV_ID  # noqa: E402
from partopt.learned.env import BlockPlacementEnv  # noqa: E402
from partopt.learned.features import encode, feature_size  # noqa: E402


def test_env_passes_gymnasium_check():
    """check_env passes on the registered environment."""
    from gymnasium.utils.env_checker import check_env

    env = gym.make(ENV_ID, horizon=20)
    check_env(env.unwrapped, skip_render_check=True)


def test_env_same_seed_same_episode():
    """The same seed and actions give the same observations and rewards."""

    def rollout(seed):
        env = BlockPlacementEnv(horizon=15)
        obs, _ = env.reset(seed=seed)
        out = [obs]
        for t in range(15):
            obs, r, _term, _trunc, _ = env.step([t % 5] * 6)
            out += [obs, np.array([r])]
        return np.concatenate(out)

    assert np.array_equal(rollout(3), rollout(3)) and not np.array_equal(rollout(3), rollout(4))


def test_env_reward_is_eq14_from_evaluate():
    """The reward is -(L + beta psi) of evaluate on the observed task."""
    env = BlockPlacementEnv(beta=3.0, horizon=5)
    env.reset(seed=0)
    task = env.task
    assert task is not None
    _, reward, *_ = env.step([1] * 6)
    assert reward == partopt.evaluate(task, [1] * 6).reward(3.0)


def test_env_energy_follows_eq11_and_ends_episode():
    """Remaining energy falls by each slot's energy; the episode ends when it is spent."""
    env = BlockPlacementEnv(horizon=1000, max_energy_j=60.0)
    obs, _ = env.reset(seed=0)
    assert obs[-1] == 1.0
    spent, steps = 0.0, 0
    while True:
        obs, _, terminated, truncated, info = env.step([0] * 6)  # all local: about 0.6 J per slot
        spent += info["energy"]
        steps += 1
        assert np.isclose(info["remaining_energy"], 60.0 - spent)
        if terminated or truncated:
            break
    assert terminated and spent >= 60.0 and steps < 1000


def test_vector_env_rewards_are_evaluate():
    """The vector environment's rewards, delays, energies and deadline flags equal evaluate's
    on the tasks it drew; copies end after the horizon and restart (same-step autoreset)."""
    from partopt.learned.env import BlockPlacementVectorEnv, TaskPool

    pool = TaskPool.draw("paper", {"num_blocks": 4, "num_servers": 3}, size=50, seed=9, beta=2.0)
    tasks = partopt.PaperGenerator(num_blocks=4, num_servers=3).generate_many(50, seed=9)
    env = BlockPlacementVectorEnv(pool, num_envs=8, horizon=3)
    obs, _ = env.reset(seed=0)
    rng = np.random.default_rng(1)
    for t in range(7):
        drawn = env.tasks.copy()
        assert np.array_equal(obs, pool.features[drawn])
        actions = rng.integers(0, 4, size=(8, 4))
        obs, reward, terminated, truncated, info = env.step(actions)
        for i, (k, a) in enumerate(zip(drawn, actions)):
            ev = partopt.evaluate(tasks[k], a.tolist())
            assert np.isclose(reward[i], ev.reward(2.0), rtol=1e-12)
            assert np.isclose(info["total_delay"][i], ev.total_delay, rtol=1e-12)
            assert np.isclose(info["energy"][i], ev.energy, rtol=1e-12)
            assert info["deadlines_met"][i] == ev.deadlines_met
        assert not terminated.any() and truncated.all() == (t % 3 == 2) and ("final_obs" in info) == (t % 3 == 2)


def test_vector_env_same_seed_same_draws():
    """A seed fixes the tasks drawn; the pool comes from training seeds only."""
    from partopt.learned.env import BlockPlacementVectorEnv, TaskPool

    pool = TaskPool.draw(size=20, seed=1)

    def draws(seed):
        env = BlockPlacementVectorEnv(pool, num_envs=4, horizon=5)
        env.reset(seed=seed)
        out = [env.tasks.copy()]
        for _ in range(4):
            env.step(np.zeros((4, 6), dtype=int))
            out.append(env.tasks.copy())
        return np.concatenate(out)

    assert np.array_equal(draws(3), draws(3)) and not np.array_equal(draws(3), draws(4))
    with pytest.raises(ValueError, match="seed"):
        TaskPool.draw(size=2, seed=1_000_000)
    with pytest.raises(ValueError, match="num_envs"):
        BlockPlacementVectorEnv(pool, num_envs=0)


def test_env_needs_one_shape():
    """A generator with a range of servers is refused (the action space needs one shape)."""
    with pytest.raises(ValueError, match="one shape"):
        BlockPlacementEnv(generator_params={"num_servers": (2, 9)})


def test_features_are_scaled():
    """Features are finite, O(1) for generated instances, and of the documented size."""
    for name in ("paper", "dil", "random"):
        inst = partopt.generate(name, seed=1)
        x = encode(inst)
        assert x.shape == (feature_size(*inst.shape),) and np.all(np.isfinite(x))
        assert np.abs(x).max() < 20


def _mean_reward(policy, instances, beta=1.0):
    return np.mean([partopt.evaluate(i, policy(i)).reward(beta) for i in instances])


@pytest.mark.parametrize("agent", ["mt-a3c", "a3c", "dqn"])
def test_tiny_training_beats_random(tmp_path, agent):
    """A few seconds of deterministic training beat uniformly random placements on held-out tasks."""
    from partopt.learned.a3c import A3CConfig, train_a3c
    from partopt.learned.dqn import DQNConfig, train_dqn
    from partopt.learned.policy import load_policy

    params = {"num_blocks": 3, "num_servers": 2}
    out = tmp_path / f"{agent}.pt"
    if agent == "dqn":
        dqn = DQNConfig(
            generator_params=params,
            episodes=60,
            horizon=50,
            workers=2,
            deterministic=True,
            envs=16,
            pool=500,
            warmup=200,
            batch=64,
            hidden=(64, 64),
            seed=0,
        )
        train_dqn(dqn, out, progress=False)
    else:
        a3c = A3CConfig(
            agent=agent,
            generator_params=params,
            episodes=60,
            horizon=50,
            workers=2,
            envs=16,
            pool=500,
            deterministic=True,
            hidden=(64, 64),
            seed=0,
        )
        train_a3c(a3c, out, progress=False)
    policy = load_policy(out, agent, (3, 2))
    tasks = partopt.PaperGenerator(num_blocks=3, num_servers=2).generate_many(100, seed=1_000_123)
    rng = np.random.default_rng(0)
    learned = _mean_reward(policy, tasks)
    random_ = np.mean([partopt.evaluate(t, rng.integers(0, 3, size=3).tolist()).reward(1.0) for t in tasks])
    assert learned > random_


def test_deterministic_training_is_reproducible(tmp_path):
    """Two deterministic runs with one seed give identical weights."""
    from partopt.learned.a3c import A3CConfig, train_a3c

    cfg = A3CConfig(
        generator_params={"num_blocks": 3, "num_servers": 2},
        episodes=8,
        horizon=20,
        workers=2,
        envs=4,
        pool=100,
        deterministic=True,
        hidden=(16,),
        seed=5,
    )
    train_a3c(cfg, tmp_path / "a.pt", progress=False)
    train_a3c(cfg, tmp_path / "b.pt", progress=False)
    a = torch.load(tmp_path / "a.pt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "b.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_training_resumes(tmp_path):
    """A resumed run continues the episode count and keeps the earlier curve."""
    from partopt.learned.a3c import A3CConfig, train_a3c

    cfg = A3CConfig(
        generator_params={"num_blocks": 3, "num_servers": 2},
        episodes=3,
        horizon=10,
        workers=1,
        envs=1,
        pool=100,
        deterministic=True,
        hidden=(16,),
        seed=2,
    )
    out = tmp_path / "run.pt"
    train_a3c(cfg, out, progress=False)
    record = train_a3c(dataclasses.replace(cfg, episodes=6), out, resume=True, progress=False)
    assert record["episodes"] == 6 and [r["episode"] for r in record["curve"]] == list(range(1, 7))


def test_imitation_and_distillation_learn(tmp_path):
    """A small teacher fit to DP labels beats random; the distilled student is smaller and beats random."""
    from partopt.learned.imitation import load_dataset, make_dataset, train_student, train_teacher
    from partopt.learned.policy import load_policy

    data = make_dataset("dil", 3000, seed=3, progress=False)
    data.save(tmp_path / "d.npz")
    again = load_dataset(tmp_path / "d.npz")
    assert np.array_equal(again.labels, data.labels) and again.shape == (6, 2)
    teacher = train_teacher(data, tmp_path / "t.pt", hidden=(64, 64), epochs=8, progress=False)
    train_student(teacher, data, tmp_path / "s.pt", labels=500, hidden=(16,), epochs=30, progress=False)
    tasks = partopt.DILGenerator().generate_many(100, seed=1_000_321)
    rng = np.random.default_rng(0)
    random_ = np.mean([partopt.evaluate(t, rng.integers(0, 3, size=6).tolist()).total_delay for t in tasks])
    t_pol = load_policy(tmp_path / "t.pt", "imitation", (6, 2))
    s_pol = load_policy(tmp_path / "s.pt", "distilled", (6, 2))
    assert s_pol.parameters < t_pol.parameters
    for pol in (t_pol, s_pol):
        assert -_mean_reward(pol, tasks) < random_


def test_trained_policy_is_a_solver(tmp_path):
    """solve(..., checkpoint=...) works, passes conformance, and samples K are no worse than greedy."""
    from partopt.learned.imitation import make_dataset, train_teacher

    data = make_dataset("dil", 500, seed=4, progress=False)
    train_teacher(data, tmp_path / "t.pt", hidden=(32,), epochs=2, progress=False)
    insts = partopt.DILGenerator().generate_many(5, seed=1_000_999)
    for inst in insts:
        greedy = partopt.solve(inst, "imitation", checkpoint=str(tmp_path / "t.pt"))
        best = partopt.solve(inst, "imitation", checkpoint=str(tmp_path / "t.pt"), samples=16, seed=1)
        assert best.objective <= greedy.objective
    report = partopt.check_solver("imitation", insts, objectives=("hard",), checkpoint=str(tmp_path / "t.pt"))
    assert report.ok


def test_missing_checkpoint_names_what_exists():
    """Without a shipped checkpoint for the shape, the error names the ones that exist."""
    inst = partopt.generate("paper", seed=0, num_blocks=7)
    with pytest.raises(ValueError, match=r"no shipped mt-a3c checkpoint for M=7, N=4 \(shipped: .*mt-a3c-m6-n4.pt"):
        partopt.solve(inst, "mt-a3c")


def test_import_partopt_learned_does_not_load_torch():
    """The environment and features load without torch."""
    import subprocess
    import sys

    code = "import partopt.learned.env, sys; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_shipped_checkpoints_solve():
    """Every shipped checkpoint loads without naming it and solves instances of its shape."""
    from partopt.learned.policy import checkpoints_dir, load_policy

    shipped = sorted(checkpoints_dir().glob("*-m*-n*.pt"))
    assert {p.name.split("-m")[0] for p in shipped} >= {"imitation", "distilled"}
    for path in shipped:
        agent = path.name.split("-m")[0]
        shape = load_policy(path, agent, None).shape
        generator = partopt.DILGenerator() if shape == (6, 2) else partopt.PaperGenerator(num_servers=shape[1])
        inst = generator.generate(1_000_555)
        result = partopt.solve(inst, agent)
        assert result.placement is not None and result.status != partopt.Status.INFEASIBLE
        assert result.objective == partopt.Objective("hard").value(partopt.evaluate(inst, result.placement))


def test_k_step_returns_follow_eq16():
    """_returns matches eq. (16) written out: k rewards, then gamma^k V, cut at episode ends."""
    from partopt.learned.a3c import _returns

    rng = np.random.default_rng(0)
    steps, copies, gamma = 6, 3, 0.9
    rewards = rng.normal(size=(steps, copies))
    ended = rng.random((steps, copies)) < 0.25
    terminal = ended & (rng.random((steps, copies)) < 0.5)
    values = rng.normal(size=(steps, copies))
    for k in (1, 2, 4, 6):
        got = _returns(rewards, ended, terminal, values, gamma, k)
        for t in range(steps):
            for e in range(copies):
                ret, j = 0.0, t
                while True:
                    ret += gamma ** (j - t) * rewards[j, e]
                    if ended[j, e] or j - t + 1 == k or j == steps - 1:
                        ret += 0.0 if terminal[j, e] else gamma ** (j - t + 1) * values[j, e]
                        break
                    j += 1
                assert np.isclose(got[t, e], ret)


def test_behaviour_weight_corrects_epsilon_exploration():
    """Weights are pi / mu truncated at 1: 1 without exploration, small for actions pi would not take."""
    from partopt.learned.a3c import _behaviour_log_prob, _importance_weight

    log_pi = torch.log(torch.tensor([0.9, 0.1, 1e-6]))
    assert torch.allclose(_importance_weight(log_pi, _behaviour_log_prob(log_pi, 0.0, 5)), torch.ones(3))
    w = _importance_weight(log_pi, _behaviour_log_prob(log_pi, 1.0, 5))
    assert torch.allclose(w, torch.tensor([1.0, 0.5, 5e-6]), rtol=1e-4)


def test_replay_memory_keeps_the_latest_slots():
    """The ring buffer holds the last ``capacity`` slots and samples only filled ones."""
    from partopt.learned.runtime import ReplayMemory

    memory = ReplayMemory(5, np.random.default_rng(0))
    for start in (0, 3, 6):
        memory.add(obs=np.arange(start, start + 3, dtype=np.float32)[:, None], action=np.arange(start, start + 3))
    assert memory.size == 5 and sorted(memory.items["action"].tolist()) == [4, 5, 6, 7, 8]
    sample = memory.sample(50)
    assert set(sample["action"].tolist()) <= {4, 5, 6, 7, 8}
    assert np.array_equal(sample["obs"][:, 0], sample["action"].astype(np.float32))


def test_schedules_follow_run_fraction():
    """Epsilon falls linearly over eps_decay of the run; the run fraction is the further of episodes and time."""
    import time

    from partopt.learned.runtime import TrainingConfig, epsilon_at, run_fraction

    cfg = TrainingConfig(episodes=100, eps_start=1.0, eps_end=0.1, eps_decay=0.5)
    assert epsilon_at(cfg, 0.0) == 1.0 and np.isclose(epsilon_at(cfg, 0.25), 0.55)
    assert np.isclose(epsilon_at(cfg, 0.9), 0.1)
    assert run_fraction(cfg, 30, time.time()) == 0.3
    timed = TrainingConfig(episodes=100, max_seconds=10.0)
    assert 0.49 < run_fraction(timed, 10, time.time() - 5.0) < 0.6 and run_fraction(timed, 200, time.time()) == 1.0


def test_student_learns_from_a_transfer_set(tmp_path):
    """Unlabelled transfer inputs, labelled only by the teacher, are used and recorded."""
    from partopt.learned.imitation import make_dataset, train_student, train_teacher, unlabelled_features

    data = make_dataset("dil", 2000, seed=5, progress=False)
    teacher = train_teacher(data, tmp_path / "t.pt", hidden=(64, 64), epochs=6, progress=False)
    transfer = unlabelled_features("dil", 3000, seed=6)
    assert transfer.shape == (3000, data.features.shape[1])
    student = train_student(
        teacher,
        data,
        tmp_path / "s.pt",
        labels=100,
        transfer=transfer,
        hidden=(16,),
        epochs=10,
        batch=256,
        progress=False,
    )
    record = torch.load(tmp_path / "s.pt", weights_only=True)["record"]
    assert record["data"]["transfer"] == 3000 and record["data"]["labels"] == 100
    with torch.no_grad():
        x = torch.from_numpy(data.features[1000:])
        agree = (student(x)[0].argmax(-1) == teacher(x)[0].argmax(-1)).float().mean()
    assert agree > 0.6  # chance is 1/3 per block
    with pytest.raises(ValueError, match="seed"):
        unlabelled_features("dil", 10, seed=1_000_000)


def test_slim_checkpoint_solves_but_does_not_resume(tmp_path):
    """A slimmed checkpoint keeps the policy and the run's summary; resuming from it is refused."""
    from partopt.learned.a3c import A3CConfig, train_a3c
    from partopt.learned.policy import describe_checkpoint, slim_checkpoint

    cfg = A3CConfig(
        generator_params={"num_blocks": 3, "num_servers": 2},
        episodes=2,
        horizon=5,
        workers=1,
        envs=2,
        pool=20,
        deterministic=True,
        hidden=(8,),
        seed=0,
    )
    out = tmp_path / "run.pt"
    train_a3c(cfg, out, progress=False)
    inst = partopt.generate("paper", seed=1, num_blocks=3, num_servers=2)
    before = partopt.solve(inst, "mt-a3c", checkpoint=str(out))
    slim_checkpoint(out)
    after = partopt.solve(inst, "mt-a3c", checkpoint=str(out))
    assert before.placement == after.placement and "2 episodes" in describe_checkpoint(out)
    with pytest.raises(ValueError, match="slimmed"):
        train_a3c(A3CConfig(**{**cfg.__dict__, "episodes": 4}), out, resume=True, progress=False)


def test_environments_refuse_invalid_actions():
    """An index of -1 or past N, or the wrong number of locations, is refused instead of wrapping."""
    import numpy as np

    from partopt.learned.env import BlockPlacementEnv, BlockPlacementVectorEnv, TaskPool

    env = BlockPlacementEnv()
    env.reset(seed=0)
    assert env.action_space.shape is not None
    m = env.action_space.shape[0]
    for bad in ([-1] * m, [99] * m, [1] * (m - 1), [0.5] * m):
        with pytest.raises(ValueError, match="action"):
            env.step(np.array(bad))
    vec = BlockPlacementVectorEnv(
        TaskPool.draw("paper", {"num_blocks": 4, "num_servers": 3}, size=10, seed=9, beta=1.0), num_envs=2
    )
    vec.reset(seed=0)
    assert vec.single_action_space.shape is not None
    m = vec.single_action_space.shape[0]
    with pytest.raises(ValueError, match="actions"):
        vec.step(np.full((2, m), -1))
    with pytest.raises(ValueError, match="actions"):
        vec.step(np.zeros((2, m + 1), dtype=int))


def _raising_worker(counter, queue, stop):
    raise RuntimeError("worker boom")


def _dying_worker(counter, queue, stop):
    import os

    os._exit(3)  # as the out-of-memory killer would: no exception, no message


@pytest.mark.parametrize("target, message", [(_raising_worker, "worker boom"), (_dying_worker, "exit code 3")])
def test_a_failing_training_worker_stops_the_run_with_its_error(target, message):
    """A worker that raises or dies stops run_workers with a WorkerError naming it (it used to wait forever)."""
    from partopt.learned.runtime import WorkerError, run_workers

    with pytest.raises(WorkerError, match=message):
        run_workers(
            target, lambda i, counter, queue, stop: (counter, queue, stop), 2, 0, lambda item: None, lambda: False
        )


def test_training_settings_are_checked_and_max_seconds_is_a_time_budget():
    """Every training setting is checked naming it; max_seconds alone lifts the episode cap."""
    from partopt.learned.a3c import A3CConfig
    from partopt.learned.runtime import DEFAULT_EPISODES

    for bad, name in (
        (dict(episodes=0), "episodes"),
        (dict(lr=-1.0), "lr"),
        (dict(gamma=1.5), "gamma"),
        (dict(deterministic="no"), "deterministic"),
        (dict(max_seconds=float("nan")), "max_seconds"),
        (dict(hidden=(0,)), "hidden"),
        (dict(workers=-1), "workers"),
        (dict(t_max=1.5), "t_max"),
    ):
        with pytest.raises(ValueError, match=f"^{name}: "):
            A3CConfig(**bad)
    assert A3CConfig().episode_limit == DEFAULT_EPISODES
    assert A3CConfig(max_seconds=300.0).episode_limit > 10**9
    assert A3CConfig(max_seconds=300.0, episodes=50).episode_limit == 50


def test_a_time_budget_trains_until_it_is_spent(tmp_path):
    """max_seconds=2 with no episode count trains for about 2 s, not for a default number of episodes."""
    import time

    from partopt.learned.a3c import A3CConfig, train_a3c

    cfg = A3CConfig(
        generator_params={"num_blocks": 3, "num_servers": 2},
        horizon=5,
        workers=1,
        envs=2,
        pool=50,
        hidden=(8,),
        seed=0,
        max_seconds=2.0,
    )
    start = time.perf_counter()
    record = train_a3c(cfg, tmp_path / "timed.pt", progress=False)
    assert time.perf_counter() - start >= 2.0
    assert record["episodes"] > 0 and record["wall_seconds"] >= 2.0


def test_imitation_checkpoints_and_resumes(tmp_path):
    """The teacher's checkpoint records its epochs and curve; --resume continues from there, and a
    run with nothing left to do is refused."""
    from partopt.learned.imitation import make_dataset, train_student, train_teacher
    from partopt.learned.policy import read_checkpoint

    data = make_dataset("dil", 300, seed=6, progress=False)
    out = tmp_path / "teacher.pt"
    train_teacher(data, out, hidden=(16,), epochs=2, batch=64, progress=False, checkpoint_every=1e-9)
    assert read_checkpoint(out)["record"]["epochs_done"] == 2
    teacher = train_teacher(data, out, hidden=(16,), epochs=4, batch=64, progress=False, resume=True)
    record = read_checkpoint(out)["record"]
    assert record["epochs_done"] == 4 and [r["epoch"] for r in record["curve"]] == [1, 2, 3, 4]
    with pytest.raises(ValueError, match="^epochs: .* has done 4 of 4"):
        train_teacher(data, out, hidden=(16,), epochs=4, batch=64, progress=False, resume=True)
    with pytest.raises(FileNotFoundError, match="nothing to resume"):
        train_teacher(data, tmp_path / "none.pt", hidden=(16,), epochs=4, progress=False, resume=True)
    with pytest.raises(ValueError, match="^epochs: must be an int >= 1"):
        train_teacher(data, out, epochs=0, progress=False)
    student = tmp_path / "student.pt"
    train_student(teacher, data, student, labels=100, hidden=(8,), epochs=2, progress=False)
    train_student(teacher, data, student, labels=100, hidden=(8,), epochs=3, progress=False, resume=True)
    assert read_checkpoint(student)["record"]["epochs_done"] == 3


def test_a_training_curve_is_written_into_a_folder_not_made_yet(tmp_path):
    """A curve path in a folder that does not exist (a fresh checkout's ``bench/results/tmp``)
    is written, not refused after the training it records."""
    import csv

    from partopt.learned.runtime import write_curve

    path = tmp_path / "not" / "made" / "curve.csv"
    write_curve(path, [{"episode": 1, "reward": -0.5}, {"episode": 2, "reward": -0.25}])
    with open(path, newline="") as fh:
        assert [r["reward"] for r in csv.DictReader(fh)] == ["-0.5", "-0.25"]
