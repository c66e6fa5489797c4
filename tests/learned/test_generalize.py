"""The shape-free policy, training domains and the learned shared-edge dispatch."""

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from helpers import evaluation_of, placement_of  # noqa: E402

import partopt  # noqa: E402
from partopt.learned.domain import Domain, OutsideDomainWarning  # noqa: E402
from partopt.learned.features import encode_structured  # noqa: E402
from partopt.shared.solvers.heuristics import release_order  # noqa: E402


@pytest.fixture(scope="module")
def tiny_mixture():
    from partopt.learned.shapefree import make_mixture

    return make_mixture(scale=0.01, seed=3, progress=False)


def test_structured_features_follow_the_shape():
    """Every part of the structured features has the instance's M and N + 1 where it should."""
    for m, n in ((3, 2), (9, 7)):
        inst = partopt.generate("paper", seed=1, num_blocks=m, num_servers=n)
        f = encode_structured(inst.as_batch)
        assert f.shape == (m, n)
        assert f.blocks.shape[:2] == (1, m) and f.locations.shape[:2] == (1, n + 1)
        assert f.unary.shape[:3] == (1, m, n + 1) and f.moves.shape[:4] == (1, m, n + 1, n + 1)
        assert np.isfinite(f.moves).all()
        # the stay flag is the identity on every block
        assert (f.moves[0, :, :, :, 2] == np.eye(n + 1)[None]).all()


def test_one_net_reads_every_shape():
    """A ChainNet gives logits of shape (B, M, N + 1) for any M and N, and its teacher-forced
    logits equal the rows of its all-moves logits."""
    from partopt.learned.nets import ChainNet, as_tensors

    torch.manual_seed(0)
    net = ChainNet(16)
    for m, n in ((3, 2), (12, 9)):
        batch = partopt.PaperGenerator(num_blocks=m, num_servers=n).generate_many(3, seed=5)
        x = as_tensors(encode_structured(partopt.InstanceBatch.stack(batch)))
        prev = torch.randint(0, n + 1, (3, m))
        prev[:, 0] = 0
        logits, value = net(x, prev)
        assert logits.shape == (3, m, n + 1) and value.shape == (3,)
        every, _ = net.move_logits(x)
        picked = every.gather(2, prev[:, :, None, None].expand(-1, -1, 1, n + 1))[:, :, 0]
        assert torch.allclose(picked, logits, atol=1e-5)


def test_domain_refuses_other_shapes_and_warns_outside_ranges():
    batches = [partopt.PaperGenerator(num_servers=n).generate_many(5, seed=2)[0].as_batch for n in (2, 3)]
    domain = Domain.of(batches, ["paper"])
    assert domain.servers == (2, 3) and domain.blocks == (6,)
    assert Domain.from_dict(domain.to_dict()) == domain
    inside = partopt.generate("paper", seed=9, num_servers=3).as_batch
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        domain.check(inside, "policy")
    with pytest.raises(ValueError, match=r"shape \(M, N\) = \(6, 5\).*trained on.*allow_outside"):
        domain.check(partopt.generate("paper", seed=9, num_servers=5).as_batch, "policy")
    with pytest.warns(OutsideDomainWarning, match="outside"):
        domain.check(partopt.generate("paper", seed=9, num_servers=5).as_batch, "policy", allow_outside=True)
    slow = partopt.generate("paper", seed=9, num_servers=3, server_GHz=200.0).as_batch
    with pytest.warns(OutsideDomainWarning, match="server_hz"):
        domain.check(slow, "policy")


