"""Checkpoints are found where Hugging Face and DeepSpeed write them, complete ones only."""

from __future__ import annotations

from pathlib import Path

from server.executors.host_files import HostFiles
from server.services.artifacts import scan_output_dir


async def test_hf_deepspeed_and_tensorboard(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "checkpoint-10").mkdir(parents=True)
    (out / "checkpoint-10" / "trainer_state.json").write_text("{}")
    (out / "checkpoint-20").mkdir()  # still being written: no trainer_state.json yet
    (out / "global_step5").mkdir()
    (out / "global_step7").mkdir()
    (out / "global_step9").mkdir()  # newer than `latest`: not complete
    (out / "latest").write_text("global_step7")
    (out / "runs" / "Nov27_host").mkdir(parents=True)
    (out / "runs" / "Nov27_host" / "events.out.tfevents.1.host.1.0").write_bytes(b"x")

    found = await scan_output_dir(HostFiles(), str(out))
    kinds = sorted((f.type, f.name, f.step) for f in found)
    assert kinds == [
        ("checkpoint", "checkpoint-10", 10),
        ("checkpoint", "global_step5", 5),
        ("checkpoint", "global_step7", 7),
        ("tensorboard", "events.out.tfevents.1.host.1.0", None),
    ]
    assert await scan_output_dir(HostFiles(), str(tmp_path / "missing")) == []
