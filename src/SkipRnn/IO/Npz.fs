namespace SkipRnn.IO

open System
open System.IO
open System.IO.Compression
open System.Text

/// An n-dimensional array as NumPy stores it.
type NdArray =
    | Float32Array of shape: int[] * data: float32[]
    | Float64Array of shape: int[] * data: float[]
    | Int32Array of shape: int[] * data: int[]
    /// Fixed-width unicode strings (NumPy's '<U' dtype), so text opens without pickle.
    | TextArray of shape: int[] * data: string[]

    member a.Shape = match a with Float32Array (s, _) | Float64Array (s, _) | Int32Array (s, _) | TextArray (s, _) -> s
    member a.AsFloat32 =
        match a with
        | Float32Array (_, d) -> d
        | Float64Array (_, d) -> Array.map float32 d
        | Int32Array (_, d) -> Array.map float32 d
        | TextArray _ -> invalidOp "a text array has no numbers"
    member a.AsFloat64 =
        match a with
        | Float32Array (_, d) -> Array.map float d
        | Float64Array (_, d) -> d
        | Int32Array (_, d) -> Array.map float d
        | TextArray _ -> invalidOp "a text array has no numbers"
    member a.AsInt32 =
        match a with
        | Int32Array (_, d) -> d
        | _ -> invalidOp "not an integer array"

/// NumPy's .npy format (version 1.0, little-endian, C order) and .npz archives of them, so that every file
/// SkipRnn writes opens in Python with `numpy.load(path)`.
module Npy =

    let private textWidth (d: string[]) = d |> Array.fold (fun w s -> max w s.Length) 1

    let private descr (a: NdArray) =
        match a with
        | Float32Array _ -> "<f4"
        | Float64Array _ -> "<f8"
        | Int32Array _ -> "<i4"
        | TextArray (_, d) -> sprintf "<U%d" (textWidth d)

    let write (stream: Stream) (a: NdArray) =
        let shape =
            match a.Shape with
            | [||] -> "()"
            | [| n |] -> sprintf "(%d,)" n
            | s -> "(" + (s |> Array.map string |> String.concat ", ") + ")"
        let dict = sprintf "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" (descr a) shape
        // magic (6) + version (2) + header length (2) + header, padded with spaces to a multiple of 64, ending in \n
        let unpadded = 10 + dict.Length + 1
        let header = dict + String(' ', (64 - unpadded % 64) % 64) + "\n"
        use w = new BinaryWriter(stream, Encoding.ASCII, true)
        w.Write([| 0x93uy |]); w.Write(Encoding.ASCII.GetBytes "NUMPY"); w.Write([| 1uy; 0uy |])
        w.Write(uint16 header.Length)
        w.Write(Encoding.ASCII.GetBytes header)
        match a with
        | Float32Array (_, d) -> w.Write(Runtime.InteropServices.MemoryMarshal.AsBytes(ReadOnlySpan d))
        | Float64Array (_, d) -> w.Write(Runtime.InteropServices.MemoryMarshal.AsBytes(ReadOnlySpan d))
        | Int32Array (_, d) -> w.Write(Runtime.InteropServices.MemoryMarshal.AsBytes(ReadOnlySpan d))
        | TextArray (_, d) ->
            // UTF-32 code points, each string padded with zeros to the common width
            let width = textWidth d
            for text in d do
                let codes = text.EnumerateRunes() |> Seq.map (fun r -> r.Value) |> Array.ofSeq
                for i in 0 .. width - 1 do w.Write(if i < codes.Length then codes[i] else 0)

    let read (stream: Stream) : NdArray =
        use r = new BinaryReader(stream, Encoding.ASCII, true)
        let magic = r.ReadBytes 6
        if magic.Length < 6 || magic[0] <> 0x93uy || Encoding.ASCII.GetString(magic, 1, 5) <> "NUMPY" then
            failwith "not a .npy array"
        let major = r.ReadByte()
        r.ReadByte() |> ignore
        let headerLength = if major = 1uy then int (r.ReadUInt16()) else int (r.ReadUInt32())
        let header = Encoding.ASCII.GetString(r.ReadBytes headerLength)
        let field (name: string) =
            let i = header.IndexOf(sprintf "'%s':" name)
            if i < 0 then failwithf "the .npy header has no '%s'" name
            header.Substring(i + name.Length + 3).TrimStart()
        let descr = (field "descr").Split('\'')[1]
        if (field "fortran_order").StartsWith "True" then failwith "Fortran-ordered arrays are not supported"
        let shapeText = field "shape"
        let shape =
            shapeText.Substring(1, shapeText.IndexOf(')') - 1).Split(',', StringSplitOptions.RemoveEmptyEntries ||| StringSplitOptions.TrimEntries)
            |> Array.map int
        let count = shape |> Array.fold (*) 1
        let bytes (size: int) =
            let data = r.ReadBytes(count * size)
            if data.Length < count * size then failwithf "an array of shape (%s) is cut short" (shape |> Array.map string |> String.concat ", ")
            data
        match descr with
        | "<f4" -> Float32Array(shape, Runtime.InteropServices.MemoryMarshal.Cast<byte, float32>(ReadOnlySpan(bytes 4)).ToArray())
        | "<f8" -> Float64Array(shape, Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(ReadOnlySpan(bytes 8)).ToArray())
        | "<i4" -> Int32Array(shape, Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(ReadOnlySpan(bytes 4)).ToArray())
        | d when d.StartsWith "<U" ->
            let width = int (d.Substring 2)
            let codes = Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(ReadOnlySpan(bytes (4 * width))).ToArray()
            TextArray(shape, Array.init count (fun i ->
                let chars = codes[i * width .. (i + 1) * width - 1] |> Array.takeWhile ((<>) 0)
                String.Join("", chars |> Array.map (fun c -> Text.Rune(c).ToString()))))
        | "<i8" ->
            Int32Array(shape, Runtime.InteropServices.MemoryMarshal.Cast<byte, int64>(ReadOnlySpan(bytes 8)).ToArray() |> Array.map int)
        | other -> failwithf "unsupported dtype %s" other

