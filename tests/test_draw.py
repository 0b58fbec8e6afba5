"""`netspec draw`: golden diagrams, the geometry of every diagram (nothing overlaps, every edge ends on a node, the
view box holds it all) on every bundled spec and on random ones, the command line, and a real browser's rendering.

`pytest --update-golden` rewrites tests/golden/draw/; look at the pictures before committing them
(`netspec draw tests/golden/draw/... -o x.png`, or open the SVG in a browser).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from netspec import draw
from netspec.cli import cli
from netspec.diagnostics import Diagnostic, SpecError
from netspec.draw import Options
from netspec.report import check_partial
from netspec.spec import load_spec, parse_spec, spec_from_data

from .conftest import ROOT, SPECS
from .test_torch_oracle import spec_dicts

GOLDEN = ROOT / "tests" / "golden" / "draw"
NS = "{http://www.w3.org/2000/svg}"
# the diagrams' own specs (errors drawn), each with the options its golden file was drawn with
CASES = {
    "lenet": ("specs/lenet.yaml", Options()),
    "resnet18": ("specs/resnet18.yaml", Options()),
    "resnet18-lr-blocks": ("specs/resnet18.yaml", Options(direction="LR", style="blocks")),
    "branch-mismatch": ("tests/golden/branch-mismatch.yaml", Options()),
}
SLACK = 0.5  # pixels: coordinates are written to tenths


# -- reading a diagram back ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Box:
    x0: float
    y0: float
    x1: float
    y1: float
    what: str

    def overlaps(self, other: Box, by: float = SLACK) -> bool:
        return (
            self.x0 + by < other.x1 and other.x0 + by < self.x1 and self.y0 + by < other.y1 and other.y0 + by < self.y1
        )

    def holds(self, other: Box, by: float = SLACK) -> bool:
        inside_x = self.x0 - by <= other.x0 and other.x1 <= self.x1 + by
        return inside_x and self.y0 - by <= other.y0 and other.y1 <= self.y1 + by

    def on_border(self, x: float, y: float) -> bool:
        inside = self.x0 - SLACK <= x <= self.x1 + SLACK and self.y0 - SLACK <= y <= self.y1 + SLACK
        deep = self.x0 + SLACK < x < self.x1 - SLACK and self.y0 + SLACK < y < self.y1 - SLACK
        return inside and not deep

    def crossed_by(self, a: tuple[float, float], b: tuple[float, float]) -> bool:
        """Whether the segment a-b (horizontal or vertical) passes through this box's inside."""
        (ax, ay), (bx, by) = a, b
        if ax == bx:
            return self.x0 + 1 < ax < self.x1 - 1 and min(ay, by) < self.y1 - 1 and max(ay, by) > self.y0 + 1
        return self.y0 + 1 < ay < self.y1 - 1 and min(ax, bx) < self.x1 - 1 and max(ax, bx) > self.x0 + 1


@dataclass
class Diagram:
    view: Box
    nodes: list[Box]
    frames: list[Box]
    texts: list[Box]  # every label, measured with a monospace advance of 0.62 em
    node_texts: list[tuple[Box, list[Box]]]  # each node and its own labels
    edges: list[list[tuple[float, float]]]


def _rect(e: ET.Element, what: str) -> Box:
    x, y, w, h = (float(e.get(k, "0")) for k in ("x", "y", "width", "height"))
    return Box(x, y, x + w, y + h, what)


def _text(e: ET.Element, size: float) -> Box:
    text = e.text or ""
    w = len(text) * 0.62 * size
    x, y = float(e.get("x", "0")), float(e.get("y", "0"))
    x0 = x - w / 2 if e.get("text-anchor") == "middle" else x
    return Box(x0, y - 0.8 * size, x0 + w, y + 0.25 * size, text)


