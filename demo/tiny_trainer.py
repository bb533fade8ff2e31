#!/usr/bin/env python3
"""A tiny but real trainer that prints, saves and resumes like the Hugging Face Trainer.

Trainyard runs LLaMA-Factory/transformers jobs in a container, parses their logs, finds their
checkpoints, stops and resumes them. This script stands in for such a job in tests and demos:
using only the Python 3.11 standard library, it trains a character-level bigram language model
(softmax regression, AdamW, linear LR decay, grad clipping at 1.0) on a text file, with a real
falling cross-entropy loss, and writes what transformers 4.x writes:
  stderr: the "***** Running training *****" block, a hand-drawn tqdm bar redrawn with "\\r"
          (10 cells, as tqdm draws it when stderr is no terminal), "Saving model checkpoint" lines;
  stdout: the {'loss': ...}, {'eval_loss': ...} and final {'train_runtime': ...} dicts;
  files:  <output_dir>/checkpoint-<step>/, written as tmp-checkpoint-<step>/ with
          trainer_state.json last and then renamed, rotated by save_total_limit; a
          tfevents-like file under <output_dir>/runs/ that grows with every log.
Resuming restores weights, optimizer, step and RNG state: the resumed run logs exactly the
losses of an unbroken run. SIGTERM exits with 143, also as PID 1 in a container (where the
default action is ignored); the --save-signal saves a checkpoint and stops with exit code 0.
"""
import argparse
import itertools
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import sys
import time
from datetime import datetime

OPTIONS = {  # key: (type, default). The YAML config sets these; CLI flags override it.
    "output_dir": (str, "saves/tiny"), "dataset": (str, None),
    "max_steps": (int, -1), "num_train_epochs": (float, 3.0),
    "per_device_train_batch_size": (int, 8), "learning_rate": (float, 0.1),
    "logging_steps": (int, 10), "save_steps": (int, 20), "eval_steps": (int, None),
    "save_total_limit": (int, None), "seed": (int, 42), "step_delay": (float, 0.0),
    "lines_per_step": (int, 0), "resume_from_checkpoint": (str, None), "save_signal": (str, None),
}
BLOCK = 64  # characters per example
BETAS, EPS, MAX_GRAD_NORM = (0.9, 0.999), 1e-8, 1.0
SIG = {"busy": False, "term": False, "stop": None}  # set by the signal handlers


def fail(msg):
    print(f"error: {msg}", file=sys.stderr, flush=True)
    sys.exit(2)


def info(msg):  # HF writes these through `logging`, which goes to stderr
    print(msg, file=sys.stderr, flush=True)


def typed(key, value):
    kind = OPTIONS[key][0]
    try:
        return None if value is None else kind(value)
    except ValueError:
        fail(f"{key}: expected {kind.__name__}, got {value!r}")


