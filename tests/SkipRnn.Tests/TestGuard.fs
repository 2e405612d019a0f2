/// Every test runs under a time limit, so that a hang fails one named test instead of stopping the whole run;
/// and each test's start and end go to a journal, so that a runner stopped from outside (.ci/run's own limit)
/// can say which tests were still running.
module SkipRnn.Tests.TestGuard

open System
open System.Collections.Generic
open System.IO
open System.Runtime.ExceptionServices
open System.Threading.Tasks
open Expecto

/// A test's limit when it sets none: about ten times the slowest test's time on a quiet 2-core machine, so the
/// suite survives both cores loaded by other work. SKIPRNN_TEST_LIMIT_S overrides it (a slower machine; or a
/// few seconds, to watch a hang fail by its limit).
let defaultLimit =
    match Double.TryParse(Environment.GetEnvironmentVariable "SKIPRNN_TEST_LIMIT_S", Globalization.CultureInfo.InvariantCulture) with
    | true, seconds when seconds > 0.0 -> TimeSpan.FromSeconds seconds
    | _ -> TimeSpan.FromMinutes 10.0

let private journalLock = obj ()

let private write (journal: string option) (line: string) =
    match journal with
    | Some path -> lock journalLock (fun () -> File.AppendAllText(path, line + "\n"))
    | None -> ()

/// The limits that tests set for themselves, by test code (reference identity).
let private ownLimits = Dictionary<TestCode, TimeSpan>(HashIdentity.Reference)

/// The test failed by its limit: raised where the test's code would have returned.
let private timedOut (name: string) (limit: TimeSpan) =
    AssertException(sprintf "%s: did not finish within %.0f s, stopped by its time limit (a hang or a far too slow run)"
                            name limit.TotalSeconds)

// Not Async.StartChild with a timeout (nor Expecto's Test.timeout, built on it): measured here, its timeout is
// raised only once a blocking child returns, so it cannot stop a hang.
let private bounded (name: string) (limit: TimeSpan) (work: Async<unit>) =
    async {
        let! ct = Async.CancellationToken
        let task = Async.StartAsTask(work, cancellationToken = ct)
        let! first = Async.AwaitTask(Task.WhenAny(task, Task.Delay limit))
        if not (obj.ReferenceEquals(first, task)) then raise (timedOut name limit)
        elif task.IsFaulted then ExceptionDispatchInfo.Capture(task.Exception.InnerException).Throw()
        elif task.IsCanceled then raise (OperationCanceledException ct)
    }

let private asAsync (code: TestCode) (wrap: Async<unit> -> Async<unit>) =
    match code with
    | Sync f -> Async(wrap (async { f () }))
    | SyncWithCancel f ->
        Async(async {
            let! ct = Async.CancellationToken
            return! wrap (async { f ct }) })
    | Async a -> Async(wrap a)
    | AsyncFsCheck (config, stress, f) -> AsyncFsCheck(config, stress, f >> wrap)

/// The test code, bounded by `limit`. The test's own thread cannot be stopped: it goes on in the background
/// while the run moves to the next test.
let private limited (name: string) (limit: TimeSpan) (code: TestCode) = asAsync code (bounded name limit)

let private journaled (journal: string option) (name: string) (code: TestCode) =
    let around (work: Async<unit>) =
        async {
            write journal ("start\t" + name)
            try
                do! work
                write journal ("end\t" + name + "\tpassed")
            with e ->
                write journal ("end\t" + name + "\t" + (match e with :? IgnoreException -> "ignored" | _ -> "failed"))
                // Rethrown with its own stack trace: the failing Expect line, not this one.
                ExceptionDispatchInfo.Capture(e).Throw()
        }
    asAsync code around

let rec private mapCodes (f: string -> TestCode -> TestCode) (path: string list) (test: Test) =
    let name () = String.concat "." (List.rev path)
    match test with
    | TestCase (code, state) -> TestCase(f (name ()) code, state)
    | TestList (tests, state) -> TestList(List.map (mapCodes f path) tests, state)
    | TestLabel (label, inner, state) -> TestLabel(label, mapCodes f (label :: path) inner, state)
    | Test.Sequenced (how, inner) -> Test.Sequenced(how, mapCodes f path inner)

/// Gives every test in `test` the limit `within` instead of the default (for a test whose own waits add up to
/// more than the default).
let within (within: TimeSpan) (test: Test) =
    mapCodes (fun _ code ->
        lock ownLimits (fun () -> ownLimits[code] <- within)
        code) [] test

/// Every test of `suite` bounded (by its own limit or the default) and, where `journal` names a file, journaled
/// there: "start<TAB>name" and "end<TAB>name<TAB>passed|failed|ignored" lines. Names are Expecto's full names,
/// the labels joined by ".".
let guard (journal: string option) (suite: Test) =
    mapCodes (fun name code ->
        let limit =
            lock ownLimits (fun () ->
                match ownLimits.TryGetValue code with
                | true, own -> own
                | _ -> defaultLimit)
        journaled journal name (limited name limit code)) [] suite

/// The suite as Main runs it: journaled to SKIPRNN_TEST_JOURNAL when that is set (.ci/run sets it).
let everyTest (suite: Test) =
    let journal =
        match Environment.GetEnvironmentVariable "SKIPRNN_TEST_JOURNAL" with
        | null | "" -> None
        | path -> Some path
    guard journal suite
