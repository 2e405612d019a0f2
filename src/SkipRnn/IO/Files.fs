namespace SkipRnn.IO

open System.IO

module Files =

    /// Writes text so that readers see either the old file or the whole new one, never a part.
    let writeAtomically (path: string) (text: string) =
        let temporary = path + ".partial"
        File.WriteAllText(temporary, text)
        File.Move(temporary, path, true)

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
