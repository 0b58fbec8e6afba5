"""The `train:` section: defaults held to torch's, positioned diagnostics, `--set` overrides, no torch import."""

from __future__ import annotations

import inspect
import subprocess
import sys
from typing import Any

import pytest
import torch
from torchvision.transforms import v2

import netspec
from netspec.spec import spec_from_data, spec_to_data
from netspec.training.config import SGD, Adam, AdamW, CosineAnnealingLR, OneCycleLR, StepLR, TrainConfig
from netspec.training.overrides import apply_overrides, parse_assignment
from netspec.training.transforms import TRANSFORM_TYPES

HEAD = "input: [1, 8, 8]\nlayers: [Flatten, {type: Linear, out_features: 10}]\n"


def _default(cls: Any, name: str) -> Any:
    return inspect.signature(cls).parameters[name].default


@pytest.mark.parametrize(
    ("record", "torch_cls"),
    [
        (SGD, torch.optim.SGD),
        (Adam, torch.optim.Adam),
        (AdamW, torch.optim.AdamW),
        (StepLR, torch.optim.lr_scheduler.StepLR),
        (CosineAnnealingLR, torch.optim.lr_scheduler.CosineAnnealingLR),
        (OneCycleLR, torch.optim.lr_scheduler.OneCycleLR),
    ],
)
def test_optimizer_and_scheduler_arguments_are_torchs(record: Any, torch_cls: Any) -> None:
    params = inspect.signature(torch_cls).parameters
    for name, field in record.model_fields.items():
        if name == "type":
            continue
        assert name in params, f"{record.__name__}.{name} is not an argument of {torch_cls.__name__}"
        if field.is_required() or field.default is None:  # None: netspec fills it in from the run (T_max, max_lr)
            continue
        expected = params[name].default
        assert field.default == (tuple(expected) if isinstance(expected, list) else expected), name


@pytest.mark.parametrize("name", sorted(TRANSFORM_TYPES))
def test_transform_records_match_torchvision(name: str) -> None:
    record = TRANSFORM_TYPES[name]
    cls = getattr(v2, name)
    params = inspect.signature(cls).parameters
    for field_name, field in record.model_fields.items():
        if field_name == "type":
            continue
        assert field_name in params, f"{name}.{field_name} is not an argument of torchvision's v2.{name}"
        if not field.is_required():
            expected = params[field_name].default
            if expected is None and field_name in ("brightness", "contrast", "saturation", "hue"):
                expected = 0.0  # ColorJitter: None and 0 both mean "unchanged"
            assert field.default == (tuple(expected) if isinstance(expected, list) else expected), field_name


def test_random_transforms_are_the_ones_torchvision_calls_random() -> None:
    for name, record in TRANSFORM_TYPES.items():
        assert record.random == (name.startswith("Random") or name == "ColorJitter"), name


def test_full_section_parses_and_round_trips() -> None:
    spec = netspec.parse_spec(
        HEAD
        + """train:
  dataset: {name: cifar10, root: /data, download: true}
  transforms: [RandomHorizontalFlip, {type: RandomCrop, size: 32, padding: 4}, {type: Normalize, mean: 0.5, std: 0.25}]
  batch_size: 128
  epochs: 30
  optimizer: {type: SGD, lr: 0.1, momentum: 0.9, nesterov: true, weight_decay: 5e-4}
  scheduler: {type: OneCycleLR, max_lr: 0.2}
  loss: MSELoss
  device: cuda:1
  seed: 7
  compile: true
"""
    )
    t = spec.train
    assert t is not None
    assert (t.batch_size, t.epochs, t.loss.type, t.device, t.seed, t.compile) == (128, 30, "MSELoss", "cuda:1", 7, True)
    assert isinstance(t.optimizer, SGD) and t.optimizer.weight_decay == 0.0005  # `5e-4` is a number
    assert [x.type for x in t.transforms] == ["RandomHorizontalFlip", "RandomCrop", "Normalize"]
    assert [x.type for x in t.validation_transforms()] == ["Normalize"]  # random ones are training-only
    assert spec_from_data(spec_to_data(spec)) == spec


def test_defaults() -> None:
    t = TrainConfig()
    assert t.dataset.name == "digits" and isinstance(t.optimizer, Adam)
    assert (t.batch_size, t.epochs, t.loss.type, t.device, t.seed, t.scheduler) == (
        64,
        10,
        "CrossEntropyLoss",
        "auto",
        0,
        None,
    )


