# Trainyard, on each node of a multi-node Slurm run (srun starts one per node):
#   bash -c "$(cat slurm_node.sh)" trainyard-node COMMAND NPROC_PER_NODE MASTER_PORT
# Sets what torchrun and LLaMA-Factory's launcher read to form one job across the nodes,
# then runs COMMAND. The first node of the allocation is the master. Values arrive as
# arguments, never pasted into this script.
command=$1
export NPROC_PER_NODE=$2
export MASTER_PORT=$3
MASTER_ADDR=$(scontrol show hostnames "$SLURM_JOB_NODELIST" 2>/dev/null | head -n 1)
export MASTER_ADDR=${MASTER_ADDR:-${SLURMD_NODENAME:-localhost}}
export NNODES=${SLURM_NNODES:-1}
export NODE_RANK=${SLURM_NODEID:-0}
export FORCE_TORCHRUN=1
exec bash -c "$command"
