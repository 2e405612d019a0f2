/// The leaky RNN's Euler step and its reverse, element by element (paper eq. 1; SPEC §1): the one statement of
/// the vector field. Every backend computes these expressions, on one float (the GPU kernels, the CPU's scalar
/// path) or on a vector of lanes (the CPU's AVX-512 and AVX2 paths): the functions are inline and generic over
/// any type with + − ×, so the backends only make them fast.
module SkipRnn.Model.VectorField

/// The pre-activation p_i = (W r)_i + b_i + h_i + σ·η_i, from the recurrent sum (W r)_i and the input current h_i.
let inline preActivation recurrent bias input sigma eta = recurrent + bias + input + sigma * eta

/// The Euler increment Δ_i = α_i·(f(p_i) − r_i), α = dt/τ.
let inline increment alpha f r = alpha * (f - r)

/// The recurrent noise after a step: η ← decay·η + gain·ξ (Ornstein–Uhlenbeck at the batch's dt: decay = 1 − dt/τ_η,
/// gain = √(2 dt/τ_η)), with ξ the step's standard normal sample.
let inline noise decay eta gain xi = decay * eta + gain * xi

/// Reverse of the increment: the adjoint of p, δ = ∂L/∂Δ · α · f'(p).
let inline incrementAdjoint gDelta alpha fprime = gDelta * alpha * fprime

/// Reverse of r_after = r + Δ with Δ's own −α·r: the adjoint of r before the step (through everything but W r),
/// ∂L/∂r = gId − α·∂L/∂Δ, where gId is what reaches r through the identity term (with no anchor, gId = ∂L/∂Δ).
let inline stateAdjoint gId alpha gDelta = gId - alpha * gDelta

/// Dale's law (SPEC §1): the effective weight of a raw one, |raw|·sign(column); the sign is −1 for the columns of
/// the last 20 % of units (from `fastStart` on), +1 before.
let inline daleWeight (raw: float32) (column: int) (fastStart: int) =
    let magnitude = System.MathF.Abs raw
    if column >= fastStart then -magnitude else magnitude
