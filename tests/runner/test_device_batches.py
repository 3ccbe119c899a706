"""Training streams on the device yield the very batches the DataLoader + Accelerate path yielded.

``DeviceBatches`` replaced ``cycle(accelerator.prepare_data_loader(make_loader(...)))`` in the training
step. The reference here is that old path itself (``make_loader``, Accelerate's ``prepare_data_loader``
and ``cycle`` are still the library's own code, used for evaluation), run side by side for several passes:
same indices -> same images, labels and source-domain indices, batch by batch, for shuffled and
class-balanced streams, with and without ``drop_last``, and for each process of a 2- and 3-process run
(Accelerate's sharding, incl. the even-batches padding of a last partial batch).
"""

from __future__ import annotations

import itertools

import pytest
import torch
from accelerate.data_loader import prepare_data_loader

from zoo.bench.task_data import TaskData
from zoo.datasets.base import Split
from zoo.datasets.synthetic import synthetic_domain
from zoo.imbalance import balanced_sample_weights
from zoo.runner.batches import DeviceBatches, cycle, make_loader
from zoo.runner.streams import TrainStreams


@pytest.fixture(scope="module", autouse=True)
def accelerator():
    """Accelerate's sharding needs its state initialised, as in a run (one process here; the shards of
    other process counts are asked for by number)."""
    from accelerate import Accelerator

    return Accelerator(cpu=True)


def _multi_source_split(n: int = 75) -> Split:
    """An imbalanced split whose rows come from three source domains (as a multi-source task's train split)."""
    train = synthetic_domain(n_per_class=60, seed=3).splits["train"]
    keep = torch.cat([torch.nonzero(train.labels == 0).flatten(), torch.nonzero(train.labels == 1).flatten()[:8]])
    split = train.subset(keep[:n])
    return Split(split.images, split.labels, domains=torch.arange(len(split)) % 3)


def _old_stream(split, batch_size, seed, drop_last, with_domains, weights, num_processes, process_index):
    loader = make_loader(split, batch_size, True, seed, drop_last=drop_last, with_domains=with_domains,
                         sample_weights=weights)
    prepared = prepare_data_loader(loader, device=torch.device("cpu"), num_processes=num_processes,
                                   process_index=process_index, put_on_device=True, rng_types=["generator"])
    return prepared, cycle(prepared)


def _assert_same(old, new, steps: int) -> None:
    for step in range(steps):
        a, b = next(old), next(new)
        assert len(a) == len(b), step
        for x, y in zip(a, b):
            assert x.dtype == y.dtype and torch.equal(x, y), f"batch {step} differs"


@pytest.mark.parametrize("seed", [0, 1, 7])
@pytest.mark.parametrize("balanced", [False, True])
@pytest.mark.parametrize("drop_last", [True, False])
@pytest.mark.parametrize("processes", [1, 2, 3])
def test_device_batches_equal_the_prepared_loader(seed, balanced, drop_last, processes):
    split = _multi_source_split()
    weights = balanced_sample_weights(split.labels, 2) if balanced else None
    for rank in range(processes):
        for with_domains in (False, True):
            prepared, old = _old_stream(split, 8, seed, drop_last, with_domains, weights, processes, rank)
            new = DeviceBatches(split, 8, seed, "cpu", drop_last=drop_last, with_domains=with_domains,
                                sample_weights=weights, num_processes=processes, process_index=rank)
            assert len(new) == len(prepared)
            _assert_same(old, new, steps=4 * len(new) + 1)  # four passes and one more batch


def _old_train_streams(data: TaskData, batch_size: int, seed: int, source_domains: bool, balanced: bool,
                       drop_last: bool) -> dict:
    """What ``TrainStreams`` built before the streams moved to the device (seeds seed, seed+1, seed+2)."""
    def stream(split, stream_seed, labeled, with_domains=False):
        if split is None or len(split) == 0:
            return None
        weights = balanced_sample_weights(split.labels, data.num_classes) if balanced and labeled else None
        small = len(split) < batch_size
        return _old_stream(split, batch_size, stream_seed, drop_last and not small, with_domains, weights, 1, 0)

    source = data.source.splits["train"] if data.source is not None else None
    return {"source": stream(source, seed, True, source_domains),
            "target_unlabeled": stream(data.target.splits["train"], seed + 1, False),
            "target_labeled": stream(data.target_labeled, seed + 2, True)}


