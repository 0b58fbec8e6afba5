"""Walk a report layer by layer: where the shape changes, where the parameters are, what each position sees."""

from pathlib import Path

import netspec

spec = netspec.load_spec(Path(__file__).resolve().parent.parent / "specs" / "lenet.yaml")
report = netspec.check(spec)

for layer in report.layers:
    rf = layer.receptive_field  # None once the output is no longer an image (after Flatten or Linear)
    seen = f"sees {rf.size[0]}x{rf.size[1]} pixels, stride {rf.jump[0]}" if rf else ""
    changed = " <- shape changes" if layer.output_shape != layer.input_shape else ""
    row = (
        f"{layer.index:2}  {layer.name:9} {layer.type:10} {layer.output_shape!s:18} {layer.params:7,}  {seen}{changed}"
    )
    print(row.rstrip())

heaviest = max(report.layers, key=lambda layer: layer.params)
share = heaviest.params / report.total_params
print(f"the heaviest layer is {heaviest.name} ({heaviest.type}): {heaviest.params:,} params, {share:.0%} of the total")

costliest = max(report.layers, key=lambda layer: layer.mult_adds)
print(f"the costliest layer is {costliest.name}: {costliest.mult_adds:,} of {report.total_mult_adds:,} mult-adds")

last_image = [layer for layer in report.layers if layer.receptive_field is not None][-1]
assert last_image.receptive_field is not None
print(f"after {last_image.name}, each position sees {last_image.receptive_field.size[0]} input pixels across")
