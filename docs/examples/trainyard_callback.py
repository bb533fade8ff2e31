"""Save a checkpoint and stop training when Trainyard sends its save signal."""

import logging
import os
import signal
import threading

from transformers import TrainerCallback

logger = logging.getLogger(__name__)


class TrainyardSaveOnSignal(TrainerCallback):
    """On the signal named by $TRAINYARD_SAVE_SIGNAL (e.g. SIGUSR1): at the end of the
    current optimizer step, save a checkpoint and stop training."""

    def __init__(self, env_var: str = "TRAINYARD_SAVE_SIGNAL") -> None:
        self.env_var = env_var
        self.requested = False  # set by the signal handler, acted on at the next step end
        self._signum = None
        self._previous = None

    def _signal_from_env(self):
        name = os.environ.get(self.env_var, "").strip().upper()
        if not name:
            return None
        if not name.startswith("SIG"):
            name = "SIG" + name
        try:
            return signal.Signals[name]
        except KeyError:
            logger.warning("%s=%r is not a signal name; not handling it", self.env_var, name)
            return None

    def _on_signal(self, signum, frame):
        # Only set a flag: the Trainer is mid-step, and saving here would be unsafe.
        self.requested = True

    def on_train_begin(self, args, state, control, **kwargs):
        signum = self._signal_from_env()
        if signum is None:
            return control
        if threading.current_thread() is not threading.main_thread():
            logger.warning("%s: signal handlers can only be installed from the main thread",
                           signum.name)
            return control
        self._previous = signal.signal(signum, self._on_signal)
        self._signum = signum
        logger.info("%s will save a checkpoint and stop training", signum.name)
        return control

    def on_step_end(self, args, state, control, **kwargs):
        if self.requested:
            logger.info("%s received: saving a checkpoint at step %d and stopping",
                        self._signum.name, state.global_step)
            control.should_save = True
            control.should_training_stop = True
        return control

    def on_train_end(self, args, state, control, **kwargs):
        if self._signum is not None:
            previous = signal.SIG_DFL if self._previous is None else self._previous
            signal.signal(self._signum, previous)
            self._signum = None
        return control