@pytest.mark.parametrize("seed", [0, 5])
@pytest.mark.parametrize("balanced,drop_last", [(False, True), (True, True), (False, False)])
def test_train_streams_give_every_stream_its_old_batches(accelerator, seed, balanced, drop_last):
    target = synthetic_domain(n_per_class=30, seed=4, appearance=0.5)
    budget = target.splits["train"].subset(torch.arange(10))  # smaller than a batch: its one batch is kept
    data = TaskData(source=target.with_splits({**target.splits, "train": _multi_source_split()}), target=target,
                    target_labeled=budget, target_val_labeled=None)
    streams = TrainStreams(accelerator, data, 16, seed, source_domains=True, balanced=balanced, drop_last=drop_last)
    old = _old_train_streams(data, 16, seed, True, balanced, drop_last)
    assert streams.steps_per_epoch == len(old["source"][0])
    # Interleaved as a source+target stage draws them: each stream keeps its own order.
    for name in itertools.islice(itertools.cycle(["source", "target_unlabeled", "target_labeled"]), 60):
        a, b = next(old[name][1]), streams.next(name)
        assert all(torch.equal(x, y) for x, y in zip(a, b)) and len(a) == len(b), name


def test_streams_of_one_split_share_one_device_copy():
    split = _multi_source_split()
    resident: dict = {}
    first = DeviceBatches(split, 8, 0, "cpu", resident=resident)
    second = DeviceBatches(split, 8, 1, "cpu", resident=resident)
    assert first.images is second.images and len(resident) == 2  # images and labels, once each


@pytest.mark.parametrize("balanced", [False, True])
@pytest.mark.parametrize("drop_last", [True, False])
@pytest.mark.parametrize("processes", [1, 2])
def test_a_split_over_the_device_limit_streams_the_same_batches(monkeypatch, balanced, drop_last, processes):
    """A split too large to move to the device (here: any, limit 0) streams through the pinned-chunk path;
    small chunks (3 batches) make a pass span several chunks, the two buffers reused in turn."""
    import zoo.runner.pinned_chunks as pinned_chunks

    split = _multi_source_split()
    row_bytes = split.images[:1].numel()  # uint8
    monkeypatch.setattr(pinned_chunks, "CHUNK_BYTES", 3 * 4 * row_bytes)
    weights = balanced_sample_weights(split.labels, 2) if balanced else None
    for rank in range(processes):
        for with_domains in (False, True):
            kwargs = dict(drop_last=drop_last, with_domains=with_domains, sample_weights=weights,
                          num_processes=processes, process_index=rank)
            resident = DeviceBatches(split, 4, 3, "cpu", **kwargs)
            streamed = DeviceBatches(split, 4, 3, "cpu", resident_limit_bytes=0, **kwargs)
            assert resident.chunks is None and streamed.chunks is not None
            assert streamed.chunks.rows_per_chunk(4) == 12 and len(streamed) > 3  # several chunks a pass
            _assert_same(resident, streamed, steps=3 * len(streamed) + 2)
            _, prepared = _old_stream(split, 4, 3, drop_last, with_domains, weights, processes, rank)
            _assert_same(prepared, DeviceBatches(split, 4, 3, "cpu", resident_limit_bytes=0, **kwargs),
                         steps=2 * len(streamed))


def test_streamed_batches_are_not_overwritten_by_later_chunks():
    """A batch kept by the caller (an algorithm's memory bank, say) must not change when the buffer it was
    gathered in is refilled two chunks later."""
    split = _multi_source_split()
    streamed = DeviceBatches(split, 8, 0, "cpu", resident_limit_bytes=0)
    streamed.chunks.rows_per_chunk = lambda batch_size: batch_size  # one batch per chunk: buffers reused often
    kept = [next(streamed) for _ in range(12)]
    reference = DeviceBatches(split, 8, 0, "cpu")
    for images, labels in kept:
        ref_images, ref_labels = next(reference)
        assert torch.equal(images, ref_images) and torch.equal(labels, ref_labels)
