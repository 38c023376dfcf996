/// The memory behind a ``Tensor``: one 64-byte-aligned allocation of scalars.
///
/// A tensor value refers to its storage; values that were copied share it until
/// one of them is mutated (copy-on-write). The storage is the only owner of the
/// memory and frees it when the last tensor referring to it goes away.
///
/// 64-byte alignment puts every buffer on a cache-line (and AVX-512 vector)
/// boundary, which is what OpenBLAS's kernels and vectorised loops like best.
///
/// `@unchecked Sendable` is sound for the same reason it is for `Array`'s
/// buffer: a storage object is written only through a tensor that holds the
/// sole reference to it (``Tensor`` checks uniqueness before every write), so
/// storage that two threads can see is never written.
@usableFromInline
final class TensorStorage<Scalar: BLASScalar>: @unchecked Sendable {
    /// The alignment, in bytes, of every tensor buffer.
    @usableFromInline
    static var alignment: Int { 64 }

    /// The first scalar.
    @usableFromInline
    let base: UnsafeMutablePointer<Scalar>

    /// The number of scalars.
    @usableFromInline
    let count: Int

    /// Allocates room for `count` scalars, leaving them uninitialised.
    ///
    /// `count` must already be validated (``Tensor/validatedCount(of:)``): the
    /// byte count cannot overflow. `Float` and `Double` are trivial types, so
    /// uninitialised memory is valid to overwrite and to free.
    @usableFromInline
    init(uninitializedCount count: Int) {
        let capacity = Swift.max(count, 1)
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: capacity * MemoryLayout<Scalar>.stride,
            alignment: Self.alignment)
        self.base = raw.bindMemory(to: Scalar.self, capacity: capacity)
        self.count = count
    }

    /// A new storage holding the same scalars.
    @usableFromInline
    func copy() -> TensorStorage {
        let clone = TensorStorage(uninitializedCount: count)
        clone.base.update(from: base, count: count)
        return clone
    }

    deinit {
        UnsafeMutableRawPointer(base).deallocate()
    }
}
