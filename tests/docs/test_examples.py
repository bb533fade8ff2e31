"""The files docs/ tells users to copy work as documented.

``docs/examples/trainyard_callback.py`` needs ``transformers``, which the suite does not
install (it pulls in tokenizers, safetensors, numpy...). Its ``TrainerCallback`` is a
base class whose event methods do nothing; a stand-in with the same shape lets the very
file users copy run here, driven as the Trainer drives callbacks, with a real signal.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "docs" / "examples"

FAKE_TRANSFORMERS = """
class TrainerCallback:
    pass
"""

# A training loop with the Trainer's callback protocol: on_train_begin, then
# on_step_end after each optimizer step (saving and stopping when control says so).
LOOP = """
import os, signal, sys, types
from trainyard_callback import TrainyardSaveOnSignal

args = types.SimpleNamespace()
state = types.SimpleNamespace(global_step=0)
control = types.SimpleNamespace(should_save=False, should_training_stop=False)
callback = TrainyardSaveOnSignal()
callback.on_train_begin(args, state, control)
print("ready", flush=True)
for step in range(1, 100_000):
    state.global_step = step
    if step == 5:
        os.kill(os.getpid(), signal.SIGUSR1)  # as Trainyard does on cancel or pause
    control = callback.on_step_end(args, state, control)
    if control.should_save:
        print(f"saved checkpoint-{step}", flush=True)
    if control.should_training_stop:
        break
callback.on_train_end(args, state, control)
print("handler restored:", signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL, flush=True)
"""


def run_loop(tmp_path: Path, env_extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    (tmp_path / "transformers.py").write_text(FAKE_TRANSFORMERS)
    env = {k: v for k, v in os.environ.items() if k != "TRAINYARD_SAVE_SIGNAL"}
    env.update({"PYTHONPATH": f"{EXAMPLES}{os.pathsep}{tmp_path}", **env_extra})
    return subprocess.run([sys.executable, "-c", textwrap.dedent(LOOP)], env=env, timeout=60,
                          capture_output=True, text=True, check=False)


def test_the_callback_saves_and_stops_at_the_step_end_after_the_signal(tmp_path: Path) -> None:
    done = run_loop(tmp_path, {"TRAINYARD_SAVE_SIGNAL": "SIGUSR1"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["ready", "saved checkpoint-5", "handler restored: True"]


def test_without_the_variable_it_does_nothing(tmp_path: Path) -> None:
    done = run_loop(tmp_path, {})
    assert done.returncode == -signal.SIGUSR1  # nobody handled it: the default kills
    assert "saved" not in done.stdout
