"""Catch netspec.SpecError and print each diagnostic: its code, where it points, the message and the fix."""

import netspec

# LeNet's classic mistake: two 5x5 convs and two 2x2 pools leave 16 x 5 x 5 = 400 features, not 256.
BROKEN = """\
input: [1, 32, 32]
layers:
  - {type: Conv2d, out_channels: 6, kernel_size: 5}
  - ReLU
  - {type: MaxPool2d, kernel_size: 2}
  - {type: Conv2d, out_channels: 16, kernel_size: 5}
  - ReLU
  - {type: MaxPool2d, kernel_size: 2}
  - Flatten
  - {type: Linear, in_features: 256, out_features: 120}
"""

# Schema errors are all reported at once: a typo, a fractional size and an unknown layer.
TYPOS = """\
input: [3, 32, 32]
layers:
  - {type: Conv2d, out_channels: 6.5, kernal_size: 3}
  - Relu
"""

for name, text in (("lenet-broken", BROKEN), ("typos", TYPOS)):
    try:
        netspec.check(netspec.parse_spec(text, source=f"{name}.yaml"))
    except netspec.SpecError as e:  # a ValueError carrying every diagnostic
        print(f"{name}: {len(e.diagnostics)} problem(s)")
        for d in e.diagnostics:
            where = f"{d.span.source}:{d.span.line}:{d.span.col}" if d.span else d.source
            print(f"  {where}: {d.severity}[{d.code}] {d.message}")
            for note in d.notes:
                print(f"    note: {note}")
            if d.help:
                print(f"    help: {d.help}")