def test_shape_free_training_learns_resumes_and_solves(tiny_mixture, tmp_path):
    """A short run beats a random policy's block accuracy, resumes where it stopped, and the
    checkpoint solves instances of several shapes, refusing ones outside its domain."""
    from partopt.learned.policy import read_checkpoint
    from partopt.learned.shapefree import train_shape_free

    buckets, domain = tiny_mixture
    out = tmp_path / "sf.pt"
    train_shape_free(buckets, domain, out, width=16, epochs=1, progress=False)
    first = read_checkpoint(out)["record"]
    assert first["epochs_done"] == 1
    train_shape_free(buckets, domain, out, width=16, epochs=3, resume=True, progress=False)
    record = read_checkpoint(out)["record"]
    assert record["epochs_done"] == 3 and len(record["curve"]) == 3
    assert record["final"]["val_block_accuracy"] > 0.6  # random over 3..10 locations: < 0.34
    for m, n in ((3, 2), (6, 4), (15, 9)):
        inst = partopt.generate("paper", seed=1_000_321, num_blocks=m, num_servers=n)
        res = partopt.solve(inst, "shape-free", objective="penalty", checkpoint=str(out))
        assert len(placement_of(res)) == m and res.status != partopt.Status.INFEASIBLE
        best = partopt.solve(inst, "shape-free", objective="penalty", checkpoint=str(out), samples=8)
        assert best.objective <= res.objective + 1e-12
    with pytest.raises(ValueError, match="allow_outside"):
        partopt.solve(partopt.generate("paper", seed=1, num_servers=12), "shape-free", checkpoint=str(out))


def test_shape_free_nan_checkpoint_is_refused(tiny_mixture, tmp_path):
    from partopt.learned.shapefree import train_shape_free

    buckets, domain = tiny_mixture
    out = tmp_path / "sf.pt"
    train_shape_free(buckets, domain, out, width=8, epochs=1, progress=False)
    data = torch.load(out, weights_only=True)
    name = next(iter(data["state_dict"]))
    data["state_dict"][name] = data["state_dict"][name] * float("nan")
    torch.save(data, out)
    with pytest.raises(ValueError, match=rf"sf.pt weight {name!r} holds NaN"):
        partopt.solve(partopt.generate("paper", seed=1), "shape-free", checkpoint=str(out))


def test_zero_prices_are_earliest_finish():
    """With every congestion price 0 the learned dispatch places exactly as earliest-finish."""
    from partopt.learned.dispatch import FEATURES, DispatchWeights, dispatch

    zero = DispatchWeights(np.zeros((FEATURES, 4)), np.zeros(4), np.zeros(4), -60.0)
    for seed in range(3):
        sc = partopt.generate("shared", seed=seed, num_tasks=10, release_rate=90)
        placement, _start, total = dispatch(sc, zero, keep_deadlines=True)
        ef = partopt.solve(sc, "earliest-finish")
        assert [list(p) for p in placement_of(ef)] == placement
        assert total == pytest.approx(ef.objective, rel=1e-12)


def test_dispatch_training_resumes_and_solves(tmp_path):
    from partopt.learned.dispatch import DispatchConfig, train_dispatch
    from partopt.learned.policy import read_checkpoint

    out = tmp_path / "d.pt"
    cfg = DispatchConfig(tasks=(6,), batch=2, pairs=2, iterations=1, hidden=4)
    train_dispatch(cfg, out, progress=False)
    cfg.iterations = 2
    train_dispatch(cfg, out, resume=True, progress=False)
    assert read_checkpoint(out)["record"]["iterations_done"] == 2
    sc = partopt.generate("shared", seed=1_000_001, num_tasks=6)
    res = partopt.solve(sc, "shared-learned", checkpoint=str(out))
    assert res.status in (partopt.Status.FEASIBLE, partopt.Status.OPTIMAL) and len(placement_of(res)) == 6
    assert res.objective == pytest.approx(
        partopt.Objective("hard").value(partopt.evaluate(sc, placement_of(res), res.start_s))
    )
    with pytest.raises(FileNotFoundError, match="missing.pt does not exist"):
        partopt.solve(sc, "shared-learned", checkpoint=str(tmp_path / "missing.pt"))


def test_shipped_fixed_shape_checkpoint_warns_on_another_generator():
    """The N = 2 imitation checkpoint was trained on the DIL generator: on a paper instance
    solve warns, naming the quantities outside its training range."""
    inst = partopt.generate("paper", seed=1_000_555, num_servers=2)
    with pytest.warns(OutsideDomainWarning, match=r"imitation-m6-n2.pt was trained on \(generators dil.*cycles"):
        partopt.solve(inst, "imitation")
    dil = partopt.generate("dil", seed=1_000_555)
    with warnings.catch_warnings():
        warnings.simplefilter("error", OutsideDomainWarning)
        partopt.solve(dil, "imitation")


