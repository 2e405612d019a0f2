namespace SkipRnn.Training

open SkipRnn.Model
open SkipRnn.Engine

/// Floating-point operations, counted analytically. The rule: every matrix product of the model, at the
/// model's own (unpadded) sizes, a multiply-add counting 2; elementwise work (activation, noise, skip
/// mixing, Adam) is not counted. Per network and training step:
///   forward   2·N²·B per step (burn-in included) + 2·N_in·I·B per constant-input segment
///             + 2·N_out·O·B per trained step (readout)
///   backward  2·2·N²·B per trained step (Wᵀδ and ∂W) + 2·N_in·I·B per segment (∂W_in)
///             + 2·2·N_out·O·B per trained step (W_outᵀ ∂z and ∂W_out)
module Flops =

    let recurrentForward (arch: Architecture) (batch: PreparedBatch) =
        let b = float batch.Batch.Trials
        let n = float arch.Units
        2.0 * n * n * b * float batch.Batch.Steps

    let recurrentBackward (arch: Architecture) (batch: PreparedBatch) =
        let b = float batch.Batch.Trials
        let n = float arch.Units
        2.0 * 2.0 * n * n * b * float batch.Batch.TrainedSteps

    /// Recurrent products only, forward and backward (what `skiprnn bench` reports as GFLOP/s).
    let recurrentTrainingStep (arch: Architecture) (batch: PreparedBatch) =
        recurrentForward arch batch + recurrentBackward arch batch

    /// All counted products of one training step of one network.
    let trainingStep (arch: Architecture) (batch: PreparedBatch) =
        let b = float batch.Batch.Trials
        let t = float batch.Batch.TrainedSteps
        let inputProducts = 2.0 * float arch.InputUnits * float arch.Inputs * b * float batch.Segments
        let readout = 2.0 * float arch.OutputUnits * float arch.Outputs * b * t
        recurrentTrainingStep arch batch + 2.0 * inputProducts + 3.0 * readout

    /// All counted products of one evaluation pass (forward only) of one network.
    let evaluation (arch: Architecture) (batch: PreparedBatch) =
        let b = float batch.Batch.Trials
        let t = float batch.Batch.TrainedSteps
        recurrentForward arch batch
        + 2.0 * float arch.InputUnits * float arch.Inputs * b * float batch.Segments
        + 2.0 * float arch.OutputUnits * float arch.Outputs * b * t
