"""The route a user takes today to learn LeNet's shapes: import torch, build it, torchinfo.summary."""

import torch  # noqa: F401  (the import is the point: it is most of the cost)
import torchinfo
from torch import nn

model = nn.Sequential(
    nn.Conv2d(1, 6, 5),
    nn.ReLU(),
    nn.MaxPool2d(2),
    nn.Conv2d(6, 16, 5),
    nn.ReLU(),
    nn.MaxPool2d(2),
    nn.Flatten(),
    nn.Linear(16 * 5 * 5, 120),
    nn.ReLU(),
    nn.Linear(120, 84),
    nn.ReLU(),
    nn.Linear(84, 10),
)
print(torchinfo.summary(model, input_size=(1, 1, 32, 32), verbose=0))
