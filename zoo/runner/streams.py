"""The data streams of one run: what each stage trains on, and the splits every epoch is evaluated on.

Three training streams (no target stream in a generalization task), each a ``DeviceBatches`` cycled
forever (the split moved to the device once, batches indexed there, this process's shard of each batch as
a prepared loader gave it): the labeled ``source``, the
``target_unlabeled`` images (labels never passed on) and the ``target_labeled`` budget. A stage's ``data``
names the streams it draws from (``stage_streams``). An epoch is one pass over the source stream (over the
labeled target when the task has no source), whatever the stage, so methods get the same number of steps.

Usage::

    streams = TrainStreams(accelerator, data, batch_size=128, seed=0, balanced=False)
    images, labels = streams.next("source")               # (B, C, H, W) uint8, (B,) int64, on the device
    val, test = eval_loaders(accelerator, data, 512)      # {"source_val": loader, "target_val_oracle": ...}
"""

from __future__ import annotations

from zoo.bench.task_data import TaskData
from zoo.datasets.base import Split
from zoo.errors import ConfigError
from zoo.runner.batches import DeviceBatches, make_loader
from zoo.runner.seed_streams import seed_stream
from zoo.task_settings import TASK_SETTINGS

STAGE_STREAMS = {
    "source": ("source", None),
    "target_labeled": (None, "target_labeled"),
    "target_unlabeled": (None, "target_unlabeled"),
    "source+target_unlabeled": ("source", "target_unlabeled"),
    "source+target_labeled": ("source", "target_labeled"),
    "source+target_semi": ("source", "target_labeled"),  # plus a batch of target_unlabeled (BatchFeeder)
}


def stage_streams(data_kind: str) -> tuple[str | None, str | None]:
    """(source stream, target stream) a stage draws from; target labels are passed only when labeled."""
    return STAGE_STREAMS[data_kind]


def labeled_split(data: TaskData, data_kind: str) -> Split | None:
    """The labeled training split of a stage: the source's, or the target budget for target-only stages."""
    source, target = stage_streams(data_kind)
    if source is not None:
        return data.source.splits["train"] if data.source is not None else None
    return data.target_labeled


class TrainStreams:
    """The train streams of one run: labeled source, labeled target budget, unlabeled target.

    ``source_domains``: source batches carry each sample's source-domain index as a third element
    (for algorithms declaring ``SOURCE_DOMAINS``, see ``zoo.algorithms.base``). ``balanced``: labeled
    streams draw classes equally often (``train.imbalance: balanced_sampler``). ``drop_last=False`` keeps
    each pass's last partial batch (``train.drop_last``; the MedMNIST v2 code trains on it).
    """

    def __init__(self, accelerator, data: TaskData, batch_size: int, seed: int, source_domains: bool = False,
                 balanced: bool = False, drop_last: bool = True) -> None:
        resident: dict[int, tuple] = {}  # one device copy of a split's tensors, whichever streams use it

        def stream(split: Split | None, stream_seed: int, labeled: bool, with_domains: bool = False):
            if split is None or len(split) == 0:
                return None
            weights = None
            if balanced and labeled:
                from zoo.imbalance import balanced_sample_weights

                weights = balanced_sample_weights(split.labels, data.num_classes)
            # Full batches by default, except that a split smaller than one global batch (a small label
            # budget, a small user dataset) keeps its only batch instead of giving an epoch of zero steps.
            small = len(split) < batch_size * accelerator.num_processes
            return DeviceBatches(split, batch_size, stream_seed, accelerator.device, drop_last=drop_last and not small,
                                 with_domains=with_domains, sample_weights=weights,
                                 num_processes=accelerator.num_processes, process_index=accelerator.process_index,
                                 split_batches=accelerator.split_batches, even_batches=accelerator.even_batches,
                                 resident=resident)

        source_train = data.source.splits["train"] if data.source is not None else None
        self.source = stream(source_train, seed_stream(seed, "source_order"), True, source_domains)
        # A generalization task never trains on its target, whatever a stage asks for: no target stream exists.
        reads_target = TASK_SETTINGS[data.setting].reads_target_in_training
        self.target_unlabeled = (stream(data.target.splits["train"], seed_stream(seed, "target_unlabeled_order"),
                                        False) if reads_target else None)
        self.target_labeled = (stream(data.target_labeled, seed_stream(seed, "target_labeled_order"), True)
                               if reads_target else None)
        epoch_stream = self.source or self.target_labeled or self.target_unlabeled
        self.steps_per_epoch = len(epoch_stream)

    def next(self, stream: str):
        """The next batch of ``stream`` (a pass ends -> reshuffled, so a stream never runs dry)."""
        batches = getattr(self, stream)
        if batches is None:
            raise ConfigError(f"this stage trains on '{stream}' data, which this task does not have "
                              "(target_budget 0, no source domain, or a generalization task's target)")
        return next(batches)


def eval_loaders(accelerator, data: TaskData, batch_size: int) -> tuple[dict, dict]:
    """Prepared validation and test loaders: source and target splits, plus the budgeted target val split."""
    prepare = accelerator.prepare_data_loader
    val, test = {}, {}
    if data.source is not None:
        val["source_val"] = prepare(make_loader(data.source.splits["val"], batch_size, False))
    val["target_val_oracle"] = prepare(make_loader(data.target.splits["val"], batch_size, False))  # every label
    if data.target_val_labeled is not None:  # the labels the budget allows
        val["target_val"] = prepare(make_loader(data.target_val_labeled, batch_size, False))
    if data.source is not None:
        test["source_test"] = prepare(make_loader(data.source.splits["test"], batch_size, False))
    test["target_test"] = prepare(make_loader(data.target.splits["test"], batch_size, False))
    return val, test