@pytest.mark.parametrize(
    ("section", "code", "message", "help", "col"),
    [
        ("train: {optimizer: {type: Adamw}}", "invalid-value", "unknown `optimizer` type `Adamw`", "`AdamW`", 27),
        ("train: {optimizer: Adamw}", "invalid-value", "unknown `optimizer` type `Adamw`", "`AdamW`", 20),
        (
            "train: {optimizer: {type: Adam, lrr: 1}}",
            "unknown-field",
            "`train.optimizer` has no argument `lrr`",
            "`lr`",
            33,
        ),
        ("train: {epoch: 3}", "unknown-field", "`train` has no argument `epoch`", "`epochs`", 9),
        ("train: {dataset: mnst}", "invalid-value", "unknown `dataset` name `mnst`", "`mnist`", 18),
        ("train: {transforms: [Rezise]}", "invalid-value", "unknown `transforms` type `Rezise`", "`Resize`", 22),
        (
            "train: {transforms: [{type: Resize, siz: 3}]}",
            "unknown-field",
            "`train.transforms[0]` has no argument `siz`",
            "`size`",
            37,
        ),
        (
            "train: {optimizer: {lr: 0.1}}",
            "missing-field",
            "`train.optimizer` needs `type`",
            "`SGD`, `Adam`, `AdamW`",
            20,
        ),
        ("train: {dataset: {name: imagefolder}}", "missing-field", "`train.dataset` needs `path`", "add `path:`", 18),
        (
            "train: {loss: CrossEntropy}",
            "invalid-value",
            "unknown `loss` type `CrossEntropy`",
            "`CrossEntropyLoss`",
            15,
        ),
        (
            "train: {device: gpu}",
            "invalid-value",
            '`device` must be "auto", "cpu", "cuda", "cuda:N" or "mps", got "gpu"',
            None,
            17,
        ),
        ("train: {batch_size: 0}", "invalid-value", "`batch_size` must be a positive integer, got 0", None, 21),
        ("train: {epochs: 2.5}", "invalid-value", "`epochs` must be a positive integer, got 2.5", None, 17),
        (
            "train: {optimizer: {type: SGD, nesterov: true}}",
            "invalid-value",
            "`nesterov` needs a `momentum` above 0",
            None,
            42,
        ),
        (
            "train: {optimizer: {type: Adam, lr: '3e-4'}}",
            "invalid-value",
            '`lr` must be a number > 0, got "3e-4"',
            None,
            37,
        ),
        ("train: {scheduler: StepLR}", "missing-field", "`train.scheduler` needs `step_size`", None, 20),
        (
            "train: {transforms: [{type: Normalize, mean: [0.5], std: [0]}]}",
            "invalid-value",
            "`std` must be a positive number per channel, got [0]",
            None,
            58,
        ),
    ],
)
def test_errors_are_positioned_diagnostics(section: str, code: str, message: str, help: str | None, col: int) -> None:
    with pytest.raises(netspec.SpecError) as info:
        netspec.parse_spec(HEAD + section, source="s.yaml")
    [d] = info.value.diagnostics
    assert d.code == code
    assert message in d.message
    if help is not None:
        assert d.help is not None and help in d.help
    assert d.span is not None and (d.span.line, d.span.col) == (3, col)


def test_set_overrides_are_yaml_values_revalidated() -> None:
    spec = netspec.parse_spec(HEAD + "train: {optimizer: Adam, transforms: [Grayscale]}")
    new = apply_overrides(
        spec,
        [
            parse_assignment("train.optimizer.lr=3e-4"),  # a bare string `Adam` becomes {type: Adam} to take `lr`
            parse_assignment("train.transforms.0.num_output_channels=3"),
            parse_assignment("train.scheduler={type: StepLR, step_size: 2}"),
        ],
    )
    assert new.train is not None and isinstance(new.train.optimizer, Adam)
    assert new.train.optimizer.lr == 0.0003
    assert new.train.transforms[0].num_output_channels == 3  # type: ignore[union-attr]
    assert isinstance(new.train.scheduler, StepLR) and new.train.scheduler.step_size == 2
    sgd = apply_overrides(
        netspec.parse_spec(HEAD + "train: {optimizer: {type: Adam, lr: 0.005}}"),
        [parse_assignment("train.optimizer.type=SGD"), parse_assignment("train.optimizer.momentum=0.9")],
    )
    assert sgd.train is not None and sgd.train.optimizer == SGD(type="SGD", lr=0.005, momentum=0.9)
    plain = apply_overrides(netspec.parse_spec(HEAD), [parse_assignment("train.epochs=3")])
    assert plain.train is not None and plain.train.epochs == 3 and isinstance(plain.train.optimizer, Adam)


@pytest.mark.parametrize(
    ("assignment", "code", "message"),
    [
        ("train.optimizer.lr=abc", "invalid-value", '`lr` must be a number > 0, got "abc"'),
        ("train.epochs=0", "invalid-value", "`epochs` must be a positive integer, got 0"),
        ("train.optimizer=Adamw", "invalid-value", "unknown `optimizer` type `Adamw`"),
        ("trainn.epochs=1", "unknown-field", "the spec has no argument `trainn`"),
        ("layers.9.out_features=3", "invalid-value", "`layers.9` cannot be set"),
        ("train.lr=!!python/object/apply:os.system [ls]", "unsupported-yaml", "the YAML tag"),
        ("epochs", "invalid-value", "`--set epochs` is not KEY=VALUE"),
    ],
)
def test_set_errors_name_the_override(assignment: str, code: str, message: str) -> None:
    spec = netspec.parse_spec(HEAD)
    with pytest.raises(netspec.SpecError) as info:
        apply_overrides(spec, [parse_assignment(assignment)])
    [d] = info.value.diagnostics
    assert (d.code, message in d.message) == (code, True), d.message
    assert d.source is not None and d.source.startswith("--set")


def test_check_with_a_train_section_stays_torch_free(tmp_path: Any) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text(HEAD + "train: {transforms: [RandomHorizontalFlip], optimizer: {type: SGD, lr: 1e-2}}\n")
    code = (
        "import sys; from netspec.cli import cli\n"
        f"try: cli([{str(spec)!r}])\n"
        "except SystemExit as e: assert e.code == 0, e.code\n"
        "assert 'torch' not in sys.modules and 'torchvision' not in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code.replace("cli([", "cli(['check', ")], capture_output=True)
    assert done.returncode == 0, done.stderr.decode()
