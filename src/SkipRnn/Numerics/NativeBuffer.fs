namespace SkipRnn.Numerics

open System
open System.Runtime.InteropServices
open Microsoft.FSharp.NativeInterop

#nowarn "9"

/// A zero-initialised, 64-byte-aligned block of float32 outside the managed heap, so that the time loop
/// can use aligned vector loads on raw pointers and the garbage collector never moves or scans it.
[<Sealed; AllowNullLiteral>]
type NativeBuffer(length: int) =
    let bytes = unativeint (max length 1) * 4un
    let mutable ptr = NativePtr.ofVoidPtr<float32> (NativeMemory.AlignedAlloc(bytes, 64un))
    do NativeMemory.Clear(NativePtr.toVoidPtr ptr, bytes)

    member _.Length = length
    member _.Ptr = ptr
    member _.Span = Span<float32>(NativePtr.toVoidPtr ptr, length)
    member _.Item
        with get (i: int) = NativePtr.get ptr i
        and set (i: int) (v: float32) = NativePtr.set ptr i v
    member _.Clear() = NativeMemory.Clear(NativePtr.toVoidPtr ptr, bytes)
    member this.ToArray() = this.Span.ToArray()

    interface IDisposable with
        member _.Dispose() =
            if not (NativePtr.isNullPtr ptr) then
                NativeMemory.AlignedFree(NativePtr.toVoidPtr ptr)
                ptr <- NativePtr.nullPtr
