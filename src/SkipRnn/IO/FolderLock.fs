namespace SkipRnn.IO

open System
open System.IO

/// One writer per folder: an exclusive lock on `.lock` inside it, held while the writer runs and released by the
/// operating system if the writer dies, with `.lock.owner` naming the holder for whoever is refused.
[<Sealed>]
type FolderLock private (stream: FileStream, ownerFile: string) =

    /// Takes the lock of `folder` for `what` (a command, for the message of whoever comes next), or says who holds it.
    static member TryAcquire(folder: string, what: string) : Result<FolderLock, string> =
        let lockFile = Path.Combine(folder, ".lock")
        let ownerFile = Path.Combine(folder, ".lock.owner")
        try
            let stream = new FileStream(lockFile, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose)
            let owner =
                sprintf "process %d on %s, since %s: %s" Environment.ProcessId Environment.MachineName
                    (DateTime.Now.ToString("yyyy-MM-dd HH:mm:ss")) what
            File.WriteAllText(ownerFile, owner)
            Ok(new FolderLock(stream, ownerFile))
        with :? IOException ->
            let holder =
                try (File.ReadAllText ownerFile).Trim()
                with _ -> "another process"
            Error(sprintf "%s is in use by %s; wait for it to finish or stop it" folder holder)

    interface IDisposable with
        member _.Dispose() =
            try File.Delete ownerFile with _ -> ()
            stream.Dispose()
