/// The suite's own guard (TestGuard): a test that hangs fails by its time limit, named, and the journal says
/// which tests started and how each ended.
module SkipRnn.Tests.GuardTests

open System
open System.IO
open System.Threading
open Expecto
open Expecto.Impl

/// Runs `tests` through the guard, quietly, one after another; their results by full name and the journal's lines.
let private runGuarded (tests: Test) =
    let journal = Path.Combine(Path.GetTempPath(), "guard-journal-" + string (Guid.NewGuid()))
    try
        let results = evalTestsSilent (TestGuard.guard (Some journal) tests) |> Async.RunSynchronously
        let byName = results |> List.map (fun (t, s) -> t.fullName ".", s.result) |> Map.ofList
        byName, (if File.Exists journal then File.ReadAllLines journal else [||])
    finally
        File.Delete journal

[<Tests>]
let guardTests =
    testList "test guard" [
        testCase "a test that blocks fails by its own time limit, naming itself, and the run goes on" <| fun () ->
            use gate = new ManualResetEventSlim(false)
            let clock = Diagnostics.Stopwatch.StartNew()
            let results, journal =
                try
                    runGuarded (
                        testList "guarded" [
                            TestGuard.within (TimeSpan.FromSeconds 1.0) (testCase "blocks" (fun () -> gate.Wait()))
                            testCase "after it" ignore ])
                finally gate.Set()
            Expect.isLessThan clock.Elapsed.TotalSeconds 30.0 "the limit of 1 s stopped the wait, not the gate"
            match results["guarded.blocks"] with
            | Failed message ->
                Expect.stringContains message "guarded.blocks" "names itself"
                Expect.stringContains message "did not finish within 1 s" "says why"
            | other -> failtestf "the blocking test ended %O" other
            Expect.equal results["guarded.after it"] Passed "the next test runs"
            Expect.contains journal "start\tguarded.blocks" "its start is journaled"
            Expect.contains journal "end\tguarded.blocks\tfailed" "and its end, failed"

        testCase "the journal holds each test's start and outcome" <| fun () ->
            let results, journal =
                runGuarded (
                    testList "j" [
                        testCase "passes" ignore
                        testCase "fails" (fun () -> failtest "as it should")
                        testCase "skips" (fun () -> skiptest "on purpose")
                        testCaseAsync "async" (async { do! Async.Sleep 10 }) ])
            Expect.equal results.Count 4 "four results"
            Expect.sequenceEqual
                (journal |> Array.filter (fun l -> l.StartsWith "end") |> Array.sort)
                [| "end\tj.async\tpassed"; "end\tj.fails\tfailed"; "end\tj.passes\tpassed"; "end\tj.skips\tignored" |]
                "every outcome"
            Expect.equal (journal |> Array.filter (fun l -> l.StartsWith "start") |> Array.length) 4 "every start"
            match results["j.skips"] with
            | Ignored _ -> ()
            | other -> failtestf "a skipped test ended %O" other

        // The guard's proof on the real runner: SKIPRNN_TEST_DEMONSTRATE_HANG=1 SKIPRNN_TEST_LIMIT_S=5 makes this
        // test block for ever; it then fails by the limit, with its name, and the rest of the suite runs.
        testCase "blocks for ever when asked to (SKIPRNN_TEST_DEMONSTRATE_HANG=1)" <| fun () ->
            if Environment.GetEnvironmentVariable "SKIPRNN_TEST_DEMONSTRATE_HANG" <> "1" then
                skiptest "a deliberate hang, run only with SKIPRNN_TEST_DEMONSTRATE_HANG=1 to watch the time limit fail it"
            Thread.Sleep Timeout.Infinite
    ]
