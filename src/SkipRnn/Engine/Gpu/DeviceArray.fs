namespace SkipRnn.Engine.Gpu

open System
open ILGPU
open ILGPU.Runtime

#nowarn "9"

/// A device buffer that grows to the largest size asked of it (never inside the time loop) and hands out
/// views of its parts.
[<Sealed; AllowNullLiteral>]
type DeviceArray<'T when 'T: unmanaged and 'T: struct and 'T: (new: unit -> 'T) and 'T :> ValueType>(accelerator: Accelerator) =
    let mutable buffer: MemoryBuffer1D<'T, Stride1D.Dense> = null

    member _.Length = if isNull buffer then 0L else buffer.Length

    /// Room for `length` elements; the contents are lost when the buffer grows.
    member _.Ensure(length: int64) =
        if isNull buffer || buffer.Length < length then
            if not (isNull buffer) then buffer.Dispose()
            buffer <- accelerator.Allocate1D<'T>(max length 1L)

    /// Room for `length` elements, keeping the current contents.
    member _.Grow(length: int64) =
        if isNull buffer || buffer.Length < length then
            let fresh = accelerator.Allocate1D<'T>(max length 1L)
            if not (isNull buffer) then
                let old = buffer.View
                fresh.View.SubView(0L, buffer.Length).CopyFrom(&old)
                buffer.Dispose()
            buffer <- fresh

    member _.View: ArrayView<'T> = buffer.AsContiguous()
    member _.Slice(offset: int64, length: int64) : ArrayView<'T> = buffer.AsContiguous().SubView(offset, length)
    member this.Clear(length: int64) = if length > 0L then DeviceArray<'T>.Zero(this.Slice(0L, length))
    static member Zero(view: ArrayView<'T>) = ArrayViewExtensions.MemSetToZero(view)

    // Copies between a managed array and the device are made synchronous on both sides: kernels run
    // asynchronously, so a download must wait for the kernels before it, and an upload must be complete before
    // the caller may change the array it came from. The array is pinned for the copy: ILGPU copies from or to
    // the raw address of its first element (its documentation asks for "the pinned CPU buffer"), in native code
    // during which the collector may run on another thread and move an unpinned array. Unpinned, a download
    // now and then landed in the array's old place and left zeros in the new one.
    member this.Upload(source: 'T[], offset: int, count: int, at: int64) =
        if count > 0 then
            use _ = fixed source
            this.Slice(at, int64 count).CopyFromCPU(&source.[offset], int64 count)
            accelerator.Synchronize()
    member this.Upload(source: 'T[]) = this.Upload(source, 0, source.Length, 0L)
    member this.Download(at: int64, target: 'T[], offset: int, count: int) =
        if count > 0 then
            accelerator.Synchronize()
            use _ = fixed target
            this.Slice(at, int64 count).CopyToCPU(&target.[offset], int64 count)
            accelerator.Synchronize()

    interface IDisposable with
        member _.Dispose() = if not (isNull buffer) then buffer.Dispose()
