"""The hardware documents, `hardware/boards.json`, the power table and the firmware agree."""

import importlib
import json
import re
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from gaitchain.power_budget import POWER_TABLE, budgets, load_table, markdown
from gaitchain.provision import load_boards
from gaitchain.provision.boards import BOARDS_FILE, ROLES, default_board
from gaitchain.provision.podconfig import KEYS
from gaitchain.sim.virtual_pod import load_firmware

HARDWARE = BOARDS_FILE.parent


@pytest.fixture(scope="module")
def firmware_board() -> Any:
    load_firmware()
    return importlib.import_module("pod.board")


def _wiring_tables() -> dict[str, dict[str, int]]:
    """Per board section of wiring.md: role -> GPIO from its `| role | GPIO | label |` table."""
    tables: dict[str, dict[str, int]] = {}
    board = ""
    for line in (HARDWARE / "wiring.md").read_text().splitlines():
        heading = re.fullmatch(r"## ([a-z0-9-]+)", line)
        if heading:
            board = heading.group(1)
        row = re.match(r"\| `(\w+)` \| GPIO(\d+) \|", line)
        if board and row:
            tables.setdefault(board, {})[row.group(1)] = int(row.group(2))
    return tables


def test_firmware_built_in_pins_equal_boards_json(firmware_board: Any) -> None:
    boards = load_boards()
    assert {key: spec.pins for key, spec in boards.items()} == firmware_board.PINS
    assert {key: spec.led_active_low for key, spec in boards.items()} == (
        firmware_board.LED_ACTIVE_LOW
    )
    assert default_board() == firmware_board.DEFAULT_BOARD
    assert tuple(firmware_board.ROLES) == ROLES


def test_every_board_file_loads_in_the_firmware(firmware_board: Any, tmp_path: Path) -> None:
    for spec in load_boards().values():
        path = tmp_path / f"{spec.key}.json"
        path.write_text(json.dumps(spec.board_file()))
        pins, defaulted, problems = firmware_board.load(spec.key, str(path))
        assert (defaulted, problems) == (False, []), spec.key
        assert pins == firmware_board.pins(spec.key), spec.key


def test_wiring_page_lists_the_same_pins() -> None:
    boards = load_boards()
    assert _wiring_tables() == {key: spec.pins for key, spec in boards.items()}


def test_boards_have_psram_and_room_for_the_step_log() -> None:
    for spec in load_boards().values():
        assert spec.chip == "ESP32-S3", spec.key
        assert spec.psram_bytes >= 2 * 1024 * 1024, spec.key
        assert spec.filesystem_bytes < spec.flash_bytes, spec.key


def test_host_config_keys_equal_the_firmware_config() -> None:
    load_firmware()
    config = importlib.import_module("pod.config")
    firmware_keys = [(key, default, allowed) for key, default, allowed in config._KEYS]
    assert [(k, d, a) for k, d, a in KEYS] == firmware_keys


def test_power_budget_page_shows_the_computed_tables() -> None:
    page = (HARDWARE / "power-budget.md").read_text()
    start = page.index("<!-- power-tables:start -->\n") + len("<!-- power-tables:start -->\n")
    end = page.index("<!-- power-tables:end -->")
    assert page[start:end] == markdown(load_table()), (
        "hardware/power-budget.md is out of date: paste `gaitchain pod power --markdown` between "
        "its power-tables markers"
    )


def test_power_budget_every_component_is_sourced_and_used() -> None:
    table = load_table(POWER_TABLE)
    used = {t.component for mode in budgets(table) for t in mode.terms}
    for key, component in table["components"].items():
        assert component["source"] and component["kind"], key
        assert key in used, f"{key} is in no mode"
    lives = {mode.name: mode.life_h for mode in budgets(table)}
    assert 5 < lives["streaming 120 Hz"] < 12
    assert lives["streaming 480 Hz"] < lives["streaming 120 Hz"]
    assert lives["logging, BLE off"] > 10 * 24  # days, not hours
    assert lives["logging, advertising every 100 ms"] < lives["logging, advertising every 1 s"]
    assert budgets(table, capacity_mah=200)[0].life_h == pytest.approx(
        lives["streaming 120 Hz"] / 2
    )


def test_placement_drawings_exist_and_are_svg() -> None:
    page = (HARDWARE / "placement.md").read_text()
    drawings = re.findall(r"\]\((drawings/[a-z]+\.svg)\)", page)
    assert drawings == ["drawings/pelvis.svg", "drawings/shank.svg", "drawings/foot.svg"]
    for drawing in drawings:
        root = ElementTree.parse(HARDWARE / drawing).getroot()
        assert root.tag == "{http://www.w3.org/2000/svg}svg", drawing
        assert root.find("{http://www.w3.org/2000/svg}title") is not None, drawing


def test_hardware_readme_links_every_document() -> None:
    readme = (HARDWARE / "README.md").read_text()
    for name in ("bom.md", "boards.json", "wiring.md", "power-budget.md", "placement.md"):
        assert f"]({name})" in readme and Path(HARDWARE / name).is_file(), name
    assert "](assembly.md)" in readme
