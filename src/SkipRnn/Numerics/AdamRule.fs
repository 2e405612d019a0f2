/// Adam's update of one parameter, in the formulation of TensorFlow/Keras that the authors used (SPEC §1):
///     m ← β1·m + (1 − β1)·g;   v ← β2·v + (1 − β2)·g²;   θ ← θ − lr_t·m/(√v + ε),
/// with lr_t = lr·√(1 − β2^t)/(1 − β1^t) computed once per network and step (Training.Adam). The one statement
/// of the rule: the CPU optimizer (on float32 and on vectors of it, lane by lane the same operations) and the
/// GPU kernel all call these.
module SkipRnn.Numerics.AdamRule

let inline firstMoment (beta1: ^T) (m: ^T) (g: ^T) : ^T = beta1 * m + (LanguagePrimitives.GenericOne - beta1) * g

let inline secondMoment (beta2: ^T) (v: ^T) (g: ^T) : ^T = beta2 * v + (LanguagePrimitives.GenericOne - beta2) * g * g

/// The change of the parameter (to subtract), from the new moments; `sqrt` is the square root of the number type.
let inline step ([<InlineIfLambda>] sqrt: ^T -> ^T) (rate: ^T) (m: ^T) (v: ^T) (epsilon: ^T) : ^T = rate * m / (sqrt v + epsilon)
