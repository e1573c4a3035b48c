"""The JupyterLab defaults shipped with the kit: valid for this JupyterLab, installed where it reads them."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from jupyterlab.commands import get_app_dir
from jupyterlab_server.settings_utils import _get_overrides

from helpers import lab_settings


def test_the_shipped_overrides_are_valid_settings_of_this_jupyterlab():
    overrides = json.loads(lab_settings.SHIPPED.read_text())
    assert overrides["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"
    schemas = Path(get_app_dir()) / "schemas"
    for plugin, values in overrides.items():
        package, name = plugin.split(":")
        schema = json.loads((schemas / package / f"{name}.json").read_text())
        jsonschema.validate(values, schema)  # unknown keys fail too: the schemas forbid additional properties


def test_install_puts_them_where_jupyterlab_reads_overrides(tmp_path):
    settings = tmp_path / "settings"
    installed = lab_settings.install(settings / "overrides.d")
    overrides, error = _get_overrides(str(settings))  # JupyterLab's own reader of app-level overrides
    assert not error
    assert overrides["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"
    assert installed.read_bytes() == lab_settings.SHIPPED.read_bytes()


def test_install_is_idempotent_and_replaces_an_outdated_copy(tmp_path):
    target = lab_settings.install(tmp_path)
    before = target.stat().st_mtime_ns
    assert lab_settings.install(tmp_path) == target and target.stat().st_mtime_ns == before
    target.write_text("{}")
    lab_settings.install(tmp_path)
    assert target.read_bytes() == lab_settings.SHIPPED.read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == [lab_settings.INSTALLED_NAME]  # no temporary file left


def test_the_default_target_is_the_settings_dir_of_this_environments_jupyterlab():
    from jupyterlab.labapp import LabApp

    assert lab_settings.overrides_dir() == Path(LabApp().app_settings_dir) / "overrides.d"


def test_the_app_dir_is_the_one_jupyterlab_finds(monkeypatch, tmp_path):
    assert lab_settings.app_dir() == Path(get_app_dir())
    monkeypatch.setenv("JUPYTERLAB_DIR", str(tmp_path / "elsewhere"))
    assert lab_settings.app_dir() == Path(get_app_dir()) == (tmp_path / "elsewhere").resolve()
