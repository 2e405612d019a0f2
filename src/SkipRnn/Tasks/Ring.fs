/// The ring code of Yang et al. (2019) used by every standard task (paper eqs. 3–4, SPEC §2).
module SkipRnn.Tasks.Ring

open System

/// Units per ring.
let [<Literal>] Units = 32

let twoPi = 2.0 * Math.PI

/// Preferred direction psi_k = 2πk/32 of ring unit k.
let preferred (k: int) = twoPi * float k / float Units

/// Angle wrapped into [0, 2π).
let wrap (angle: float) =
    let a = angle % twoPi
    if a < 0.0 then a + twoPi else a

/// Circular distance between two directions, in [0, π].
let distance (a: float) (b: float) =
    let d = wrap (a - b)
    min d (twoPi - d)

/// Tuning of unit k to direction psi: 0.8 exp(-½ (8 d_k / π)²).
let tuning (psi: float) (k: int) =
    let d = distance psi (preferred k)
    0.8 * exp (-0.5 * (8.0 * d / Math.PI) ** 2.0)

/// Unit k's input from a stimulus of strength gamma at direction psi (paper eq. 3).
let stimulusAt (gamma: float) (psi: float) (k: int) = float32 (gamma * tuning psi k)

/// Writes the response target for direction psi: 0.8 exp(...) + 0.05 (paper eq. 4).
let writeResponseTarget (psi: float) (ring: Span<float32>) =
    for k in 0 .. Units - 1 do
        ring[k] <- float32 (tuning psi k + 0.05)

let private sines = Array.init Units (fun k -> sin (preferred k))
let private cosines = Array.init Units (fun k -> cos (preferred k))

/// Population-vector decoding: atan2(Σ y_k sin psi_k, Σ y_k cos psi_k) mod 2π.
let decode (ring: ReadOnlySpan<float32>) =
    let mutable s = 0.0
    let mutable c = 0.0
    for k in 0 .. Units - 1 do
        let y = float ring[k]
        s <- s + y * sines[k]
        c <- c + y * cosines[k]
    wrap (atan2 s c)