def test_polished_dispatch_is_no_worse():
    """polish=True runs the local search from the learned placement: never worse than without."""
    partopt.solve(partopt.generate("shared", seed=1_000_100, num_tasks=2), "shared-learned", polish=True)  # warm
    for seed in range(2):
        sc = partopt.generate("shared", seed=1_000_100 + seed, num_tasks=12, release_rate=90)
        plain = partopt.solve(sc, "shared-learned")
        polished = partopt.solve(sc, "shared-learned", polish=True, ms_per_task=20.0)
        assert polished.objective <= plain.objective * (1 + 1e-12)
    with pytest.raises(ValueError, match="ms_per_task"):
        partopt.solve(sc, "shared-learned", polish=True, ms_per_task=0)


def test_learned_search_is_no_worse_than_its_starts():
    """shared-learned-search starts the order search from shared-learned's schedule: never worse
    than shared-learned, nor than the order search alone at the same effort and seed; its
    schedule checks out under evaluate with its deadlines and budgets."""
    for seed in range(2):
        sc = partopt.generate("shared", seed=1_000_300 + seed, num_tasks=8, mix=True)
        found = partopt.solve(sc, "shared-learned-search", seed=seed, moves_per_task=300, allow_outside=True)
        ev = evaluation_of(found, partopt.ScenarioEvaluation)
        assert ev.valid and ev.total_delay == partopt.evaluate(sc, placement_of(found), found.start_s).total_delay
        alone = partopt.solve(sc, "shared-order-search", seed=seed, moves_per_task=300)
        for start in (partopt.solve(sc, "shared-learned", allow_outside=True), alone):
            assert found.objective <= start.objective * (1 + 1e-12)
    with pytest.raises(ValueError, match="moves_per_task"):
        partopt.solve(sc, "shared-learned-search", moves_per_task=0)


def test_dispatch_decodings_keep_the_best():
    """decodings=[(0, 0)] is earliest-finish's placement; several decodings are no worse than
    any one; a lookahead lets a short task go before a long one released a little earlier."""
    from partopt.learned.dispatch import Decoder

    sc = partopt.generate("shared", seed=1_000_200, num_tasks=12, release_rate=100)
    zero = partopt.solve(sc, "shared-learned", decodings=[(0, 0)])
    assert zero.objective <= partopt.solve(sc, "earliest-finish").objective * (1 + 1e-12)
    pairs = [(0, 0), (1, 0), (2, 0.5), (0.5, 1)]
    many = partopt.solve(sc, "shared-learned", decodings=pairs)
    for pair in pairs:
        assert many.objective <= partopt.solve(sc, "shared-learned", decodings=[pair]).objective * (1 + 1e-12)
    for bad in ([(-1, 0)], [], [1.0], [(0, float("nan"))]):
        with pytest.raises(ValueError, match="decodings"):
            partopt.solve(sc, "shared-learned", decodings=bad)
    decoder = Decoder(sc, True)
    assert decoder.order(0.0) == release_order(sc)
    late = decoder.order(1e6)  # by least computation time alone
    assert [decoder.fastest[k] for k in late] == sorted(decoder.fastest)


def test_compiled_list_schedule_is_the_python_dp_task_by_task():
    """ListScheduler (compiled) places each task as earliest_finish_chain does against the
    resources' free times, priced or not, in any order."""
    from partopt.learned.dispatch import Decoder, dispatch_features, load_dispatch
    from partopt.shared.solvers.common import earliest_finish_chain

    weights = load_dispatch()[0]
    for seed in range(3):
        sc = partopt.generate(
            "shared",
            seed=seed,
            num_tasks=9,
            release_rate=100,
            networks=("vgg16", "nin", "resnet32"),
            deadline_s=(0.02, 0.3),
        )
        decoder = Decoder(sc, keep_deadlines=True)
        rank = {k: i for i, k in enumerate(release_order(sc))}
        releases = sorted(t.release_s for t in sc.tasks)
        for scale, lookahead in ((0.0, 0.0), (1.0, 0.0), (2.0, 1.0)):
            placement, start, summary = decoder.decode(weights, scale, decoder.order(lookahead))
            server_free = [s.available_s for s in sc.servers]
            device_free = [0.0] * sc.num_devices
            for k in decoder.order(lookahead):
                task, tab = sc.tasks[k], sc.tables[k]
                free = [device_free[task.device], *server_free]
                price = None
                if scale:
                    price = scale * weights.prices(dispatch_features(sc, k, free, releases, rank[k]))
                chain = earliest_finish_chain(tab, task.release_s, free, True, price) or earliest_finish_chain(
                    tab, task.release_s, free, False, price
                )
                assert chain is not None and list(chain.placement) == placement[k]
                assert chain.start_s == pytest.approx(start[k], rel=1e-12, abs=1e-15)
                for loc, end in zip(chain.placement, chain.finish_s):
                    if loc == 0:
                        device_free[task.device] = end
                    else:
                        server_free[loc - 1] = end
            ev = partopt.evaluate(sc, placement, start)
            assert ev.valid and summary.total_delay == pytest.approx(ev.total_delay, rel=1e-12)
            assert (summary.deadlines_met, summary.budget_kept) == (ev.deadlines_met, ev.budget_kept)


