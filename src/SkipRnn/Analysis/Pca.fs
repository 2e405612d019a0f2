namespace SkipRnn.Analysis

open System

/// Principal components of population activity: the eigenvectors of the covariance of the units, largest
/// variance first (cyclic Jacobi rotations; the matrices here are N × N with N in the tens or hundreds).
module Pca =

    /// Eigenvalues (descending) and unit eigenvectors (as rows) of a symmetric matrix.
    let symmetricEigen (matrix: float[,]) =
        let n = Array2D.length1 matrix
        let a = Array2D.copy matrix
        let v = Array2D.init n n (fun i j -> if i = j then 1.0 else 0.0)
        let offDiagonal () =
            let mutable s = 0.0
            for i in 0 .. n - 1 do
                for j in 0 .. n - 1 do
                    if i <> j then s <- s + a[i, j] * a[i, j]
            s
        let scale = max 1e-300 (Seq.sum (seq { for i in 0 .. n - 1 -> a[i, i] * a[i, i] }) + offDiagonal ())
        let mutable sweep = 0
        while sweep < 100 && offDiagonal () > 1e-22 * scale do
            for p in 0 .. n - 2 do
                for q in p + 1 .. n - 1 do
                    if a[p, q] <> 0.0 then
                        let theta = (a[q, q] - a[p, p]) / (2.0 * a[p, q])
                        let t = float (sign theta |> fun s -> if s = 0 then 1 else s) / (abs theta + sqrt (theta * theta + 1.0))
                        let c = 1.0 / sqrt (t * t + 1.0)
                        let s = t * c
                        for k in 0 .. n - 1 do
                            let akp = a[k, p]
                            let akq = a[k, q]
                            a[k, p] <- c * akp - s * akq
                            a[k, q] <- s * akp + c * akq
                        for k in 0 .. n - 1 do
                            let apk = a[p, k]
                            let aqk = a[q, k]
                            a[p, k] <- c * apk - s * aqk
                            a[q, k] <- s * apk + c * aqk
                        for k in 0 .. n - 1 do
                            let vkp = v[k, p]
                            let vkq = v[k, q]
                            v[k, p] <- c * vkp - s * vkq
                            v[k, q] <- s * vkp + c * vkq
            sweep <- sweep + 1
        let order = [| 0 .. n - 1 |] |> Array.sortByDescending (fun i -> a[i, i])
        order |> Array.map (fun i -> a[i, i]), order |> Array.map (fun i -> Array.init n (fun k -> v[k, i]))

    /// The first `count` principal components of rows of observations (each row one time point, each column
    /// one unit): the mean, the components (rows), and the share of variance each explains.
    let fit (observations: float[][]) (count: int) =
        let n = observations[0].Length
        let m = float observations.Length
        let mean = Array.init n (fun j -> observations |> Array.averageBy (fun row -> row[j]))
        let covariance = Array2D.zeroCreate<float> n n
        for row in observations do
            for i in 0 .. n - 1 do
                let di = row[i] - mean[i]
                if di <> 0.0 then
                    for j in i .. n - 1 do
                        covariance[i, j] <- covariance[i, j] + di * (row[j] - mean[j])
        for i in 0 .. n - 1 do
            for j in i .. n - 1 do
                covariance[i, j] <- covariance[i, j] / max 1.0 (m - 1.0)
                covariance[j, i] <- covariance[i, j]
        let values, vectors = symmetricEigen covariance
        let total = values |> Array.sumBy (max 0.0)
        let k = min count n
        mean, vectors[.. k - 1], values[.. k - 1] |> Array.map (fun v -> if total > 0.0 then max 0.0 v / total else 0.0)

    /// Coordinates of one observation on the components.
    let project (mean: float[]) (components: float[][]) (row: float[]) =
        components |> Array.map (fun c -> Array.fold2 (fun acc ci (x, mu) -> acc + ci * (x - mu)) 0.0 c (Array.zip row mean))
