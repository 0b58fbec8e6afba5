"""The `train:` section of a spec: dataset, transforms, optimizer, loss, schedule, stopping and device. No torch.

Records are frozen and strict like the layer records (reusing `netspec/fields.py`), so their
errors come out as the same positioned diagnostics. Defaults are torch's where torch has one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from ..fields import Bool, PositiveInt, PositiveReal, Probability
from ..values import count
from .transforms import Transform, TransformBase
from .values import (
    DEVICE,
    betas,
    class_weights,
    device,
    fraction,
    name_shorthand,
    nesterov_needs_momentum,
    non_negative,
    one_test_split,
    path,
    patience_shorthand,
    type_shorthand,
)

NonNegative = Annotated[float, Field(ge=0), BeforeValidator(non_negative)]
NonNegativeInt = Annotated[int, Field(ge=0), BeforeValidator(count)]
Fraction = Annotated[float, Field(gt=0, lt=1), BeforeValidator(fraction)]
Betas = Annotated[tuple[float, float], BeforeValidator(betas)]
FilePath = Annotated[str, Field(min_length=1), BeforeValidator(path)]
Device = Annotated[str, Field(pattern=DEVICE.pattern), BeforeValidator(device)]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Checks across fields, run once the fields are valid: plain functions of the record (training/values.py),
    # which the fast path (fastpath.py) runs on its own records too.
    checks: ClassVar[tuple[Callable[[Any], None], ...]] = ()

    @model_validator(mode="after")
    def _run_checks(self) -> _Record:
        for check in self.checks:
            check(self)
        return self


# -- datasets: `name` picks the kind; relative paths are relative to the current directory ---


class Digits(_Record):
    """scikit-learn's bundled 8×8 digits (1,797 images, no download), resized to the spec's input."""

    name: Literal["digits"]
    val_fraction: Fraction = 0.2  # a fixed stratified split
    test_fraction: Fraction | None = None  # held out of the training samples; evaluated at the end with best.pt


class TorchvisionDataset(_Record):
    """MNIST, Fashion-MNIST or CIFAR-10 through torchvision.datasets; validation is the test set."""

    name: Literal["mnist", "fashion_mnist", "cifar10"]
    root: FilePath = "data"
    download: Bool = False
    test_fraction: Fraction | None = None  # held out of the training samples; evaluated at the end with best.pt


class ImageFolder(_Record):
    """A class-per-folder tree of images (`path/ants/1.jpg`, `path/bees/2.jpg`)."""

    name: Literal["imagefolder"]
    path: FilePath
    val_path: FilePath | None = None  # a second tree; without it, `val_fraction` of `path` is held out
    val_fraction: Fraction = 0.2
    test_fraction: Fraction | None = None  # held out of the training samples; evaluated at the end with best.pt
    test_path: FilePath | None = None  # a third tree, instead of `test_fraction`
    checks = (one_test_split,)


class TensorFile(_Record):
    """An .npz or .pt file holding `x` (samples) and `y` (class labels, or float targets)."""

    name: Literal["tensors"]
    path: FilePath
    val_path: FilePath | None = None
    val_fraction: Fraction = 0.2
    test_fraction: Fraction | None = None  # held out of the training samples; evaluated at the end with best.pt
    test_path: FilePath | None = None  # a file of its own, instead of `test_fraction`
    checks = (one_test_split,)


class PythonData(_Record):
    """Samples handed to `netspec.train(data=...)` from Python; recorded so a run says what it trained on."""

    name: Literal["python"]
    val_fraction: Fraction = 0.2  # without `val_data=`, this share of `data` is held out
    test_fraction: Fraction | None = None  # held out of the training samples; evaluated at the end with best.pt


Dataset = Annotated[
    Union[Digits, TorchvisionDataset, ImageFolder, TensorFile, PythonData],  # noqa: UP007
    Field(discriminator="name"),
    BeforeValidator(name_shorthand),
]


# -- optimizers and schedulers: torch.optim's names, arguments and defaults ----------------


class SGD(_Record):
    type: Literal["SGD"]
    lr: PositiveReal = 0.001
    momentum: NonNegative = 0.0
    nesterov: Bool = False
    weight_decay: NonNegative = 0.0
    checks = (nesterov_needs_momentum,)


class Adam(_Record):
    type: Literal["Adam"]
    lr: PositiveReal = 0.001
    betas: Betas = (0.9, 0.999)
    eps: PositiveReal = 1e-8
    weight_decay: NonNegative = 0.0


class AdamW(_Record):
    type: Literal["AdamW"]
    lr: PositiveReal = 0.001
    betas: Betas = (0.9, 0.999)
    eps: PositiveReal = 1e-8
    weight_decay: NonNegative = 0.01


class RMSprop(_Record):
    type: Literal["RMSprop"]
    lr: PositiveReal = 0.01
    alpha: Probability = 0.99
    eps: PositiveReal = 1e-8
    weight_decay: NonNegative = 0.0
    momentum: NonNegative = 0.0
    centered: Bool = False


Optimizer = Annotated[
    Union[SGD, Adam, AdamW, RMSprop],  # noqa: UP007
    Field(discriminator="type"),
    BeforeValidator(type_shorthand),
]


class StepLR(_Record):
    """Multiply the learning rate by `gamma` every `step_size` epochs."""

    type: Literal["StepLR"]
    step_size: PositiveInt
    gamma: PositiveReal = 0.1


class CosineAnnealingLR(_Record):
    """Cosine decay from the optimizer's lr to `eta_min` over `T_max` epochs (default: all of them)."""

    type: Literal["CosineAnnealingLR"]
    T_max: PositiveInt | None = None
    eta_min: NonNegative = 0.0