def read(svg: str) -> Diagram:
    root = ET.fromstring(svg)
    size = float(root.get("font-size", "12"))
    vx, vy, vw, vh = (float(v) for v in root.get("viewBox", "").split())
    d = Diagram(Box(vx, vy, vx + vw, vy + vh, "viewBox"), [], [], [], [], [])
    for g in root.iter(f"{NS}g"):
        classes = g.get("class", "").split()
        texts = [_text(t, size) for t in g.iter(f"{NS}text")]
        d.texts += texts
        if "node" in classes:
            box = _rect(g.find(f"{NS}rect"), " / ".join(t.what for t in texts))  # type: ignore[arg-type]
            d.nodes.append(box)
            d.node_texts.append((box, texts))
        elif "frame" in classes:
            d.frames.append(_rect(g.find(f"{NS}rect"), texts[0].what))  # type: ignore[arg-type]
    for p in root.iter(f"{NS}path"):
        if "edge" in p.get("class", ""):
            points = []
            for part in p.get("d", "").lstrip("M").split("L"):
                x, y = part.split()
                points.append((float(x), float(y)))
            d.edges.append(points)
    return d


def assert_well_formed(svg: str, boxes_style: bool = True) -> None:
    """Nothing overlaps, every edge runs from node to node around boxes and labels, the view box holds it all."""
    d = read(svg)
    for i, a in enumerate(d.nodes):
        for b in d.nodes[i + 1 :]:
            assert not a.overlaps(b), f"nodes overlap: {a.what!r} and {b.what!r}"
    for i, a in enumerate(d.texts):
        for b in d.texts[i + 1 :]:
            assert not a.overlaps(b, by=1), f"labels overlap: {a.what!r} and {b.what!r}"
    if boxes_style:
        for node, texts in d.node_texts:
            for t in texts:
                assert node.holds(t), f"label {t.what!r} sticks out of its box"
    for i, a in enumerate(d.frames):  # frames nest or stand apart, and so do frames and nodes
        for b in d.frames[i + 1 :]:
            assert a.holds(b) or b.holds(a) or not a.overlaps(b), f"frames cut each other: {a.what!r}, {b.what!r}"
        for n in d.nodes:
            assert a.holds(n) or not a.overlaps(n), f"node {n.what!r} cut by frame {a.what!r}"
    node_texts = {id(t) for _, texts in d.node_texts for t in texts}
    free_texts = [t for t in d.texts if id(t) not in node_texts]  # titles, captions, labels beside blocks
    for n in [*d.nodes, *free_texts]:
        for other in free_texts:
            assert n is other or not n.overlaps(other), f"{n.what!r} and label {other.what!r} overlap"
    for edge in d.edges:
        assert len(edge) >= 2
        for end in (edge[0], edge[-1]):
            assert any(n.on_border(*end) for n in d.nodes), f"an edge ends off every node at {end}"
        for a, b in itertools.pairwise(edge):
            assert a[0] == b[0] or a[1] == b[1], f"an edge segment is not straight: {a} {b}"
            for box in [*d.nodes, *free_texts]:
                assert not box.crossed_by(a, b), f"an edge crosses {box.what!r} from {a} to {b}"
    for box in [*d.nodes, *d.frames, *d.texts]:
        assert d.view.holds(box, by=0), f"{box.what!r} is outside the view box"
    for edge in d.edges:
        for x, y in edge:
            assert d.view.holds(Box(x, y, x, y, "point"), by=0)


def _draw(path: str, options: Options) -> str:
    return draw.svg(check_partial(load_spec(ROOT / path)), options)


