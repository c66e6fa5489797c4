"""``partopt train``: train a learned solver from the command line."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from partopt.names import did_you_mean, key_values

__all__ = ["train_main"]


def _refuse_unknown(values: dict, taken: set[str], owner: str) -> None:
    """Refuse --config keys that ``owner`` does not take, naming them and what it takes."""
    for key in values:
        if key not in taken:
            raise ValueError(
                f"--config {key}: not a setting of {owner} ("
                + ", ".join(sorted(taken))
                + ")"
                + did_you_mean(key, taken)
            )


def _config(cls, values: dict):
    _refuse_unknown(values, {f.name for f in dataclasses.fields(cls)}, cls.__name__)
    return cls(**values)


def _check_keys(fn, values: dict, extra: set[str]) -> None:
    """Refuse settings that are neither ``fn``'s keywords (less those the CLI sets itself) nor ``extra``."""
    import inspect

    taken = {p.name for p in inspect.signature(fn).parameters.values() if p.kind is p.KEYWORD_ONLY}
    _refuse_unknown(values, (taken - {"curve", "seed", "resume", "progress"}) | extra, fn.__name__)


def _train_online(args, values: dict) -> int:
    """``partopt train online-learned``: the cross-entropy method in partopt/SharedEdge-v0; the
    weights as JSON, the best mean return after each iteration in a CSV beside them."""
    from partopt.learned.online import train_online_dispatch

    if args.resume:
        raise ValueError("--resume: an online-learned run is short and starts over; run it again")
    _check_keys(train_online_dispatch, values, {"rates", "seed"})
    out = Path(args.out or "online-dispatch.json")
    policy, history = train_online_dispatch(progress=True, **values)
    policy.save(out)
    curve = out.with_suffix(".curve.csv")
    curve.write_text("iteration,best_score\n" + "".join(f"{i + 1},{h!r}\n" for i, h in enumerate(history)))
    print(f"wrote {out} (weights {', '.join(f'{w:.4g}' for w in policy.weights)}; curve {curve})")
    return 0


def train_main(args) -> int:
    """`partopt train AGENT`: train one learned solver, its settings from ``--config``."""
    values = key_values(args.config, "--config")
    if args.agent == "online-learned":
        return _train_online(args, values)
    out = Path(args.out or f"{args.agent}.pt")
    curve = out.with_suffix(".curve.csv")
    agent = "shape-free-finetune" if args.agent == "shape-free" and "start" in values else args.agent
    record = _TRAINERS[agent](args, values, out, curve)
    print(f"wrote {out} (training curve {curve})")
    if record.get("wall_seconds"):
        print(f"{record['episodes']} episodes in {record['wall_seconds']:.0f} s")
    return 0


def _train_a3c(args, values: dict, out: Path, curve: Path) -> dict:
    """mt-a3c and a3c (:func:`partopt.learned.a3c.train_a3c`)."""
    from partopt.learned.a3c import A3CConfig, train_a3c

    cfg = _config(A3CConfig, {"agent": args.agent, **values})
    return train_a3c(cfg, out, resume=args.resume, curve_csv=curve)


def _train_dqn(args, values: dict, out: Path, curve: Path) -> dict:
    """dqn (:func:`partopt.learned.dqn.train_dqn`)."""
    from partopt.learned.dqn import DQNConfig, train_dqn

    return train_dqn(_config(DQNConfig, values), out, resume=args.resume, curve_csv=curve)


def _train_dispatch(args, values: dict, out: Path, curve: Path) -> dict:
    """shared-learned (:func:`partopt.learned.dispatch.train_dispatch`)."""
    from partopt.learned.dispatch import DispatchConfig, train_dispatch

    train_dispatch(_config(DispatchConfig, values), out, resume=args.resume, curve=curve)
    return {"wall_seconds": None}


def _finetune_shape_free(args, values: dict, out: Path, curve: Path) -> dict:
    """shape-free with ``start=CHECKPOINT``: its A3C fine-tuning (not resumable)."""
    from partopt.learned.shapefree import FinetuneConfig, finetune_shape_free

    start = values.pop("start")
    if args.resume:
        raise ValueError(
            "--resume: a shape-free fine-tuning run cannot be resumed; start it again (from the same start checkpoint)"
        )
    finetune_shape_free(_config(FinetuneConfig, values), start, out, curve=curve)
    return {"wall_seconds": None}


def _train_shape_free(args, values: dict, out: Path, curve: Path) -> dict:
    """shape-free on its mixture (``data=FILE`` reuses or keeps it; ``scale``, ``seed``)."""
    from partopt.learned.shapefree import load_mixture, make_mixture, save_mixture, train_shape_free

    _check_keys(train_shape_free, values, {"data", "scale", "seed"})
    data_path = values.pop("data", None)
    scale, seed = float(values.pop("scale", 1.0)), int(values.pop("seed", 0))
    if data_path and Path(data_path).exists():
        buckets, domain = load_mixture(data_path)
    else:
        buckets, domain = make_mixture(scale, seed=seed)
        if data_path:
            save_mixture(data_path, buckets, domain)
    train_shape_free(buckets, domain, out, curve=curve, seed=seed, resume=args.resume, **values)
    return {"wall_seconds": None}


def _train_imitation(args, values: dict, out: Path, curve: Path) -> dict:
    """imitation: the teacher on exact labels (``data=FILE`` reuses or keeps them)."""
    from partopt.learned.imitation import load_dataset, make_dataset, train_teacher

    data_path = values.pop("data", None)
    gen = values.pop("generator", "dil")
    params = values.pop("generator_params", None) or {}
    count, seed = int(values.pop("count", 300_000)), int(values.pop("seed", 0))
    if data_path and Path(data_path).exists():
        data = load_dataset(data_path)
    else:
        data = make_dataset(gen, count, seed=seed, params=params)
        if data_path:
            data.save(data_path)
    train_teacher(data, out, curve=curve, seed=seed, resume=args.resume, **values)
    return {"wall_seconds": None}


def _train_distilled(args, values: dict, out: Path, curve: Path) -> dict:
    """distilled: a student of a trained teacher, on labels and an unlabelled transfer set."""
    from partopt.learned.imitation import TRANSFER_STUDENT, make_dataset, train_student, unlabelled_features
    from partopt.learned.policy import load_policy

    gen = values.pop("generator", "dil")
    params = values.pop("generator_params", None) or {}
    labels = int(values.get("labels", 1000))
    seed = int(values.pop("seed", 1))
    transfer = int(values.pop("transfer", 200_000))
    data = make_dataset(gen, labels, seed=seed, params=params, progress=False)
    teacher = load_policy(values.pop("teacher", None), "imitation", data.shape).net
    extra = unlabelled_features(gen, transfer, seed=seed + 1, params=params) if transfer else None
    options = TRANSFER_STUDENT if transfer else {}
    train_student(
        teacher, data, out, curve=curve, seed=seed, transfer=extra, resume=args.resume, **{**options, **values}
    )
    return {"wall_seconds": None}


#: The trainer of each agent of `partopt train` (online-learned has its own path).
_TRAINERS = {
    "mt-a3c": _train_a3c,
    "a3c": _train_a3c,
    "dqn": _train_dqn,
    "shared-learned": _train_dispatch,
    "shape-free-finetune": _finetune_shape_free,
    "shape-free": _train_shape_free,
    "imitation": _train_imitation,
    "distilled": _train_distilled,
}