def test_cli_trains_both_new_agents(tmp_path, capsys):
    """`partopt train shape-free` and `partopt train shared-learned` write checkpoints that solve;
    an unknown setting is refused naming it, before any work."""
    from partopt.cli import main

    out = tmp_path / "sf.pt"
    assert (
        main(
            [
                "train",
                "shape-free",
                "--config",
                "scale=0.003",
                "--config",
                "epochs=1",
                "--config",
                "width=8",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    inst = partopt.generate("paper", seed=1_000_004, num_blocks=4, num_servers=3)
    assert len(placement_of(partopt.solve(inst, "shape-free", checkpoint=str(out)))) == 4
    assert main(["train", "shape-free", "--config", "epoch=1", "--out", str(out)]) == 2
    assert "--config epoch: not a setting" in capsys.readouterr().err
    out = tmp_path / "d.pt"
    assert (
        main(
            [
                "train",
                "shared-learned",
                "--config",
                "iterations=1",
                "--config",
                "pairs=1",
                "--config",
                "batch=1",
                "--config",
                "tasks=[4]",
                "--config",
                "workers=1",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert (
        partopt.solve(
            partopt.generate("shared", seed=1_000_002, num_tasks=4), "shared-learned", checkpoint=str(out)
        ).placement
        is not None
    )


def test_actor_critic_fine_tuning_runs_and_continues(tiny_mixture, tmp_path):
    """A3C fine-tuning of a shape-free policy changes its weights, records its updates and
    continues from its own checkpoint; the result still solves."""
    from partopt.learned.policy import read_checkpoint
    from partopt.learned.shapefree import FinetuneConfig, finetune_shape_free, train_shape_free

    buckets, domain = tiny_mixture
    start, out = tmp_path / "sf.pt", tmp_path / "tuned.pt"
    train_shape_free(buckets, domain, start, width=8, epochs=1, progress=False)
    finetune_shape_free(FinetuneConfig(updates=3, batch=8, workers=1, lr=1e-3), start, out, progress=False)
    before, after = read_checkpoint(start), read_checkpoint(out)
    assert after["record"]["finetune"]["updates"] == 3
    assert any(not torch.equal(before["state_dict"][k], after["state_dict"][k]) for k in before["state_dict"])
    finetune_shape_free(FinetuneConfig(updates=2, batch=8, workers=1), out, out, progress=False)
    assert read_checkpoint(out)["record"]["finetune"]["updates"] == 5
    inst = partopt.generate("paper", seed=1_000_007, num_blocks=5, num_servers=6)
    assert len(placement_of(partopt.solve(inst, "shape-free", checkpoint=str(out)))) == 5


def test_sampled_placements_follow_their_log_probabilities():
    """sample_placements' log-probability is the sum of the per-block log-probabilities of the
    path it drew, each block's row chosen by the block before."""
    from partopt.learned.shapefree import sample_placements

    g = torch.Generator().manual_seed(0)
    logits = torch.randn(4, 5, 3, 3, generator=g)
    placements, log_prob, _ = sample_placements(logits, g)
    for b in range(4):
        prev, total = 0, 0.0
        for m in range(5):
            a = int(placements[b, m])
            total += float(torch.log_softmax(logits[b, m, prev], dim=-1)[a])
            prev = a
        assert float(log_prob[b]) == pytest.approx(total, abs=1e-5)
