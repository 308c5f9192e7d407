"""Placement policies by name. A policy is a profile: the shared filters, score plugins with
weights, and a GPU selector. Adding one is a module and an entry here."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from k8s4ai.scheduler import framework, pods
from k8s4ai.scheduler.plugins import arrivalmix, baselines, fgd, fit, gaps, online, selectors, shape


@dataclass(frozen=True, slots=True)
class PolicyContext:
    """What a policy may learn before the run: the workload's pod list (FGD derives its
    typical pods from it), the cluster's GPU models, and the run's random generator."""

    workload: Sequence[pods.PodRequest]
    models: Sequence[str]
    rng: np.random.Generator


Factory = Callable[[PolicyContext], framework.Profile]


def _single(
    name: str, plugin: framework.ScorePlugin, selector: framework.GpuSelector
) -> framework.Profile:
    return framework.Profile(name, fit.FILTERS, ((plugin, 1.0),), selector)


def _fgd(ctx: PolicyContext) -> framework.Profile:
    plugin = fgd.FragmentationGradient(fgd.TypicalPods.from_workload(ctx.workload, ctx.models))
    return _single("fgd", plugin, plugin)


TIE_BREAK = 0.001
"""Weight of a plugin that only orders nodes the main score ties: below one point in total."""


def _fgd_shape(ctx: PolicyContext) -> framework.Profile:
    """k8s4ai's policy: FGD, with ties broken by CPU:GPU shape matching (see plugins/shape)."""
    plugin = fgd.FragmentationGradient(fgd.TypicalPods.from_workload(ctx.workload, ctx.models))
    scores = ((plugin, 1.0), (shape.ShapeMatch(), TIE_BREAK))
    return framework.Profile("fgd-shape", fit.FILTERS, scores, plugin)


def _deadgap(ctx: PolicyContext, listed: bool = False) -> framework.Profile:
    """k8s4ai's online policy: a fractional pod goes where the gap it leaves is least likely
    to be wasted (plugins/gaps), then FGD with typical pods learned from the run, then
    shape matching. It learns only from the pods of the run, never from the pod list.

    With `listed`, FGD takes its typical pods from the pod list, as the published FGD does
    (`deadgap-fgd`, to measure what learning them online costs)."""
    mix = arrivalmix.ArrivalMix()
    dead_gap = gaps.DeadGap(mix)
    typical = fgd.TypicalPods.from_workload(ctx.workload, ctx.models) if listed else None
    scores = (
        (online.Observe(mix), 0.0),
        (dead_gap, 1000.0),
        (online.OnlineFgd(mix, ctx.models, among=dead_gap, fixed=typical), 1.0),
        (online.Stamped(shape.ShapeMatch()), TIE_BREAK),
    )
    return framework.Profile("deadgap-fgd" if listed else "deadgap", fit.FILTERS, scores, dead_gap)


POLICIES: dict[str, Factory] = {
    "random": lambda ctx: _single(
        "random", baselines.RandomScore(ctx.rng), selectors.RandomGpu(ctx.rng)
    ),
    "dotprod": lambda ctx: _single("dotprod", baselines.DotProductScore(), selectors.BestFitGpu()),
    "gpuclustering": lambda ctx: _single(
        "gpuclustering", baselines.GpuClusteringScore(), selectors.BestFitGpu()
    ),
    "gpupacking": lambda ctx: _single(
        "gpupacking", baselines.GpuPackingScore(), selectors.BestFitGpu()
    ),
    "bestfit": lambda ctx: _single("bestfit", baselines.BestFitScore(), selectors.BestFitGpu()),
    "fgd": _fgd,
    "fgd-shape": _fgd_shape,
    "deadgap": _deadgap,
    "deadgap-fgd": lambda ctx: _deadgap(ctx, listed=True),
}

PUBLISHED = ("random", "dotprod", "gpuclustering", "gpupacking", "bestfit", "fgd")
"""The policies of the FGD paper's evaluation, in its order."""


class UnknownPolicyError(LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"unknown policy {name!r}; known: {', '.join(POLICIES)}")


def profile(name: str, ctx: PolicyContext) -> framework.Profile:
    try:
        factory = POLICIES[name.lower()]
    except KeyError:
        raise UnknownPolicyError(name) from None
    return factory(ctx)
