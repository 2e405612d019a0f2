/// Adam's update of one parameter, in the formulation of TensorFlow/Keras that the authors used (SPEC §1):
///     m ← β1·m + (1 − β1)·g;   v ← β2·v + (1 − β2)·g²;   θ ← θ − lr_t·m/(√v + ε),
/// with lr_t = lr·√(1 − β2^t)/(1 − β1^t) computed once per network and step (Training.Adam). The one statement
/// of the rule: the CPU optimizer and the GPU kernel both call these.
module SkipRnn.Numerics.AdamRule

let inline firstMoment (beta1: float32) (m: float32) (g: float32) = beta1 * m + (1.0f - beta1) * g

let inline secondMoment (beta2: float32) (v: float32) (g: float32) = beta2 * v + (1.0f - beta2) * g * g

/// The change of the parameter (to subtract), from the new moments.
let inline step (rate: float32) (m: float32) (v: float32) (epsilon: float32) = rate * m / (System.MathF.Sqrt v + epsilon)
