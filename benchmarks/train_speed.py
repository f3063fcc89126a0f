"""Training speed: ``convtrace train``'s numpy loop against torch's own training loop, 100 SGD
steps of the LeNet example (examples/lenet.toml), in one process.

Run from the repository root::

    python benchmarks/train_speed.py                    # 100 steps, best of 5, float32
    python benchmarks/train_speed.py --steps 200 --repeat 5 --dtype float64

Ours: ``convtrace.tracing.train.train`` without torch's loop beside it (the im2col layers,
forward, loss, backward, ``core.optim.SGD``). torch's: an ``nn.Sequential`` built from the same
layers and weights, ``CrossEntropyLoss``, ``torch.optim.SGD``, ``zero_grad`` / ``backward`` /
``step``. Both start from the same weights; the first losses are printed to show they compute the
same thing. The two take turns ``--repeat`` times and each one's best time counts (a shared
machine only ever slows a run down). The ratio is ours / torch's.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import numpy as np  # noqa: E402

from convtrace.core.optim import SGD  # noqa: E402
from convtrace.scenario.build import build_scenario  # noqa: E402
from convtrace.scenario.toml_file import spec_from_values  # noqa: E402
from convtrace.tracing.network import build_network  # noqa: E402
from convtrace.tracing.train import train  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def torch_model(scenario):
    """The scenario's network as a plain torch nn.Sequential, with its weights."""
    import torch
    from torch import nn

    dtype = {"float32": torch.float32, "float64": torch.float64}[scenario.dtype]
    modules, shape = [], scenario.x.shape
    for layer in build_network(scenario):
        if layer.kind == "conv":
            (pt, pb), (pl, pr) = layer.resolved_pads(tuple(shape))
            if pt or pb or pl or pr:
                modules.append(nn.ZeroPad2d((pl, pr, pt, pb)))
            f, c, kh, kw = layer.params["weight"].shape
            conv = nn.Conv2d(c, f, (kh, kw), layer.stride, 0, layer.dilation)
            modules.append(conv)
        elif layer.kind == "relu":
            modules.append(nn.ReLU())
        elif layer.kind in ("maxpool", "avgpool"):
            pool = nn.MaxPool2d if layer.kind == "maxpool" else nn.AvgPool2d
            modules.append(pool(layer.kernel_size, layer.stride))
        elif layer.kind == "flatten":
            modules.append(nn.Flatten())
        elif layer.kind == "fc":
            modules.append(nn.Linear(layer.in_features, layer.out_features))
        else:
            raise SystemExit(f"train_speed.py has no torch module for {layer.kind!r}")
        if layer.params:
            with torch.no_grad():
                modules[-1].weight.copy_(torch.tensor(layer.params["weight"]))
                modules[-1].bias.copy_(torch.tensor(layer.params["bias"]))
        shape = layer.output_shape(shape)
    return nn.Sequential(*modules).to(dtype)


def torch_loop(scenario, steps: int, lr: float) -> list[float]:
    import torch

    model = torch_model(scenario)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    x = torch.tensor(scenario.x)
    y = torch.tensor(np.asarray(scenario.target), dtype=torch.long)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def best_times(runs, repeat: int) -> list[tuple[float, object]]:
    """Each of ``runs`` ``repeat`` times, taking turns (so a busy spell hits both alike):
    [(best time, last result)]."""
    best = [(float("inf"), None)] * len(runs)
    for _ in range(repeat):
        for k, run in enumerate(runs):
            start = time.perf_counter()
            result = run()
            best[k] = (min(best[k][0], time.perf_counter() - start), result)
    return best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="torch's threads (0: its own)")
    parser.add_argument("--lr", type=float, default=1e-7)
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    args = parser.parse_args(argv)
    spec = spec_from_values({"scenario": str(ROOT / "examples" / "lenet.toml"),
                             "dtype": args.dtype}, {"dtype"})  # fmt: skip
    scenario = replace(build_scenario(spec), method="im2col")
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    (ours_s, run), (torch_s, torch_losses) = best_times(
        [lambda: train(scenario, SGD(args.lr), args.steps, reference=False),
         lambda: torch_loop(scenario, args.steps, args.lr)],
        args.repeat,
    )  # fmt: skip
    print(f"LeNet (examples/lenet.toml), {args.steps} SGD steps, lr {args.lr:g}, {args.dtype}, "
          f"best of {args.repeat}; numpy {np.__version__}, torch {torch.__version__} "
          f"({torch.get_num_threads()} threads)")  # fmt: skip
    print(f"  first losses  ours {run.losses[0]:.6g}  torch {torch_losses[0]:.6g}; last  ours "
          f"{run.losses[-1]:.6g}  torch {torch_losses[-1]:.6g}")  # fmt: skip
    print(f"  convtrace train loop  {ours_s:8.3f} s  ({1e3 * ours_s / args.steps:.2f} ms/step)")
    print(f"  torch's own loop      {torch_s:8.3f} s  ({1e3 * torch_s / args.steps:.2f} ms/step)")
    print(f"  ratio ours / torch    {ours_s / torch_s:8.2f}×")


if __name__ == "__main__":
    main()