# -- golden diagrams -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CASES))
def test_diagram_matches_golden(name: str, request: pytest.FixtureRequest) -> None:
    path, options = CASES[name]
    actual = _draw(path, options)
    golden = GOLDEN / f"{name}.svg"
    if request.config.getoption("--update-golden"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(actual, encoding="utf-8")
    assert golden.exists(), f"no golden diagram {golden.name}: run `pytest --update-golden` and look at it"
    assert actual == golden.read_text(encoding="utf-8")


def test_every_golden_diagram_has_its_case() -> None:
    assert {p.stem for p in GOLDEN.glob("*.svg")} == set(CASES)


def test_the_figures_in_the_documentation_are_what_make_diagrams_draws(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    lines = re.findall(r"^\t\$\(BIN\)/netspec draw (.*?) -o (docs/figures/[\w.-]+\.svg)", makefile, flags=re.MULTILINE)
    assert {Path(out).name for _, out in lines} == {p.name for p in (ROOT / "docs" / "figures").glob("*.svg")}
    for args, out in lines:
        result = CliRunner().invoke(cli, ["draw", *args.split(), "-o", "-"])
        assert result.exit_code in (0, 1), result.output
        assert result.stdout == (ROOT / out).read_text(encoding="utf-8"), f"{out} is stale: run `make diagrams`"


def test_the_same_spec_gives_the_same_bytes_in_another_process(tmp_path: Path) -> None:
    outs = []
    for seed in ("1", "2"):
        out = tmp_path / f"r{seed}.svg"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        cmd = [sys.executable, "-m", "netspec", "draw", "specs/resnet18.yaml", "-o", str(out)]
        subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] == (GOLDEN / "resnet18.svg").read_bytes()


# -- what a diagram shows -----------------------------------------------------------------------------------------


def test_lenet_shows_every_layer_its_shape_params_and_totals() -> None:
    d = read(_draw("specs/lenet.yaml", Options()))
    labels = [" / ".join(t.what for t in texts) for _, texts in d.node_texts]
    assert labels[0] == "input / (N, 1, 32, 32)"
    assert "conv1 · Conv2d / (N, 6, 28, 28) / 156 params" in labels
    assert "relu1 · ReLU / (N, 6, 28, 28)" in labels  # no parameters, no line for them
    assert labels[-1] == "fc3 · Linear / (N, 10) / 850 params"
    assert len(labels) == 1 + 12 and len(d.edges) == 12
    texts = [t.what for t in d.texts]
    assert "lenet: 61,706 params (241.0 KiB in float32)" in texts  # the totals `netspec check` prints
    assert "423,038 mult-adds per sample, output (N, 10)" in texts


def test_resnet_draws_joins_skips_groups_and_repeats_once() -> None:
    svg = _draw("specs/resnet18.yaml", Options())
    d = read(svg)
    titles = [f.what for f in d.frames]
    assert "layer1 · Stage" in titles and "downsample · Sequential" in titles
    assert "0–1 · BasicBlock ×2" in titles  # layer1's two identical blocks, once
    assert svg.count('class="edge skip"') == 4  # identity shortcuts: layer1 (drawn once), layers 2-4 one each
    joins = [t for n, t in d.node_texts if t[0].what == "add"]
    assert len(joins) == 7
    expanded = read(_draw("specs/resnet18.yaml", Options(expand=True)))
    assert len([t for _, t in expanded.node_texts if t[0].what == "add"]) == 8
    assert "layer1 · Stage" in [f.what for f in expanded.frames]
    assert not any("×" in f.what for f in expanded.frames)


def test_text_is_escaped() -> None:
    partial = check_partial(load_spec(ROOT / "tests/golden/shape-mismatch.yaml"))
    odd = Diagnostic("shape-mismatch", "a <b> & c", path=partial.diagnostics[0].path)
    svg = draw.svg(partial._replace(diagnostics=(odd,)))
    assert "error[shape-mismatch]: a <b> & c" in [t.what for t in read(svg).texts]  # parsed back as written


def test_depth_folds_blocks_into_boxes_with_their_totals() -> None:
    d = read(_draw("specs/resnet18.yaml", Options(depth=1)))
    assert [f.what for f in d.frames] == ["layer1 · Stage", "layer2 · Stage", "layer3 · Stage", "layer4 · Stage"]
    heads = [" / ".join(t.what for t in texts) for _, texts in d.node_texts]
    assert "0–1 · BasicBlock ×2 / (N, 64, 56, 56) / 73,984 params each" in heads
    assert "1 · BasicBlock / (N, 512, 7, 7) / 4,720,640 params" in heads  # torchvision's layer4[1]
    assert not any(h.startswith("add") for h in heads)
    top = read(_draw("specs/resnet18.yaml", Options(depth=0)))
    assert not top.frames and "layer4 · Stage / (N, 512, 7, 7) / 8,393,728 params" in [
        " / ".join(t.what for t in texts) for _, texts in top.node_texts
    ]


def test_a_spec_with_errors_is_drawn_up_to_the_failure() -> None:
    svg = _draw("tests/golden/empty-output.yaml", Options())
    assert 'class="node failed conv"' in svg
    d = read(svg)
    failed = [t for n, t in d.node_texts if t[-1].what == "error[empty-output]"]
    assert [t[0].what for t in failed] == ["conv2 · Conv2d"]
    caption = [t.what for t in d.texts if t.what.startswith("error[empty-output]: ")]
    assert caption and caption[0].startswith("error[empty-output]: the output would be 0")


@pytest.mark.parametrize("style", ["boxes", "blocks"])
def test_an_empty_output_is_drawn(style: str) -> None:
    # a 2×9 input to a 5×5 kernel: the checker goes on with (N, 4, 0, 5), which has no area to size a block by
    spec = parse_spec("input: [1, 2, 9]\nlayers: [{type: Conv2d, out_channels: 4, kernel_size: 5}, ReLU]")
    svg = draw.svg(check_partial(spec), Options(style=style))
    assert_well_formed(svg, boxes_style=style == "boxes")
    assert "error[empty-output]" in svg


def test_a_block_that_stops_keeps_the_layers_checked_before() -> None:
    text = """
name: deep-error
input: [3, 8, 8]
layers:
  - {type: Conv2d, out_channels: 4, kernel_size: 3}
  - type: Sequential
    name: stage
    layers:
      - {type: Conv2d, out_channels: 4, kernel_size: 3}
      - {type: Conv1d, out_channels: 4, kernel_size: 3}
      - ReLU
  - Flatten
"""
    partial = check_partial(parse_spec(text))
    svg = draw.svg(partial)
    d = read(svg)
    labels = [t[0].what for _, t in d.node_texts]
    assert labels == ["input", "conv1 · Conv2d", "0 · Conv2d", "1 · Conv1d"]  # nothing after the layer that fails
    assert [f.what for f in d.frames] == ["stage · Sequential"]
    assert 'class="frame failed"' in svg
    assert_well_formed(svg)


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.name)
@pytest.mark.parametrize(
    "options", [Options(), Options("LR"), Options("TB", "blocks"), Options("LR", "blocks", True), Options(depth=1)]
)
def test_every_bundled_spec_draws_without_overlaps(spec: Path, options: Options) -> None:
    svg = draw.svg(check_partial(load_spec(spec)), options)
    assert_well_formed(svg, boxes_style=options.style == "boxes")
    assert len(svg) < 200_000


