"""Check specs built as Python dicts: which input sizes does LeNet accept, and how wide can an MLP get."""

import netspec


def lenet(size: int) -> dict[str, object]:
    """LeNet without declared input sizes: netspec infers them, so only the image size varies."""
    return {
        "name": f"lenet-{size}",
        "input": [1, size, size],
        "layers": [
            {"type": "Conv2d", "out_channels": 6, "kernel_size": 5},
            "ReLU",
            {"type": "MaxPool2d", "kernel_size": 2},
            {"type": "Conv2d", "out_channels": 16, "kernel_size": 5},
            "ReLU",
            {"type": "MaxPool2d", "kernel_size": 2},
            "Flatten",
            {"type": "Linear", "out_features": 120},
            "ReLU",
            {"type": "Linear", "out_features": 10},
        ],
    }


for size in (8, 12, 16, 28, 32, 64):
    try:
        report = netspec.check(netspec.spec_from_data(lenet(size)))
    except netspec.SpecError as e:
        print(f"{size}x{size}: rejected, {e.diagnostics[0].code}: {e.diagnostics[0].message}")
        continue
    flatten = report.layers[6]
    print(f"{size}x{size}: Flatten gives {flatten.output_shape}, {report.total_params:,} params")

for width in (64, 256, 1024):
    mlp = {
        "input": [784],
        "layers": [{"type": "Linear", "out_features": width}, "ReLU", {"type": "Linear", "out_features": 10}],
    }
    report = netspec.check(netspec.spec_from_data(mlp))
    print(f"MLP 784-{width}-10: {report.total_params:,} params")
