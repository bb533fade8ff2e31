#!/bin/bash
# Trainyard's Slurm batch script: this preamble, then wrapper.sh (appended by slurm.py).
#   sbatch [options] job.sh RUN_DIR WORKDIR COMMAND [SAVE_SIGNAL]
# It is the wrapper itself, in the batch shell, so Slurm ends the job when it ends.
# `scancel --signal=TERM --full` signals every process of the job, this shell included:
# trapping TERM (with a handler, which the command does not inherit) keeps the shell
# alive to write the command's exit code after the command's own grace period; without
# it, Slurm would kill the still-saving trainer as soon as this shell died.
trap ':' TERM