@given(
    spec_dicts(blocks=True),
    st.sampled_from(["TB", "LR"]),
    st.sampled_from(["boxes", "blocks"]),
    st.booleans(),
    st.sampled_from([None, None, 0, 1, 2]),
)
def test_random_specs_draw_without_overlaps(
    data: dict[str, Any], direction: str, style: str, expand: bool, depth: int | None
) -> None:
    try:
        spec = spec_from_data(data)
    except SpecError:
        return  # not a spec: nothing to draw
    partial = check_partial(spec)
    svg = draw.svg(partial, Options(direction, style, expand, depth))
    assert_well_formed(svg, boxes_style=style == "boxes")
    assert svg == draw.svg(partial, Options(direction, style, expand, depth))  # the same bytes every time
    assert draw.dot(partial, Options(direction, style, expand, depth)).endswith("}\n")


def test_dot_has_a_node_per_layer_and_clusters_for_blocks() -> None:
    text = draw.dot(check_partial(load_spec(ROOT / "specs/resnet18.yaml")), Options(direction="LR"))
    assert text.startswith('digraph "resnet18" {\n  rankdir=LR;')
    assert text.count("subgraph cluster_") == 4 + 7 + 3  # stages, blocks (layer1's two drawn once), downsamples
    assert text.count('label="add\\n(N, ') == 7
    assert text.count("style=dashed") == 4  # the identity shortcuts
    assert 'label="fc · Linear\\n(N, 1000)\\n513,000 params"' in text


