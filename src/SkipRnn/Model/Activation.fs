namespace SkipRnn.Model

open System

/// The input-output function f of the units (paper eq. 1).
type Activation =
    | ReLU
    | Tanh
    | Softplus

    member a.Name =
        match a with
        | ReLU -> "relu"
        | Tanh -> "tanh"
        | Softplus -> "softplus"

    static member TryParse(s: string) =
        match s.Trim().ToLowerInvariant() with
        | "relu" -> Some ReLU
        | "tanh" -> Some Tanh
        | "softplus" -> Some Softplus
        | _ -> None

    /// f(x) (reference, scalar).
    member a.Apply(x: float) =
        match a with
        | ReLU -> max x 0.0
        | Tanh -> Math.Tanh x
        | Softplus -> if x > 30.0 then x else Math.Log(1.0 + Math.Exp x)

/// How the output units read the output population (paper eqs. 2 and 10), and the loss that goes with it.
type Readout =
    /// y = sigmoid(W_out r_out), squared error against the targets.
    | Sigmoid
    /// y = softmax(W_out r_out), cross-entropy against one-hot targets (rule reversal).
    | Softmax