class OneCycleLR(_Record):
    """The one-cycle policy, stepped every batch; `max_lr` defaults to the optimizer's lr."""

    type: Literal["OneCycleLR"]
    max_lr: PositiveReal | None = None
    pct_start: Fraction = 0.3  # 0 and 1 leave one of the two phases no step (torch divides by its length)
    anneal_strategy: Literal["cos", "linear"] = "cos"
    div_factor: PositiveReal = 25.0
    final_div_factor: PositiveReal = 1e4


Scheduler = Annotated[
    Union[StepLR, CosineAnnealingLR, OneCycleLR],  # noqa: UP007
    Field(discriminator="type"),
    BeforeValidator(type_shorthand),
]

# -- losses: torch.nn's names and arguments; `loss: MSELoss` is shorthand for `{type: MSELoss}` ----------

# "none" gives one loss per sample, which cannot be backpropagated as it is: training needs a number
Reduction = Literal["mean", "sum"]


ClassWeights = Annotated[tuple[float, ...], BeforeValidator(class_weights)]


class CrossEntropyLoss(_Record):
    """Softmax and negative log-likelihood over class labels (torch.nn.CrossEntropyLoss)."""

    type: Literal["CrossEntropyLoss"]
    weight: ClassWeights | None = None  # one per class: rarer classes weigh more
    label_smoothing: Probability = 0.0
    reduction: Reduction = "mean"


class NLLLoss(_Record):
    """Negative log-likelihood of class labels, for a network that ends with LogSoftmax."""

    type: Literal["NLLLoss"]
    weight: ClassWeights | None = None
    reduction: Reduction = "mean"


class BCEWithLogitsLoss(_Record):
    """A sigmoid and binary cross-entropy per output: class labels become one-hot targets, float targets are kept."""

    type: Literal["BCEWithLogitsLoss"]
    pos_weight: ClassWeights | None = None  # one per output: how much a positive counts over a negative
    reduction: Reduction = "mean"


class MSELoss(_Record):
    type: Literal["MSELoss"]
    reduction: Reduction = "mean"


class L1Loss(_Record):
    type: Literal["L1Loss"]
    reduction: Reduction = "mean"


class HuberLoss(_Record):
    type: Literal["HuberLoss"]
    delta: PositiveReal = 1.0
    reduction: Reduction = "mean"


Loss = Annotated[
    Union[CrossEntropyLoss, NLLLoss, BCEWithLogitsLoss, MSELoss, L1Loss, HuberLoss],  # noqa: UP007
    Field(discriminator="type"),
    BeforeValidator(type_shorthand),
]


# -- early stopping --------------------------------------------------------------------------


Metric = Literal["val_loss", "val_acc", "train_loss", "train_acc"]  # columns of metrics.csv


class EarlyStopping(_Record):
    """Stop when `metric` has not improved by more than `min_delta` for `patience` epochs in a row."""

    patience: PositiveInt
    metric: Metric = "val_loss"
    mode: Literal["min", "max"] | None = None  # None: max for accuracies, min for losses
    min_delta: NonNegative = 0.0

    @property
    def maximise(self) -> bool:
        return self.mode == "max" if self.mode is not None else self.metric.endswith("_acc")


class TrainConfig(_Record):
    """How `netspec train` trains the spec; every key has a default."""

    dataset: Dataset = Digits(name="digits")
    transforms: list[Transform] = []
    val_transforms: list[Transform] | None = None  # None: the non-random ones of `transforms`
    batch_size: PositiveInt = 64  # per process under torchrun
    epochs: PositiveInt = 10
    optimizer: Optimizer = Adam(type="Adam")
    scheduler: Scheduler | None = None
    loss: Loss = CrossEntropyLoss(type="CrossEntropyLoss")
    clip_grad_norm: PositiveReal | None = None  # scale the gradients to at most this total L2 norm, first
    clip_grad_value: PositiveReal | None = None  # clamp every gradient element into [-value, value]
    early_stopping: Annotated[EarlyStopping | None, BeforeValidator(patience_shorthand)] = None
    device: Device = "auto"  # auto: CUDA when available, else the CPU
    seed: NonNegativeInt = 0
    drop_last: Bool = False  # drop the last partial training batch
    num_workers: NonNegativeInt | None = None  # DataLoader workers for file-backed data; None: up to 4
    amp: Bool = True  # mixed precision on CUDA (bf16, or fp16 with a grad scaler)
    compile: Bool = False  # torch.compile the model

    def validation_transforms(self) -> list[TransformBase]:
        """What validation samples go through: `val_transforms`, or the non-random `transforms`."""
        if self.val_transforms is not None:
            return list(self.val_transforms)
        return [t for t in self.transforms if not t.random]
