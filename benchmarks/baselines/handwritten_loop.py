"""The loop users write by hand, as the tutorials teach it (d2l's train_ch5): the baseline netspec's trainer races.

    python handwritten_loop.py MODEL TRAIN.pt VAL.pt EPOCHS BATCH LR SEED LAUNCH_TIME

A DataLoader over a TensorDataset, `.to(device)` per batch, CrossEntropyLoss, Adam,
`zero_grad`/`backward`/`step`, and the running sums read back with `.item()` each batch.
Prints one JSON line with its timings and final accuracy.
"""

import json
import sys
import time

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def lenet():
    return nn.Sequential(
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


def cifar10_net():
    return nn.Sequential(
        nn.Conv2d(3, 32, 5, padding=2),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 32, 5, padding=2),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 5, padding=2),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(1024, 64),
        nn.Linear(64, 10),
    )


def evaluate_accuracy(data_iter, net, device):
    acc_sum, n = 0.0, 0
    net.eval()
    with torch.no_grad():
        for X, y in data_iter:
            acc_sum += (net(X.to(device)).argmax(dim=1) == y.to(device)).float().sum().cpu().item()
            n += y.shape[0]
    net.train()
    return acc_sum / n


def main():
    model, train_path, val_path, epochs, batch_size, lr, seed, launch = sys.argv[1:9]
    epochs, batch_size, lr, seed, launch = int(epochs), int(batch_size), float(lr), int(seed), float(launch)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(seed)
    net = {"lenet": lenet, "cifar10-net": cifar10_net}[model]().to(device)
    train = torch.load(train_path)
    val = torch.load(val_path)
    train_iter = DataLoader(TensorDataset(train["x"], train["y"]), batch_size=batch_size, shuffle=True)
    test_iter = DataLoader(TensorDataset(val["x"], val["y"]), batch_size=batch_size)
    loss = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    first_batch = None
    start = time.time()
    for epoch in range(epochs):
        train_l_sum, train_acc_sum, n, batch_count, t = 0.0, 0.0, 0, 0, time.time()
        for X, y in train_iter:
            if first_batch is None:
                first_batch = time.time()
            X = X.to(device)
            y = y.to(device)
            y_hat = net(X)
            l = loss(y_hat, y)  # noqa: E741 - d2l's name, kept so the loop reads as the tutorial
            optimizer.zero_grad()
            l.backward()
            optimizer.step()
            train_l_sum += l.cpu().item()
            train_acc_sum += (y_hat.argmax(dim=1) == y).sum().cpu().item()
            n += y.shape[0]
            batch_count += 1
        test_acc = evaluate_accuracy(test_iter, net, device)
        print(
            f"epoch {epoch + 1}, loss {train_l_sum / batch_count:.4f}, train acc {train_acc_sum / n:.3f}, "
            f"test acc {test_acc:.3f}, time {time.time() - t:.1f} sec",
            file=sys.stderr,
        )
    end = time.time()
    print(
        json.dumps(
            {
                "startup_s": first_batch - launch,
                "epochs_s": end - start,
                "val_acc": test_acc,
                "train_samples": len(train["y"]),
            }
        )
    )


if __name__ == "__main__":
    main()