# -- the command line ----------------------------------------------------------------------------------------------


def test_cli_writes_svg_named_after_the_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["draw", str(ROOT / "specs/lenet.yaml")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "lenet.svg").read_text() == (GOLDEN / "lenet.svg").read_text()
    assert result.stderr == "wrote lenet.svg\n"


def test_cli_stdout_and_formats(tmp_path: Path) -> None:
    spec = str(ROOT / "specs/lenet.yaml")
    result = CliRunner().invoke(cli, ["draw", spec, "-o", "-"])
    assert result.exit_code == 0 and result.stdout == (GOLDEN / "lenet.svg").read_text()
    result = CliRunner().invoke(cli, ["draw", spec, "-o", "-", "--format", "dot", "--direction", "lr"])
    assert result.exit_code == 0 and result.stdout.startswith('digraph "lenet" {\n  rankdir=LR;')
    result = CliRunner().invoke(cli, ["draw", spec, "-o", str(tmp_path / "deep" / "lenet.gv")])
    assert result.exit_code == 0 and (tmp_path / "deep" / "lenet.gv").read_text().startswith("digraph")


def test_cli_png(tmp_path: Path) -> None:
    pytest.importorskip("resvg_py", reason="the `draw` extra (resvg-py) is not installed")
    out = tmp_path / "lenet.png"
    result = CliRunner().invoke(cli, ["draw", str(ROOT / "specs/lenet.yaml"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    root = ET.fromstring((GOLDEN / "lenet.svg").read_text())
    expected = (float(root.get("width", 0)) * 2, float(root.get("height", 0)) * 2)  # twice the size, for screens
    assert (width, height) == pytest.approx(expected, abs=1)


def test_cli_png_without_resvg_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "resvg_py", None)  # import fails as if it were not installed
    result = CliRunner().invoke(cli, ["draw", str(ROOT / "specs/lenet.yaml"), "-o", str(tmp_path / "x.png")])
    assert result.exit_code == 1
    assert "error[missing-dependency]" in result.stderr and "netspec[draw]" in result.stderr
    assert not (tmp_path / "x.png").exists()


def test_drawing_imports_no_torch(tmp_path: Path) -> None:
    code = (
        "import sys; from netspec.cli import cli; "
        f"code = cli.main(['draw', 'specs/resnet18.yaml', '-o', {str(tmp_path / 'r.svg')!r}], standalone_mode=False); "
        "assert code == 0, code; assert 'torch' not in sys.modules, 'torch imported'"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr


def test_cli_draws_a_failing_spec_and_exits_1(tmp_path: Path) -> None:
    out = tmp_path / "broken.svg"
    result = CliRunner().invoke(cli, ["draw", str(ROOT / "tests/golden/shape-mismatch.yaml"), "-o", str(out)])
    assert result.exit_code == 1
    assert result.stderr.startswith("error[shape-mismatch]: `in_features` is 256")
    assert "error[shape-mismatch]" in out.read_text()


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["specs/lenet.yaml", "-o", "x.jpg"], 2, "cannot tell the format of x.jpg"),
        (["specs/lenet.yaml", "-o", "specs/lenet.yaml", "--format", "svg"], 2, "is the input file itself"),
        (["no-such.yaml"], 2, "error[io-error]: no such file: no-such.yaml"),
        (["tests/golden/unknown-layer.yaml", "-o", "-"], 1, "error[unknown-layer]"),
    ],
)
def test_cli_bad_input(args: list[str], code: int, words: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(cli, ["draw", *args])
    assert result.exit_code == code
    assert words in result.stderr
    assert result.stdout == ""


def test_cli_cannot_write(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    result = CliRunner().invoke(cli, ["draw", str(ROOT / "specs/lenet.yaml"), "-o", str(tmp_path / "file" / "x.svg")])
    assert result.exit_code == 2  # an io-error, as for every command
    assert "error[io-error]: cannot write" in result.stderr and "is a file, not a folder" in result.stderr


# -- a real browser -------------------------------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

# Measures every label with the browser's own font metrics: drawn (a width), inside its box, apart from the others.
PAGE = """<!doctype html><html><body style="margin:0;background:#fff">%s
<script>
const svg = document.querySelector('svg'), vb = svg.viewBox.baseVal, problems = [];
const texts = [...svg.querySelectorAll('text')].filter(t => !t.closest('title'));
const box = e => { const b = e.getBBox(); return {x0: b.x, y0: b.y, x1: b.x + b.width, y1: b.y + b.height}; };
const cut = (a, b) => a.x0 + 1 < b.x1 && b.x0 + 1 < a.x1 && a.y0 + 1 < b.y1 && b.y0 + 1 < a.y1;
const boxes = texts.map(box);
texts.forEach((t, i) => {
  const b = boxes[i];
  if (!(t.getComputedTextLength() > 0)) problems.push('not drawn: ' + t.textContent);
  if (b.x0 < vb.x || b.y0 < vb.y || b.x1 > vb.x + vb.width || b.y1 > vb.y + vb.height)
    problems.push('outside the view box: ' + t.textContent);
  const node = t.closest('g.node');
  if (node) {
    const r = box(node.querySelector('rect'));
    if (b.x0 < r.x0 - 0.5 || b.x1 > r.x1 + 0.5) problems.push('wider than its box: ' + t.textContent);
  }
  for (let j = 0; j < i; j++) if (cut(b, boxes[j]))
    problems.push('overlap: ' + t.textContent + ' / ' + texts[j].textContent);
});
document.title = JSON.stringify({texts: texts.length, problems: problems});
</script></body></html>"""


def _chromium(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [CHROMIUM or "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (`apt-get install chromium`; make test tries)")
@pytest.mark.parametrize("name", ["lenet", "resnet18", "branch-mismatch"])
def test_chromium_draws_every_label(name: str, tmp_path: Path) -> None:
    svg = _draw(*CASES[name])  # drawn now, so that an updated golden file cannot hide a label that sticks out
    page = tmp_path / "page.html"
    page.write_text(PAGE % svg, encoding="utf-8")
    dom = _chromium("--dump-dom", page.as_uri()).stdout
    report = json.loads(ET.fromstring(dom[dom.index("<title>") : dom.index("</title>") + 8]).text or "")
    assert report["problems"] == []
    assert report["texts"] == svg.count("<text ")
    root = ET.fromstring(svg)
    width, height = (round(float(root.get(k, "0"))) for k in ("width", "height"))
    shot = tmp_path / "shot.png"
    _chromium(f"--screenshot={shot}", f"--window-size={width},{min(height, 4000)}", page.as_uri())
    from PIL import Image

    image = Image.open(shot).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20) or []
    ink = sum(n for n, c in colours if sum(c) < 300) / (image.width * image.height)  # text and lines
    assert 0.003 < ink < 0.25, f"the screenshot is {ink:.1%} ink"  # not blank, not a block of colour
    assert any(c == (0xDB, 0xE8, 0xF7) for _, c in colours) or name == "branch-mismatch"  # a convolution's fill
