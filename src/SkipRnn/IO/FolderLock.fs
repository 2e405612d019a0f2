namespace SkipRnn.IO

open System
open System.IO

/// One writer per folder: an exclusive lock on `.lock` inside it, held while the writer runs and released by the
/// operating system if the writer dies, with `.lock.owner` naming the holder for whoever is refused.
[<Sealed>]
type FolderLock private (stream: FileStream, ownerFile: string) =

    /// Whether opening failed because another process holds the file: the lock's EWOULDBLOCK on Linux (11) and macOS
    /// (35), a sharing or lock violation on Windows (32, 33).
    static member private HeldElsewhere(e: IOException) =
        match e.HResult &&& 0xFFFF with
        | 11 | 35 | 32 | 33 -> true
        | _ -> false

    /// Takes the lock of `folder` for `what` (a command, for the message of whoever comes next), or says who holds it;
    /// a FileFailure if the lock cannot be taken for another reason (a full disk, a missing permission). The lock
    /// file stays in the folder: deleting it on release would let a late opener lock a file no one else sees.
    static member TryAcquire(folder: string, what: string) : Result<FolderLock, string> =
        let lockFile = Path.Combine(folder, ".lock")
        let ownerFile = Path.Combine(folder, ".lock.owner")
        let opened =
            try Ok(new FileStream(lockFile, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1))
            with
            | :? IOException as e when FolderLock.HeldElsewhere e ->
                let holder =
                    try (File.ReadAllText ownerFile).Trim()
                    with _ -> "another process"
                Error(sprintf "%s is in use by %s; wait for it to finish or stop it" folder holder)
            | :? IOException | :? UnauthorizedAccessException as e -> raise (FileFailure(Files.describe "lock" lockFile e))
        match opened with
        | Error message -> Error message
        | Ok stream ->
            try
                let owner =
                    sprintf "process %d on %s, since %s: %s" Environment.ProcessId Environment.MachineName
                        (DateTime.Now.ToString("yyyy-MM-dd HH:mm:ss")) what
                File.WriteAllText(ownerFile, owner)
                Ok(new FolderLock(stream, ownerFile))
            with e ->
                stream.Dispose()
                match e with
                | :? IOException | :? UnauthorizedAccessException -> raise (FileFailure(Files.describe "write" ownerFile e))
                | _ -> reraise ()

    interface IDisposable with
        member _.Dispose() =
            try File.Delete ownerFile with _ -> ()
            stream.Dispose()