def read_yaml(path):
    """Parse flat `key: value` YAML with `#` comments (the container has no yaml module)."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        fail(f"cannot read config {path}: {e.strerror}")
    conf = {}
    for n, line in enumerate(lines, 1):
        line = re.sub(r"(^|\s)#.*$", "", line).strip()
        if line:
            key, sep, value = line.partition(":")
            if not sep:
                fail(f"{path}:{n}: expected 'key: value', got {line!r}")
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]  # a quoted string
            conf[key.strip()] = None if value.lower() in ("", "~", "null", "none") else value
    return conf


def load_config(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", help="flat YAML file; flags override its values")
    for key, (kind, _) in OPTIONS.items():
        parser.add_argument("--" + key.replace("_", "-"), dest=key, type=kind)
    args = vars(parser.parse_args(argv))
    config_file = args.pop("config")
    conf = {key: default for key, (_, default) in OPTIONS.items()}
    for key, value in (read_yaml(config_file) if config_file else {}).items():
        if key in OPTIONS:  # other keys (model_name_or_path, ...) are ignored
            conf[key] = typed(key, value)
    conf.update({key: value for key, value in args.items() if value is not None})
    conf["resume_from_checkpoint"] = (conf["resume_from_checkpoint"]
                                      or os.environ.get("TRAINYARD_RESUME_FROM") or None)
    conf["save_signal"] = conf["save_signal"] or os.environ.get("TRAINYARD_SAVE_SIGNAL") or None
    return conf


def install_signals(save_signal):
    def on_term(signum, frame):
        if SIG["busy"]:  # a checkpoint is being written: finish it, then exit
            SIG["term"] = True
        else:
            raise SystemExit(143)

    signal.signal(signal.SIGTERM, on_term)
    if save_signal:
        name = save_signal.upper()
        name = name if name.startswith("SIG") else "SIG" + name
        if name not in signal.Signals.__members__:
            fail(f"unknown signal: {save_signal}")
        signal.signal(signal.Signals[name], lambda signum, frame: SIG.update(stop=name))


def load_text(path):
    if not path:
        fail("no dataset given (--dataset, or 'dataset:' in the config)")
    if os.path.isdir(path):
        files = sorted(os.path.join(path, f) for f in os.listdir(path) if f.endswith(".txt"))
    elif os.path.isfile(path):
        files = [path]
    else:
        fail(f"dataset not found: {path} (current directory: {os.getcwd()})")
    text = ""
    for name in files:
        with open(name, encoding="utf-8") as f:
            text += f.read()
    if len(text) < 4 * BLOCK:
        fail(f"dataset {path} holds {len(text)} characters; at least {4 * BLOCK} are needed")
    return text


def batch_counts(blocks, index):
    """Count the (previous, next) character pairs: {prev: {next: count}}, total pairs."""
    counts, total = {}, 0
    for block in blocks:
        for a, b in itertools.pairwise(block):
            row = counts.setdefault(index[a], {})
            row[index[b]] = row.get(index[b], 0) + 1
            total += 1
    return counts, total


def loss_and_grad(weights, counts, total):
    """Mean cross-entropy of the next character, and its gradient (only rows that were seen)."""
    loss, grad = 0.0, {}
    for a, row in counts.items():
        top = max(weights[a])
        exps = [math.exp(x - top) for x in weights[a]]
        norm = sum(exps)
        seen = sum(row.values())
        grad[a] = [seen * e / norm / total for e in exps]
        for b, count in row.items():
            loss -= count * math.log(exps[b] / norm)
            grad[a][b] -= count / total
    return loss / total, grad


def adamw_step(weights, grad, opt, lr):
    """Clip the gradient to MAX_GRAD_NORM, do one Adam step; return the norm before clipping."""
    norm = math.sqrt(sum(g * g for row in grad.values() for g in row))
    scale = min(1.0, MAX_GRAD_NORM / (norm + 1e-6))
    opt["step"] += 1
    (b1, b2), zero = BETAS, [0.0] * len(weights)
    c1, c2 = 1 - b1 ** opt["step"], 1 - b2 ** opt["step"]
    for a, (w, m, v) in enumerate(zip(weights, opt["exp_avg"], opt["exp_avg_sq"], strict=True)):
        g = grad.get(a, zero)
        for j in range(len(w)):
            gj = g[j] * scale
            m[j] = b1 * m[j] + (1 - b1) * gj
            v[j] = b2 * v[j] + (1 - b2) * gj * gj
            w[j] -= lr * (m[j] / c1) / (math.sqrt(v[j] / c2) + EPS)
    return norm


def fmt_interval(seconds):  # tqdm.format_interval
    mins, s = divmod(int(seconds), 60)
    h, m = divmod(mins, 60)
    return f"{h:d}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class Bar:
    """A tqdm bar as tqdm draws it on a stream that is not a terminal: 10 cells, '\\r' redraws."""
    CHARS = " " + "".join(chr(c) for c in range(0x258F, 0x2587, -1))  # " ▏▎▍▌▋▊▉█"

    def __init__(self, total):
        self.total, self.n, self.start, self.last_len = total, 0, time.time(), 0
        self.draw()

    def text(self):
        elapsed = time.time() - self.start
        frac = self.n / self.total
        full, part = divmod(int(frac * 10 * 8), 8)
        cells = self.CHARS[-1] * full + (self.CHARS[part] + " " * (9 - full) if full < 10 else "")
        rate = self.n / elapsed if self.n and elapsed > 0 else None
        if rate is None:
            remaining, speed = "?", "?it/s"
        else:
            remaining = fmt_interval((self.total - self.n) / rate)
            speed = f"{rate:5.2f}it/s" if rate >= 1 else f"{1 / rate:5.2f}s/it"
        return (f"{frac * 100:3.0f}%|{cells}| {self.n}/{self.total} "
                f"[{fmt_interval(elapsed)}<{remaining}, {speed}]")

    def _write(self, s):
        sys.stderr.write("\r" + s + " " * max(self.last_len - len(s), 0))
        sys.stderr.flush()
        self.last_len = len(s)

    def draw(self):
        self._write(self.text())

    def print_above(self, line):  # tqdm.write(): clear the bar, print on stdout, redraw
        self._write("")
        sys.stderr.write("\r")
        print(line, flush=True)
        self.draw()

    def close(self):
        self.draw()
        sys.stderr.write("\n")
        sys.stderr.flush()


def write_json(folder, name, obj):
    with open(os.path.join(folder, name), "w", encoding="utf-8") as f:
        f.write(json.dumps(obj, indent=2, sort_keys=True) + "\n")


def rotate_checkpoints(output_dir, limit):
    """Delete the oldest checkpoint-<step> folders beyond `limit`, as HF does (renamed first,
    so that a checkpoint is either whole or gone)."""
    if not limit or limit < 1:
        return
    steps = sorted(int(m[1]) for n in os.listdir(output_dir)
                   if (m := re.fullmatch(r"checkpoint-(\d+)", n)))
    for step in steps[:-limit]:
        path = os.path.join(output_dir, f"checkpoint-{step}")
        info(f"Deleting older checkpoint [{path}] due to args.save_total_limit")
        doomed = os.path.join(output_dir, f"tmp-checkpoint-{step}-deleting")
        os.rename(path, doomed)
        shutil.rmtree(doomed)


class Trainer:
    def __init__(self, conf):
        self.conf, self.out = conf, conf["output_dir"]
        text = load_text(conf["dataset"])
        blocks = [text[i:i + BLOCK + 1] for i in range(0, len(text) - 1, BLOCK)]
        n_eval = max(1, len(blocks) // 10)  # the last 10% is held out for evaluation
        self.train_set, self.eval_set = blocks[:-n_eval], blocks[-n_eval:]
        self.bs = conf["per_device_train_batch_size"]
        self.steps_per_epoch = math.ceil(len(self.train_set) / self.bs)
        if conf["max_steps"] > 0:
            self.max_steps = conf["max_steps"]
            self.num_epochs = math.ceil(self.max_steps / self.steps_per_epoch)
        else:
            self.max_steps = math.ceil(conf["num_train_epochs"] * self.steps_per_epoch)
            self.num_epochs = math.ceil(conf["num_train_epochs"])
        self.rng = random.Random(conf["seed"])
        self.vocab = "".join(sorted(set(text)))
        size = len(self.vocab)
        self.weights = [[self.rng.gauss(0, 0.02) for _ in range(size)] for _ in range(size)]
        zeros = [[0.0] * size for _ in range(size)]
        self.opt = {"step": 0, "exp_avg": zeros, "exp_avg_sq": [r[:] for r in zeros]}
        self.global_step, self.log_history, self.order = 0, [], []
        if conf["resume_from_checkpoint"]:
            self.load(conf["resume_from_checkpoint"])
            if set(text) - set(self.vocab):
                fail("the dataset has characters that the checkpoint's vocabulary lacks")
        self.index = {c: i for i, c in enumerate(self.vocab)}

    def load(self, path):
        if not os.path.isfile(os.path.join(path, "trainer_state.json")):
            fail(f"not a complete checkpoint (no trainer_state.json): {path}")

        def read(name):
            with open(os.path.join(path, name), encoding="utf-8") as f:
                return json.load(f)

        model, state, rng = read("model.json"), read("trainer_state.json"), read("rng_state.json")
        self.vocab, self.weights = model["vocab"], model["weights"]
        self.opt = read("optimizer.json")
        self.global_step, self.log_history = state["global_step"], state["log_history"]
        version, internal, gauss = rng["python"]
        self.rng.setstate((version, tuple(internal), gauss))
        self.order = rng["epoch_order"]

    def lr_at(self, step):  # HF's default linear schedule without warmup
        return self.conf["learning_rate"] * max(0.0, (self.max_steps - step) / self.max_steps)

    def epoch(self):
        return self.global_step / self.steps_per_epoch

    def next_batch(self, step):
        pos = (step - 1) % self.steps_per_epoch
        if pos == 0:  # a new epoch: reshuffle (the order is saved in checkpoints)
            self.order = list(range(len(self.train_set)))
            self.rng.shuffle(self.order)
        return [self.train_set[i] for i in self.order[pos * self.bs:(pos + 1) * self.bs]]

    def evaluate(self):
        start = time.time()
        loss, _ = loss_and_grad(self.weights, *batch_counts(self.eval_set, self.index))
        runtime = max(time.time() - start, 1e-4)
        n = len(self.eval_set)
        return {"eval_loss": loss, "eval_runtime": round(runtime, 4),
                "eval_samples_per_second": round(n / runtime, 3),
                "eval_steps_per_second": round(math.ceil(n / self.bs) / runtime, 3),
                "epoch": round(self.epoch(), 2)}

    def trainer_state(self):
        c = self.conf
        return {"best_metric": None, "best_model_checkpoint": None, "epoch": self.epoch(),
                "eval_steps": c["eval_steps"], "global_step": self.global_step,
                "is_hyper_param_search": False, "is_local_process_zero": True,
                "is_world_process_zero": True, "log_history": self.log_history,
                "logging_steps": c["logging_steps"], "max_steps": self.max_steps,
                "num_input_tokens_seen": 0, "num_train_epochs": self.num_epochs,
                "save_steps": c["save_steps"], "total_flos": 0.0, "train_batch_size": self.bs,
                "trial_name": None, "trial_params": None}

    def save_checkpoint(self):
        """Write tmp-checkpoint-<step>/ (trainer_state.json last), then rename it into place."""
        final = os.path.join(self.out, f"checkpoint-{self.global_step}")
        tmp = os.path.join(self.out, f"tmp-checkpoint-{self.global_step}")
        info(f"Saving model checkpoint to {final}")
        SIG["busy"] = True
        try:
            shutil.rmtree(tmp, ignore_errors=True)
            os.makedirs(tmp)
            write_json(tmp, "model.json", {"vocab": self.vocab, "weights": self.weights})
            write_json(tmp, "optimizer.json", self.opt)
            write_json(tmp, "scheduler.json", {"base_lr": self.conf["learning_rate"],
                                               "last_epoch": self.global_step})
            write_json(tmp, "rng_state.json", {"python": self.rng.getstate(),
                                               "epoch_order": self.order})
            write_json(tmp, "training_args.json", self.conf)
            write_json(tmp, "trainer_state.json", self.trainer_state())
            shutil.rmtree(final, ignore_errors=True)
            os.rename(tmp, final)
            rotate_checkpoints(self.out, self.conf["save_total_limit"])
        finally:
            SIG["busy"] = False
        if SIG["term"]:
            raise SystemExit(143)
        return final

    def open_events(self):
        host = socket.gethostname()
        folder = os.path.join(self.out, "runs", datetime.now().strftime("%b%d_%H-%M-%S_") + host)
        os.makedirs(folder, exist_ok=True)
        name = f"events.out.tfevents.{int(time.time())}.{host}.{os.getpid()}.0"
        self.events = open(os.path.join(folder, name), "ab")  # noqa: SIM115 (open for the run)
        self.events.write(b"brain.Event:2\n")

    def log(self, bar, logs, printed=None):
        """Add logs to log_history and the events file; print them as HF's ProgressCallback."""
        self.log_history.append({**logs, "step": self.global_step})
        self.events.write(json.dumps({"wall_time": time.time(), **self.log_history[-1]}).encode()
                          + b"\n")
        self.events.flush()
        bar.print_above(str(printed or logs))

    def print_header(self):
        info(f"""***** Running training *****
  Num examples = {len(self.train_set):,}
  Num Epochs = {self.num_epochs:,}
  Instantaneous batch size per device = {self.bs:,}
  Total train batch size (w. parallel, distributed & accumulation) = {self.bs:,}
  Gradient Accumulation steps = 1
  Total optimization steps = {self.max_steps:,}
  Number of trainable parameters = {len(self.vocab) ** 2:,}""")
        if self.conf["resume_from_checkpoint"]:
            epochs, skip = divmod(self.global_step, self.steps_per_epoch)
            info(f"""  Continuing training from checkpoint, will skip to saved global_step
  Continuing training from epoch {epochs}
  Continuing training from global step {self.global_step}
  Will skip the first {epochs} epochs then the first {skip} batches in the first epoch.""")

    def train(self):
        c = self.conf
        os.makedirs(self.out, exist_ok=True)
        for name in os.listdir(self.out):  # left over by a process that was killed mid-save
            if name.startswith("tmp-checkpoint-"):
                shutil.rmtree(os.path.join(self.out, name), ignore_errors=True)
        self.open_events()
        self.print_header()
        bar, start = Bar(self.max_steps), time.time()
        total_loss = window_loss = 0.0
        first_step = self.global_step + 1
        for step in range(first_step, self.max_steps + 1):
            counts, pairs = batch_counts(self.next_batch(step), self.index)
            loss, grad = loss_and_grad(self.weights, counts, pairs)
            grad_norm = adamw_step(self.weights, grad, self.opt, self.lr_at(step - 1))
            if c["step_delay"]:
                time.sleep(c["step_delay"])
            self.global_step, bar.n = step, step
            total_loss, window_loss = total_loss + loss, window_loss + loss
            bar.draw()
            if c["lines_per_step"]:
                print("\n".join(f"[tiny_trainer] step {step} line {i + 1}/{c['lines_per_step']}: "
                                f"pairs={pairs} loss={loss:.6f}"
                                for i in range(c["lines_per_step"])), flush=True)
            if c["logging_steps"] and step % c["logging_steps"] == 0:
                since = step - max(first_step - 1, step - c["logging_steps"])
                self.log(bar, {"loss": round(window_loss / since, 4), "grad_norm": grad_norm,
                               "learning_rate": self.lr_at(step), "epoch": round(self.epoch(), 2)})
                window_loss = 0.0
            if c["eval_steps"] and step % c["eval_steps"] == 0:
                self.log(bar, self.evaluate())
            saved = step % c["save_steps"] == 0 or step == self.max_steps
            if saved:
                self.save_checkpoint()
            if SIG["stop"]:
                path = os.path.join(self.out, f"checkpoint-{step}")
                if not saved:
                    path = self.save_checkpoint()
                info(f"Received {SIG['stop']}: saved checkpoint {path} at step {step}; "
                     "stopping training.")
                break
        self.finish(bar, start, total_loss, self.global_step - first_step + 1)

    def finish(self, bar, start, total_loss, steps_run):
        info("\n\nTraining completed. Do not forget to share your model on "
             "huggingface.co/models =)\n\n")
        runtime = max(time.time() - start, 1e-4)
        metrics = {"train_runtime": round(runtime, 4),
                   "train_samples_per_second": round(self.max_steps * self.bs / runtime, 3),
                   "train_steps_per_second": round(self.max_steps / runtime, 3),
                   "total_flos": 0.0, "train_loss": total_loss / max(steps_run, 1),
                   "epoch": round(self.epoch(), 2)}
        printed = {k: v for k, v in metrics.items() if k != "total_flos"}  # HF pops it too
        self.log(bar, metrics, printed)
        bar.close()
        SIG["busy"] = True  # the final model, as LLaMA-Factory's trainer.save_model() writes it
        write_json(self.out, "model.json", {"vocab": self.vocab, "weights": self.weights})
        write_json(self.out, "train_results.json", metrics)
        SIG["busy"] = False
        self.events.close()
        if SIG["term"]:
            raise SystemExit(143)


def main(argv=None):
    sys.stdout.reconfigure(line_buffering=True)
    conf = load_config(argv)
    install_signals(conf["save_signal"])
    Trainer(conf).train()
    return 0


if __name__ == "__main__":
    sys.exit(main())
