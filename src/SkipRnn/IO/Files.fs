namespace SkipRnn.IO

open System
open System.IO

/// A file that could not be read or written, named, with the system's reason and what to do: the environment's
/// fault (a full disk, a missing permission), not the command's. An IOException, so that C# callers catch it as one;
/// the CLI prints its message as one line and exits with code 3.
type FileFailure(message: string) =
    inherit IOException(message)

/// A file that was read but is not what it should be (cut short, not an archive, missing in a finished folder): its
/// content is at fault, not the disk, so a folder holding it can be set aside; reading it again would not help.
type DamagedFile(message: string) =
    inherit FileFailure(message)

module Files =

    let private isDiskFull (e: exn) =
        // ENOSPC (28) or EDQUOT (122), as .NET reports them on Linux, or the Windows codes for a full disk.
        let code = e.HResult &&& 0xFFFF
        code = 28 || code = 122 || code = 0x70 || code = 0x27 || e.Message.Contains "No space left"

    /// The one line saying why `verb path` failed: the system's reason and, for a full disk, what to do.
    let describe (verb: string) (path: string) (e: exn) =
        // .NET appends " : '<path>'" to the system's reason; the sentence names the file already.
        let reason = Text.RegularExpressions.Regex.Replace(e.Message.Split('\n')[0], @" : '[^']*'$", "").TrimEnd('.', ' ')
        let hint = if isDiskFull e then "; free some space or choose another folder" else ""
        sprintf "cannot %s %s (%s)%s" verb path reason hint

    /// Runs `work` and turns an I/O failure into a FileFailure naming `path`.
    let guard (verb: string) (path: string) (work: unit -> 'T) : 'T =
        try work ()
        with
        | :? FileFailure -> reraise ()
        | :? IOException | :? UnauthorizedAccessException as e -> raise (FileFailure(describe verb path e))

    /// Writes a file so that readers see either the old file or the whole new one, never a part: `write` fills a
    /// temporary file, which is flushed to the disk (fsync) before it is renamed into place, so that a crash of the
    /// machine cannot leave an empty file under the final name. On failure the temporary file is removed and a
    /// FileFailure names `path`.
    let writeThrough (path: string) (write: Stream -> unit) =
        let temporary = path + ".partial"
        try
            do
                use file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None)
                write file
                file.Flush true
            File.Move(temporary, path, true)
        with
        | :? IOException | :? UnauthorizedAccessException as e ->
            (try File.Delete temporary with _ -> ())
            raise (FileFailure(describe "write" path e))

    /// Writes text atomically (see writeThrough).
    let writeAtomically (path: string) (text: string) =
        writeThrough path (fun stream ->
            use writer = new StreamWriter(stream, Text.UTF8Encoding(false), 65536, true)
            writer.Write text)

    /// Creates the folder if needed and checks that files can be written in it; an error message if not.
    let ensureWritableFolder (folder: string) =
        try
            Directory.CreateDirectory folder |> ignore
            let probe = Path.Combine(folder, ".skiprnn-write-test")
            File.WriteAllText(probe, "")
            File.Delete probe
            Ok(Path.GetFullPath folder)
        with e ->
            Error(sprintf "cannot write to the output folder %s (%s)" folder (e.Message.TrimEnd('.')))

    /// Moves a file or folder that cannot be used out of the way, beside itself or into `into`, under its name with
    /// the time appended (nothing is deleted); the new path.
    let setAside (path: string) (into: string option) =
        let stamp = DateTime.UtcNow.ToString "yyyyMMdd-HHmmss"
        let folder = defaultArg into (Path.GetDirectoryName(Path.TrimEndingDirectorySeparator path))
        Directory.CreateDirectory folder |> ignore
        let name = Path.GetFileName(Path.TrimEndingDirectorySeparator path)
        let rec free (n: int) =
            let candidate = Path.Combine(folder, sprintf "%s.set-aside-%s%s" name stamp (if n = 0 then "" else sprintf "-%d" n))
            if File.Exists candidate || Directory.Exists candidate then free (n + 1) else candidate
        let target = free 0
        guard "move" path (fun () ->
            if Directory.Exists path then Directory.Move(path, target) else File.Move(path, target))
        target
