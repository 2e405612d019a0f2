namespace SkipRnn.Training

open SkipRnn.Model

/// A training method with its hyperparameters (paper §3–4, SPEC §5).
type Method =
    /// The base model: Euler at dt throughout.
    | Control
    /// Coarsened discretization: θ starts at theta0 and steps down linearly to 1.
    | CD of theta0: float
    /// Skip connections through time of length theta; β starts at beta0 and rises to 1.
    | SCTT of theta: int * beta0: float
    /// Dynamics-aligned skip connections of length theta; β starts at beta0 and rises to 1.
    | DASC of theta: int * beta0: float

    member m.Name =
        match m with
        | Control -> "control"
        | CD _ -> "cd"
        | SCTT _ -> "sctt"
        | DASC _ -> "dasc"

    /// The paper's label: Control, CD10, SCTT40, DASC10, …
    member m.Label =
        match m with
        | Control -> "Control"
        | CD theta0 -> sprintf "CD%g" theta0
        | SCTT (theta, _) -> sprintf "SCTT%d" theta
        | DASC (theta, _) -> sprintf "DASC%d" theta

module Method =

    /// A method from its name (control, cd, sctt, dasc), skip length θ (θ0 for CD) and initial ratio β0, or one
    /// sentence saying what is wrong. The ranges themselves are checked by RunConfig.validate.
    let tryCreate (name: string) (skip: float) (initRatio: float) : Result<Method, string> =
        let whole () =
            if skip <> System.Math.Floor skip then Error(sprintf "the skip length θ of %s must be a whole number of steps, got %g" name skip)
            else Ok(int skip)
        match name.Trim().ToLowerInvariant() with
        | "control" -> Ok Control
        | "cd" -> Ok(CD skip)
        | "sctt" -> whole () |> Result.map (fun theta -> SCTT(theta, initRatio))
        | "dasc" -> whole () |> Result.map (fun theta -> DASC(theta, initRatio))
        | other -> Error(sprintf "unknown method '%s' (choose control, cd, sctt or dasc)" other)

    /// θ (θ0 for CD) and β0 of a method, with the command line's defaults (10 and 0.5) where it has none.
    let hyperparameters (m: Method) =
        match m with
        | Control -> 10.0, 0.5
        | CD theta0 -> theta0, 0.5
        | SCTT (theta, b) | DASC (theta, b) -> float theta, b

/// When each value of θ or β is used: `stepCount` annealing steps give s = stepCount + 1 stages that share
/// the first `annealSteps` training steps equally; after them the base model trains on. With `Hold`, the
/// initial θ0 or β0 is kept for all of the first `annealSteps` steps instead (paper Fig. 3 trains at constant
/// θ and β = 0.5).
type Schedule =
    { Method: Method
      StepCount: int
      AnnealSteps: int
      Hold: bool }

    member s.Stages = s.StepCount + 1
    member s.StageLength = max 1 (s.AnnealSteps / s.Stages)

    /// The stage of a training step (0 .. Stages−1), or None once annealing is over.
    member s.StageAt(step: int) =
        if s.Hold then (if step < s.AnnealSteps then Some 0 else None)
        else
            let k = step / s.StageLength
            if k < s.Stages then Some k else None

    /// θ_k = θ0·(s − 1 − k)/(s − 1), raised to 1 (for step count 5: 10, 8, 6, 4, 2, 1).
    member s.CoarseningAt(stage: int, theta0: float) =
        if s.Hold then theta0
        elif s.Stages <= 1 then 1.0
        else max 1.0 (theta0 * float (s.Stages - 1 - stage) / float (s.Stages - 1))

    /// β_k = β0 + (1 − β0)·k/(s − 1) (one stage: β = 1).
    member s.RatioAt(stage: int, beta0: float) =
        if s.Hold then beta0
        elif s.Stages <= 1 then 1.0
        else beta0 + (1.0 - beta0) * float stage / float (s.Stages - 1)

    /// β' of the strategic skips at a training step (their own initial ratio, the same stages as β);
    /// None once annealing is over.
    member s.StrategicRatioAt(step: int, beta0: float) =
        s.StageAt step |> Option.map (fun k -> s.RatioAt(k, beta0))

    /// The integrator for a training step.
    member s.IntegratorAt(step: int) =
        match s.StageAt step, s.Method with
        | None, _ | _, Control -> Euler
        | Some k, CD theta0 ->
            let theta = s.CoarseningAt(k, theta0)
            if theta = 1.0 then Euler else CoarseEuler theta
        | Some k, SCTT (theta, beta0) -> SkipThroughTime(theta, s.RatioAt(k, beta0))
        | Some k, DASC (theta, beta0) -> DynamicsAligned(theta, s.RatioAt(k, beta0))
