"""The chip-file schema: the committed JSON Schema is the generated one, and a bad field names its path."""

from __future__ import annotations

import json

import pytest
import yaml

from perfgraph.hardware.registry import load_file, packaged_dir
from perfgraph.hardware.schema import json_schema, validate
from perfgraph.hardware.spec import HardwareSpecError

SCHEMA_FILE = packaged_dir() / "chip.schema.json"


def _raw(name: str) -> dict:
    return yaml.safe_load((packaged_dir() / f"{name}.yaml").read_text())


def test_committed_json_schema_is_current():
    committed = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert committed == json_schema(), (
        "regenerate: python -c \"import json; from perfgraph.hardware.schema import json_schema; "
        "print(json.dumps(json_schema(), indent=2))\" > src/perfgraph/hardware/data/chip.schema.json")


def test_json_schema_describes_the_chip_file():
    schema = json_schema()
    assert schema["$schema"].endswith("2020-12/schema") and schema["additionalProperties"] is False
    assert {"id", "peak_flops", "memory", "power", "overhead"} <= set(schema["required"])
    level = schema["$defs"]["Level"]["properties"]
    assert level["kind"]["enum"] == ["register", "sram", "cache", "dram", "host"]
    assert "calibration" in schema["properties"]  # the microbench section, composed


def test_wrong_field_type_names_the_field_path(tmp_path):
    d = _raw("h100-sxm")
    d["peak_flops"]["fp16"] = "a lot"
    path = tmp_path / "h100-sxm.yaml"
    path.write_text(yaml.safe_dump(d))
    with pytest.raises(HardwareSpecError, match=r"h100-sxm\.yaml: peak_flops\.fp16: Input should be a valid number"):
        load_file(path)


def test_errors_name_nested_paths_and_memory_levels_by_name():
    d = _raw("jetson-orin-agx-64gb")
    d["power"]["modes"]["15W"]["clock_ghz"] = "fast"
    next(lv for lv in d["memory"] if lv["kind"] == "dram")["capacity_bytes"] = [1]
    d["compute_units"]["gpu"]["warp_size"] = 0
    errors = validate(d)
    assert "power.modes.15W.clock_ghz: Input should be a valid number" in errors, errors
    assert any(e.startswith("memory[LPDDR5].capacity_bytes: ") for e in errors), errors
    assert "compute_units.gpu.warp_size must be an integer >= 1, got 0" in errors, errors


def test_every_packaged_chip_and_the_local_machine_validate():
    from perfgraph.hardware.local import local_spec_dict

    for path in sorted(packaged_dir().glob("*.yaml")):
        assert validate(yaml.safe_load(path.read_text())) == [], path.name
    assert validate(local_spec_dict()) == []


def test_old_import_path_still_answers():
    from perfgraph.hardware import registry, spec

    assert spec.get is registry.get and spec.load_all is registry.load_all
    assert spec.validate is validate
    with pytest.raises(AttributeError):
        spec.no_such_name  # noqa: B018


def test_cli_prints_and_writes_the_schema(tmp_path):
    from click.testing import CliRunner

    from perfgraph.cli.main import cli

    res = CliRunner().invoke(cli, ["hardware", "schema"])
    assert res.exit_code == 0 and json.loads(res.stdout) == json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    out = tmp_path / "chip.schema.json"
    res = CliRunner().invoke(cli, ["hardware", "schema", "--out", str(out)])
    assert res.exit_code == 0 and out.read_text(encoding="utf-8") == SCHEMA_FILE.read_text(encoding="utf-8")