module Npz =

    /// Writes the arrays to `path` as an .npz archive; the file appears only when complete and on the disk (see
    /// Files.writeThrough), so a killed process never leaves half an archive behind.
    let write (path: string) (arrays: (string * NdArray) seq) =
        Files.writeThrough path (fun file ->
            use zip = new ZipArchive(file, ZipArchiveMode.Create, true)
            for name, a in arrays do
                let entry = zip.CreateEntry(name + ".npy", CompressionLevel.Fastest)
                use s = entry.Open()
                Npy.write s a)

    /// The arrays of an .npz archive; a FileFailure naming `path` if it cannot be read, a DamagedFile if it is missing
    /// or not a whole archive.
    let read (path: string) : Map<string, NdArray> =
        try
            use zip = ZipFile.OpenRead path
            [ for entry in zip.Entries do
                if entry.Name.EndsWith ".npy" then
                    use s = entry.Open()
                    use buffered = new MemoryStream()
                    s.CopyTo buffered
                    buffered.Position <- 0L
                    yield entry.FullName.Substring(0, entry.FullName.Length - 4), Npy.read buffered ]
            |> Map.ofList
        with
        | :? FileFailure -> reraise ()
        | :? FileNotFoundException | :? DirectoryNotFoundException -> raise (DamagedFile(sprintf "cannot read %s (it does not exist)" path))
        | :? EndOfStreamException as e -> raise (DamagedFile(Files.describe "read" path e + ": the file is damaged or not an .npz archive"))
        | :? IOException | :? UnauthorizedAccessException as e -> raise (FileFailure(Files.describe "read" path e))
        | e -> raise (DamagedFile(Files.describe "read" path e + ": the file is damaged or not an .npz archive"))
