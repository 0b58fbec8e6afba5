"""netspec's side of the trainer race: the same model, data, batch, epochs and seed through `netspec.train`.

python netspec_trainer.py SPEC TRAIN.pt VAL.pt EPOCHS BATCH LR SEED OUT_DIR LAUNCH_TIME
"""

import json
import sys

import torch

import netspec
from netspec.spec import spec_to_data


def main():
    spec_path, train_path, val_path, epochs, batch_size, lr, seed, out, launch = sys.argv[1:10]
    data = spec_to_data(netspec.load_spec(spec_path))
    data["train"] = {
        "dataset": {"name": "tensors", "path": train_path, "val_path": val_path},
        "optimizer": {"type": "Adam", "lr": float(lr)},
        "loss": "CrossEntropyLoss",
        "batch_size": int(batch_size),
        "epochs": int(epochs),
        "seed": int(seed),
    }
    data["seed"] = int(seed)  # the same initial weights as torch.manual_seed(seed) before the hand-written net
    result = netspec.train(netspec.spec_from_data(data), out=out, quiet=True)
    epochs_s = sum(m.seconds for m in result.history)  # each epoch's training and validation, as printed
    train_samples = len(torch.load(train_path)["y"])
    print(
        json.dumps(
            {
                "startup_s": result.first_step_at - float(launch),
                "epochs_s": epochs_s,
                "val_acc": result.final.val_acc,
                "train_samples": train_samples,
            }
        )
    )


if __name__ == "__main__":
    main()
