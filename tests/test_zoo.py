"""The zoo in specs/ against the models it mirrors: torchvision's (keys, shapes, outputs) and torchinfo's counts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import netspec

from .conftest import ROOT

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")
torchinfo = pytest.importorskip("torchinfo")
nn = torch.nn

# spec -> torchvision's constructor (random weights: nothing is downloaded)
TORCHVISION: dict[str, Callable[[], Any]] = {
    "resnet18": lambda: torchvision.models.resnet18(),
    "resnet34": lambda: torchvision.models.resnet34(),
    "resnet50": lambda: torchvision.models.resnet50(),
    "mobilenet_v2": lambda: torchvision.models.mobilenet_v2(),
    "googlenet": lambda: torchvision.models.googlenet(aux_logits=False, init_weights=False),
    "densenet121": lambda: torchvision.models.densenet121(),
}
# the figures the issue and torchvision's documentation give, worked out once by torchinfo 1.8
KNOWN = {
    "resnet18": (11_689_512, 1_814_083_944),
    "resnet50": (25_557_032, 4_089_238_376),
    "mobilenet_v2": (3_504_872, 300_809_384),
}


@pytest.fixture(scope="module", params=sorted(TORCHVISION))
def pair(request: pytest.FixtureRequest) -> tuple[str, netspec.Spec, Any]:
    name = request.param
    torch.manual_seed(0)
    return name, netspec.load_spec(ROOT / "specs" / f"{name}.yaml"), TORCHVISION[name]().eval()


def test_counts_equal_torchinfo_on_the_torchvision_model(pair: tuple[str, netspec.Spec, Any]) -> None:
    name, spec, reference = pair
    report = netspec.check(spec)
    summary = torchinfo.summary(reference, input_size=(1, 3, 224, 224), verbose=0)
    assert (report.total_params, report.total_mult_adds) == (summary.total_params, summary.total_mult_adds)
    if name in KNOWN:
        assert (report.total_params, report.total_mult_adds) == KNOWN[name]
    assert report.output_shape == ("N", 1000)


def test_torchvision_weights_load_and_give_the_same_outputs(pair: tuple[str, netspec.Spec, Any]) -> None:
    name, spec, reference = pair
    model = netspec.build(spec).eval()
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == {
        k: tuple(v.shape) for k, v in reference.state_dict().items()
    }
    model.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        difference = (model(x) - reference(x)).abs().max().item()
    assert difference < 1e-4, f"{name}: {difference}"


# -- d2l's ResNet-18 for Fashion-MNIST, as the book writes it -------------------------------------------


class D2lResidual(nn.Module):
    """d2l.ai's `Residual` (chapter "Residual Networks"), verbatim but for the names of the arguments."""

    def __init__(self, input_channels: int, num_channels: int, use_1x1conv: bool = False, strides: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(input_channels, num_channels, kernel_size=3, padding=1, stride=strides)
        self.conv2 = nn.Conv2d(num_channels, num_channels, kernel_size=3, padding=1)
        self.conv3 = nn.Conv2d(input_channels, num_channels, kernel_size=1, stride=strides) if use_1x1conv else None
        self.bn1 = nn.BatchNorm2d(num_channels)
        self.bn2 = nn.BatchNorm2d(num_channels)

    def forward(self, x: Any) -> Any:
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        if self.conv3 is not None:
            x = self.conv3(x)
        return torch.relu(y + x)


def d2l_resnet18() -> Any:
    def resnet_block(input_channels: int, num_channels: int, num_residuals: int, first_block: bool = False) -> Any:
        blk = []
        for i in range(num_residuals):
            if i == 0 and not first_block:
                blk.append(D2lResidual(input_channels, num_channels, use_1x1conv=True, strides=2))
            else:
                blk.append(D2lResidual(num_channels, num_channels))
        return blk

    b1 = nn.Sequential(
        nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1)
    )
    b2 = nn.Sequential(*resnet_block(64, 64, 2, first_block=True))
    b3 = nn.Sequential(*resnet_block(64, 128, 2))
    b4 = nn.Sequential(*resnet_block(128, 256, 2))
    b5 = nn.Sequential(*resnet_block(256, 512, 2))
    return nn.Sequential(b1, b2, b3, b4, b5, nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(512, 10))


def test_d2l_resnet18_is_the_books_model() -> None:
    spec = netspec.load_spec(ROOT / "specs" / "resnet18-d2l.yaml")
    reference = d2l_resnet18().eval()
    report = netspec.check(spec)
    summary = torchinfo.summary(reference, input_size=(1, 1, 96, 96), verbose=0)
    assert (report.total_params, report.total_mult_adds) == (summary.total_params, summary.total_mult_adds)
    model = netspec.build(spec).eval()
    # the book's model is an nn.Sequential of b1 ... b5, pool, flatten, fc: its keys start with their positions
    position = {node.name: str(i) for i, node in enumerate(report.layers)}
    theirs = reference.state_dict()
    ours = {".".join([position[k.split(".")[0]], *k.split(".")[1:]]): k for k in model.state_dict()}
    assert set(ours) == set(theirs)
    assert all(model.state_dict()[ours[k]].shape == v.shape for k, v in theirs.items())
    model.load_state_dict({ours[k]: v for k, v in theirs.items()})
    x = torch.randn(2, 1, 96, 96)
    with torch.no_grad():
        assert (model(x) - reference(x)).abs().max().item() < 1e-4
