"""QuotaBook: the mode a request gets from its queue's quota and its cohort, case by case.
Every case starts from the usage in `used`, asks for `request` in `queue`, and compares the
mode and the key that decided it (None when everything fits)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pytest

from k8s4ai.scheduler.admission import quota, workload
from tests.scheduler.admission import builders as b

FIT, BORROW, RECLAIM, NO_FIT = (
    quota.Mode.FIT,
    quota.Mode.BORROW,
    quota.Mode.RECLAIM,
    quota.Mode.NO_FIT,
)
GPU = b.GPU
H100 = ("gpu", "h100")
CPU = ("cpu", None)


@dataclass(frozen=True)
class Case:
    queues: Sequence[quota.QueueQuota]
    request: Mapping[workload.ResourceKey, float]
    mode: quota.Mode
    key: workload.ResourceKey | None = None
    used: Mapping[str, Mapping[workload.ResourceKey, float]] = field(default_factory=dict)
    queue: str = "a"


def pair(
    a: quota.QueueQuota | None = None, b_: quota.QueueQuota | None = None
) -> list[quota.QueueQuota]:
    """Two queues in cohort c, 8 GPUs of nominal quota each unless given."""
    return [a or b.queue("a", cohort="c"), b_ or b.queue("b", cohort="c")]


def used(book: quota.QuotaBook) -> dict[str, dict[workload.ResourceKey, float]]:
    """Non-zero usage per queue."""
    return {q: {k: v for k, v in u.items() if v} for q, u in book.usage.items()}


CASES: dict[str, Case] = {
    # within and above nominal
    "fit-within-nominal": Case(pair(), {GPU: 4}, FIT, used={"a": {GPU: 4}}),
    "fit-exactly-nominal": Case(pair(), {GPU: 8}, FIT),
    "borrow-above-nominal-when-peer-idle": Case(
        pair(), {GPU: 8}, BORROW, GPU, used={"a": {GPU: 8}}
    ),
    "borrow-up-to-borrowing-limit": Case(
        pair(b.queue("a", cohort="c", borrowing=4)), {GPU: 4}, BORROW, GPU, used={"a": {GPU: 8}}
    ),
    "no-fit-past-borrowing-limit": Case(
        pair(b.queue("a", cohort="c", borrowing=4)), {GPU: 5}, NO_FIT, GPU, used={"a": {GPU: 8}}
    ),
    "zero-borrowing-limit-never-borrows": Case(
        pair(b.queue("a", cohort="c", borrowing=0)), {GPU: 1}, NO_FIT, GPU, used={"a": {GPU: 8}}
    ),
    "no-fit-when-cohort-has-nothing-to-lend": Case(
        pair(), {GPU: 8}, NO_FIT, GPU, used={"a": {GPU: 4}, "b": {GPU: 8}}
    ),
    # reclaim: within nominal, but the shared pool is lent out
    "reclaim-when-peer-borrowed-everything": Case(
        pair(), {GPU: 8}, RECLAIM, GPU, used={"b": {GPU: 16}}
    ),
    "reclaim-when-peer-borrowed-part": Case(pair(), {GPU: 8}, RECLAIM, GPU, used={"b": {GPU: 12}}),
    "fit-in-the-part-not-lent": Case(pair(), {GPU: 4}, FIT, used={"b": {GPU: 12}}),
    "above-nominal-while-lent-out-is-no-fit": Case(
        pair(), {GPU: 8}, NO_FIT, GPU, used={"a": {GPU: 4}, "b": {GPU: 12}}
    ),
    # lending limit: a lends 4 of its 8; the other 4 are guaranteed to it
    "borrow-the-lendable-part": Case(
        pair(b.queue("a", cohort="c", lending=4)),
        {GPU: 4},
        BORROW,
        GPU,
        used={"b": {GPU: 8}},
        queue="b",
    ),
    "never-borrow-the-guaranteed-part": Case(
        pair(b.queue("a", cohort="c", lending=4)),
        {GPU: 1},
        NO_FIT,
        GPU,
        used={"b": {GPU: 12}},
        queue="b",
    ),
    "guaranteed-part-fits-without-reclaim": Case(
        pair(b.queue("a", cohort="c", lending=4)), {GPU: 4}, FIT, used={"b": {GPU: 12}}
    ),
    "lent-part-needs-reclaim": Case(
        pair(b.queue("a", cohort="c", lending=4)), {GPU: 8}, RECLAIM, GPU, used={"b": {GPU: 12}}
    ),
    "lender-still-borrows": Case(
        pair(b.queue("a", cohort="c", lending=4)), {GPU: 12}, BORROW, GPU, used={"a": {GPU: 4}}
    ),
    "zero-lending-limit-lends-nothing": Case(
        pair(b.queue("a", cohort="c", lending=0)),
        {GPU: 1},
        NO_FIT,
        GPU,
        used={"b": {GPU: 8}},
        queue="b",
    ),
    # a queue without a cohort has its nominal quota and nothing more
    "no-cohort-fit": Case([b.queue("a")], {GPU: 8}, FIT),
    "no-cohort-cannot-borrow": Case(
        [b.queue("a", borrowing=8)], {GPU: 1}, NO_FIT, GPU, used={"a": {GPU: 8}}
    ),
    "no-cohort-ignores-other-queues": Case(
        [b.queue("a"), b.queue("b")], {GPU: 8}, FIT, used={"b": {GPU: 8}}
    ),
    # keys nobody in the cohort lists are not limited
    "unlisted-resource-unlimited": Case(
        [b.queue("a")], {CPU: 10_000.0, GPU: 8}, FIT, used={"a": {GPU: 0}}
    ),
    "unlisted-class-unlimited": Case(
        [b.queue("a", gpu=None, extra={H100: b.limits(8)})], {("gpu", "a100"): 64}, FIT
    ),
    "listed-cpu-limits": Case(
        [b.queue("a", extra={CPU: b.limits(16)})], {GPU: 1, CPU: 32}, NO_FIT, CPU
    ),
    "worst-key-decides": Case(
        pair(b.queue("a", cohort="c", extra={CPU: b.limits(16)})),
        {GPU: 8, CPU: 32},
        NO_FIT,
        CPU,
        used={"a": {GPU: 8}},
    ),
    # class-specific quota, with the class-less GPU quota for other classes
    "class-quota-charges-its-class": Case(
        [b.queue("a", gpu=4, extra={H100: b.limits(8)})], {H100: 8}, FIT
    ),
    "class-quota-is-a-limit": Case(
        [b.queue("a", gpu=64, extra={H100: b.limits(8)})], {H100: 9}, NO_FIT, H100
    ),
    "other-class-charged-to-class-less": Case(
        [b.queue("a", gpu=4, extra={H100: b.limits(8)})], {("gpu", "a100"): 5}, NO_FIT, GPU
    ),
    "own-class-less-before-peer-class": Case(
        pair(
            b.queue("a", cohort="c", gpu=8),
            b.queue("b", cohort="c", gpu=None, extra={H100: b.limits(8)}),
        ),
        {H100: 8},
        FIT,
    ),
    "class-only-a-peer-lists-is-borrowed": Case(
        pair(
            b.queue("a", cohort="c", gpu=None, extra={CPU: b.limits(64)}),
            b.queue("b", cohort="c", gpu=None, extra={H100: b.limits(8)}),
        ),
        {H100: 8},
        BORROW,
        H100,
    ),
    "resource-only-a-peer-lists-is-borrowed": Case(
        pair(b.queue("a", cohort="c", gpu=None)), {GPU: 4}, BORROW, GPU
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_check(case: Case) -> None:
    book = quota.QuotaBook(case.queues)
    for name, usage in case.used.items():
        book.charge(name, usage)
    before = used(book)
    check = book.check(case.queue, case.request)
    assert (check.mode, check.key) == (case.mode, case.key)
    assert used(book) == before, "a check charges nothing"
    assert (check.message != "") == (case.mode < BORROW), "a reason for every refusal"


def test_charged_keys() -> None:
    book = quota.QuotaBook(
        [
            b.queue("a", cohort="c", gpu=8),
            b.queue("b", cohort="c", gpu=None, extra={H100: b.limits(8)}),
        ]
    )
    assert book.charged("a", {H100: 8, CPU: 4}) == {GPU: 8}
    assert book.charged("b", {H100: 8, ("gpu", "a100"): 2}) == {H100: 8, GPU: 2}


def test_charge_and_uncharge_are_inverses() -> None:
    book = quota.QuotaBook(pair(b.queue("a", cohort="c", lending=4)))
    steps = [("a", {GPU: 3.5}), ("b", {GPU: 11}), ("a", {GPU: 0.25}), ("b", {GPU: 0.1})]
    for name, usage in steps:
        book.charge(name, usage)
    assert book.borrowed("b") == {GPU: pytest.approx(3.1)}
    assert book.pool("a", GPU) == (12.0, pytest.approx(11.1))
    for name, usage in reversed(steps):
        book.uncharge(name, usage)
    assert used(book) == {"a": {}, "b": {}}
    assert book.pool("a", GPU) == (12.0, 0.0)
    assert not book.is_borrowing("b")


CAPACITY = {GPU: 100.0, CPU: 1000.0}
SHARES: dict[str, tuple[float, Mapping[workload.ResourceKey, float], float]] = {
    "idle": (1.0, {}, 0.0),
    "gpu-dominant": (1.0, {GPU: 50, CPU: 100}, 0.5),
    "cpu-dominant": (1.0, {GPU: 10, CPU: 200}, 0.2),
    "weight-divides": (2.0, {GPU: 50, CPU: 100}, 0.25),
    "weight-below-one-multiplies": (0.5, {GPU: 10}, 0.2),
}


@pytest.mark.parametrize(("weight", "used", "share"), SHARES.values(), ids=SHARES.keys())
def test_weighted_dominant_share(
    weight: float, used: Mapping[workload.ResourceKey, float], share: float
) -> None:
    book = quota.QuotaBook([b.queue("a", weight=weight, extra={CPU: b.limits(500)})])
    book.charge("a", used)
    assert book.share("a", CAPACITY) == pytest.approx(share)


def test_share_orders_queues_by_weight() -> None:
    """Equal usage, double weight: the heavier queue is served first (lower share)."""
    book = quota.QuotaBook([b.queue("light"), b.queue("heavy", weight=2.0)])
    for name in ("light", "heavy"):
        book.charge(name, {GPU: 20})
    assert book.share("heavy", CAPACITY) < book.share("light", CAPACITY)
