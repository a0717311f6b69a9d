"""`gaitchain report`: the HTML and PDF render, the PDF's pages (rendered to PNG) carry plots,
earlier sessions are compared, and existing files are not overwritten without --force."""

import base64
import json
import re
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest
from gaitchain.cli import main
from gaitchain.sim.walk import WalkConfig, simulate_walk, write_walk


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("sessions")
    dirs: list[Path] = []
    for week, seed in ((0, 61), (6, 62)):
        directory = root / f"week-{week}"
        walk = simulate_walk(WalkConfig(minutes=0.5, driver="right-glute-med", seed=seed))
        write_walk(walk, directory)
        battery = directory / "battery.json"
        assert (
            main(
                [
                    "assess",
                    "simulate",
                    "--driver",
                    "right-glute-med",
                    "--seed",
                    str(seed),
                    "--battery",
                    str(battery),
                ]
            )
            == 0
        )
        dirs.append(directory)
    return dirs[0], dirs[1]


def _plot_pixels(png: np.ndarray) -> tuple[float, float]:
    """Share of non-white pixels and of saturated (coloured) pixels."""
    rgb = png[..., :3].astype(float)
    non_white = float(np.mean(rgb.min(axis=2) < 235))
    coloured = float(np.mean(rgb.max(axis=2) - rgb.min(axis=2) > 60))
    return non_white, coloured


def test_report_renders_html_and_pdf_with_plots(
    sessions: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = sessions
    assert main(["report", str(first), "--out", str(tmp_path / "first.html")]) == 0
    html_path, pdf_path = tmp_path / "report.html", tmp_path / "report.pdf"
    code = main(
        [
            "report",
            str(second),
            "--out",
            str(html_path),
            "--pdf",
            str(pdf_path),
            "--previous",
            str(first),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "glute-med right" in printed

    pdf = pdfium.PdfDocument(str(pdf_path))
    # summary page, chain, probabilities, per-stride, left/right, gait cycle, sessions
    assert len(pdf) == 7
    pages = [np.asarray(pdf[i].render(scale=1).to_pil()) for i in range(len(pdf))]
    text_ink, _ = _plot_pixels(pages[0])
    assert text_ink > 0.005
    for page in pages[1:]:
        ink, coloured = _plot_pixels(page)
        assert ink > 0.02, ink
        assert coloured > 0.002, coloured
    pdf.close()

    html = html_path.read_text()
    images = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", html)
    assert len(images) == 6
    for image in images:
        assert base64.b64decode(image)[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Leading driver: gluteus medius insufficiency, right side" in html
    assert "Sessions compared" in html and "week-0" in html
    assert "Hip restoration (weeks 1-3)" in html and "Footwear (ongoing)" in html

    stored = json.loads((second / "session.json").read_text())
    assert stored["verdict"]["driver"] == "glute-med"
    assert stored["plan"][0]["targets"][0]["goal"] == ">= 35"


def test_report_refuses_to_overwrite(sessions: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    out.write_text("keep me")
    with pytest.raises(SystemExit) as error:
        main(["report", str(sessions[0]), "--out", str(out)])
    assert error.value.code == 2
    assert out.read_text() == "keep me"
