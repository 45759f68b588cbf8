#!/bin/bash
#SBATCH --job-name=test-moonlight-qos
#SBATCH --partition=viz
#SBATCH --qos=moonlight
#SBATCH --gres=gpu:1
#SBATCH --time=00:05:00
#SBATCH --output=/tmp/test-moonlight-qos-%j.out

echo "========================================"
echo "Testing Moonlight QoS"
echo "Job ID: $SLURM_JOB_ID"
echo "QoS: $SLURM_JOB_QOS"
echo "Partition: $SLURM_JOB_PARTITION"
echo "GPU: $CUDA_VISIBLE_DEVICES"
echo "Node: $(hostname)"
echo "========================================"

# check the GPU
echo "nvidia-smi not run: this host is marked has_nvidia_smi = false (fake GPUs)"

echo "========================================"
echo "Test completed successfully!"
echo "========================================"
