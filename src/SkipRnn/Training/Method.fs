namespace SkipRnn.Training

open SkipRnn.Model

/// A training method with its hyperparameters (paper §3–4, SPEC §5). Everything else any layer needs to know
/// about a method is its row of the method table (`Method.row`); nothing matches on method names.
type Method =
    /// The base model: Euler at dt throughout.
    | Control
    /// Coarsened discretization: θ starts at theta0 and steps down linearly to 1.
    | CD of theta0: float
    /// Skip connections through time of length theta; β starts at beta0 and rises to 1.
    | SCTT of theta: int * beta0: float
    /// Dynamics-aligned skip connections of length theta; β starts at beta0 and rises to 1.
    | DASC of theta: int * beta0: float
    /// DASC with the authors' anchor: every window after a period's first starts from the previous window's
    /// last increment (a fidelity variant, see SkipKind.AlignedLast).
    | DASCLast of theta: int * beta0: float

/// What a method changes in the dynamics it trains on.
type MethodDynamics =
    /// Euler at dt throughout; θ and β are not used.
    | BaseModel
    /// Euler at θ·dt, θ (which may be fractional) stepping down from θ0 to 1; β is not used.
    | Coarsened
    /// Euler at dt with skips of a kind over windows of θ whole steps, β rising from β0 to 1.
    | Skipped of SkipKind

/// One row of the method table (each row exists once, so rows compare by reference).
[<ReferenceEquality>]
type MethodRow =
    { /// The name on the command line, in configuration files, folder names and the results store.
      Name: string
      /// The paper's label before θ (CD → CD10); the whole label of a method without θ.
      LabelPrefix: string
      /// One line for help texts.
      Summary: string
      Dynamics: MethodDynamics
      /// Colour of its lines and markers in every figure (the paper's Fig. 3 colours).
      Colour: string
      /// The method with θ (θ0 for CD) and β0, as the command line and configuration files give them for
      /// every method; θ is a whole number where the dynamics are Skipped.
      Make: float -> float -> Method }

    member r.UsesTheta = r.Dynamics <> BaseModel
    member r.UsesBeta = match r.Dynamics with Skipped _ -> true | BaseModel | Coarsened -> false

module Method =

    // The method table: one row per method. A new method is a case of Method, a row here listed in `rows`, and its
    // line in `row` and `hyperparameters` (the compiler names both; a test checks `rows`); a new kind of skip is a
    // case of SkipKind with its anchor (Integrator.fs).
    let control =
        { Name = "control"; LabelPrefix = "Control"; Summary = "the base model, Euler at dt"; Dynamics = BaseModel
          Colour = "#333333"; Make = fun _ _ -> Control }
    let cd =
        { Name = "cd"; LabelPrefix = "CD"; Summary = "coarsened discretization, θ0 stepping down to 1"
          Dynamics = Coarsened; Colour = "#d62728"; Make = fun theta _ -> CD theta }
    let sctt =
        { Name = "sctt"; LabelPrefix = "SCTT"; Summary = "skip connections through time of θ steps"
          Dynamics = Skipped Plain; Colour = "#2ca02c"; Make = fun theta beta0 -> SCTT(int theta, beta0) }
    let dasc =
        { Name = "dasc"; LabelPrefix = "DASC"; Summary = "dynamics-aligned skip connections of θ steps"
          Dynamics = Skipped Aligned; Colour = "#1f77b4"; Make = fun theta beta0 -> DASC(int theta, beta0) }
    let dascLast =
        { Name = "dasc-last"; LabelPrefix = "DASC-last"
          Summary = "DASC anchored, as in the authors' code, on the previous window's last increment"
          Dynamics = Skipped AlignedLast; Colour = "#9467bd"; Make = fun theta beta0 -> DASCLast(int theta, beta0) }

    /// Every row, in the order help texts and tables list them.
    let rows = [ control; cd; sctt; dasc; dascLast ]

    let row (m: Method) =
        match m with
        | Control -> control
        | CD _ -> cd
        | SCTT _ -> sctt
        | DASC _ -> dasc
        | DASCLast _ -> dascLast

    /// θ (θ0 for CD) and β0 of a method, with the command line's defaults (10 and 0.5) where it has none.
    let hyperparameters (m: Method) =
        match m with
        | Control -> 10.0, 0.5
        | CD theta0 -> theta0, 0.5
        | SCTT (theta, b) | DASC (theta, b) | DASCLast (theta, b) -> float theta, b

    /// The row of a method name (as stored, or typed in any case), if there is one.
    let tryFindRow (name: string) =
        let name = name.Trim().ToLowerInvariant()
        rows |> List.tryFind (fun r -> r.Name = name)

    /// The names for help texts: "control, cd, sctt, dasc or dasc-last".
    let choices () =
        let names = rows |> List.map (fun r -> r.Name)
        String.concat ", " (List.take (names.Length - 1) names) + " or " + List.last names

    /// A method from its name, skip length θ (θ0 for CD) and initial ratio β0, or one sentence saying what is
    /// wrong. The ranges themselves are checked by RunConfig.validate.
    let tryCreate (name: string) (skip: float) (initRatio: float) : Result<Method, string> =
        match tryFindRow name with
        | None -> Error(sprintf "unknown method '%s' (choose %s)" (name.Trim().ToLowerInvariant()) (choices ()))
        | Some r when r.UsesTheta && not (System.Double.IsFinite skip) ->
            Error(sprintf "the skip length θ of %s must be a finite number of steps, got %g" r.Name skip)
        | Some r ->
            match r.Dynamics with
            | Skipped _ when skip <> System.Math.Floor skip ->
                Error(sprintf "the skip length θ of %s must be a whole number of steps, got %g" r.Name skip)
            | _ -> Ok(r.Make skip initRatio)

    /// The integrator of a method at annealing stage values θ and β.
    let integrator (m: Method) (theta: float) (beta: float) =
        match (row m).Dynamics with
        | BaseModel -> Euler
        | Coarsened -> if theta = 1.0 then Euler else CoarseEuler theta
        | Skipped kind -> WithSkips(kind, int theta, beta)

type Method with
    member m.Row = Method.row m
    member m.Name = m.Row.Name

    /// The paper's label: Control, CD10, SCTT40, DASC10, …
    member m.Label =
        match m.Row.Dynamics, Method.hyperparameters m with
        | BaseModel, _ -> m.Row.LabelPrefix
        | Coarsened, (theta0, _) -> sprintf "%s%g" m.Row.LabelPrefix theta0
        | Skipped _, (theta, _) -> sprintf "%s%d" m.Row.LabelPrefix (int theta)

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

    /// The stage of a training step (0 .. Stages−1), or ValueNone once annealing is over.
    member s.StageAt(step: int) =
        if s.Hold then (if step < s.AnnealSteps then ValueSome 0 else ValueNone)
        else
            let k = step / s.StageLength
            if k < s.Stages then ValueSome k else ValueNone

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
        match s.StageAt step with
        | ValueSome k -> Some(s.RatioAt(k, beta0))
        | ValueNone -> None

    /// The integrator for a training step.
    member s.IntegratorAt(step: int) =
        match s.StageAt step with
        | ValueNone -> Euler
        | ValueSome k ->
            let theta, beta0 = Method.hyperparameters s.Method
            match s.Method.Row.Dynamics with
            | BaseModel -> Euler
            | Coarsened -> Method.integrator s.Method (s.CoarseningAt(k, theta)) 1.0
            | Skipped _ -> Method.integrator s.Method theta (s.RatioAt(k, beta0))
