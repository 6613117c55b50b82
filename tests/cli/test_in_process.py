"""main() also runs inside other processes (the test suite, the MCP server): it must leave the process as it
found it. Once `--no-plugins` stayed in the environment and the SIGTERM handler stayed installed, so every later
test lost its plugins and pytest's own time-out signal raised inside unrelated tests."""

import os
import signal

from ambientctl.cli.main import main


def test_main_leaves_environment_and_signal_handlers_as_found(capsys):
    os.environ.pop("AMBIENTCTL_NO_PLUGINS", None)
    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGHUP)}
    assert main(["--no-plugins", "describe", "pod", "productpage-v1", "--demo", "-o", "json"]) == 0
    assert '"kind": "PodDescription"' in capsys.readouterr().out
    assert "AMBIENTCTL_NO_PLUGINS" not in os.environ
    assert {s: signal.getsignal(s) for s in before} == before


def test_no_plugins_set_by_the_user_stays_set(monkeypatch, capsys):
    monkeypatch.setenv("AMBIENTCTL_NO_PLUGINS", "1")
    assert main(["--no-plugins", "describe", "pod", "productpage-v1", "--demo", "-o", "json"]) == 0
    assert os.environ["AMBIENTCTL_NO_PLUGINS"] == "1"


def test_no_plugins_turns_plugins_off_even_when_the_variable_is_empty(monkeypatch, capsys):
    """An empty AMBIENTCTL_NO_PLUGINS must not keep --no-plugins from turning plugins off; the value is put back."""
    monkeypatch.setenv("AMBIENTCTL_NO_PLUGINS", "")
    assert main(["--no-plugins", "plugins"]) == 0
    assert "plugins from other packages are off" in capsys.readouterr().out
    assert os.environ["AMBIENTCTL_NO_PLUGINS"] == ""
