module SkipRnn.Tests.TaskTests

open Expecto
open SkipRnn.Tasks

[<Tests>]
let ringTests =
    testList "ring" [
        testCase "decoding a response target gives its direction" <| fun () ->
            let ring = Array.zeroCreate<float32> Ring.Units
            Ring.writeResponseTarget 1.0 (System.Span ring)
            Expect.floatClose Accuracy.medium (Ring.decode (System.ReadOnlySpan ring)) 1.0 "direction"
    ]
