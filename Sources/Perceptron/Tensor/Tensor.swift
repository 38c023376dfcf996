/// A dense, row-major array of scalars of any rank, with value semantics.
///
/// A tensor is a shape and a buffer of `count` scalars laid out row-major (the
/// last index varies fastest), with no gaps. Copies share the buffer until one
/// of them is mutated, like `Array`: copying a tensor is cheap, and mutating a
/// copy never changes the original.
///
/// ```swift
/// var x = try Tensor<Float>([[1, 2, 3],
///                            [4, 5, 6]])   // shape [2, 3]
/// x[1, 2] = 60
/// print(x.shape, x.scalars)                // [2, 3] [1.0, 2.0, 3.0, 4.0, 5.0, 60.0]
/// ```
///
/// The buffer is 64-byte aligned and handed to OpenBLAS directly; raw access is
/// available only inside ``withUnsafeBufferPointer(_:)`` and
/// ``withUnsafeMutableBufferPointer(_:)``.
public struct Tensor<Scalar: BLASScalar>: Sendable {
    @usableFromInline
    internal var storage: TensorStorage<Scalar>

    /// The size of each dimension, outermost first. Rank 0 (`[]`) is a scalar.
    public private(set) var shape: [Int]

    /// The number of scalars: the product of ``shape`` (1 for rank 0).
    @inlinable
    public var count: Int { storage.count }

    /// The number of dimensions.
    @inlinable
    public var rank: Int { shape.count }

    /// A tensor over existing storage; the shape must match its count.
    @usableFromInline
    internal init(storage: TensorStorage<Scalar>, shape: [Int]) {
        self.storage = storage
        self.shape = shape
        checkInvariants()
    }

    /// A tensor of `shape` whose scalars are not yet written. Internal: every
    /// caller overwrites all of them before the tensor is seen.
    @usableFromInline
    internal init(uninitializedShape shape: [Int]) throws(PerceptronError) {
        let count = try Self.validatedCount(of: shape)
        self.init(storage: TensorStorage(uninitializedCount: count), shape: shape)
    }

    /// Creates a tensor of `shape` with every scalar set to `value`.
    ///
    /// A negative dimension, or a shape too large to address, is a programming
    /// error and traps (as `Array(repeating:count:)` does); use
    /// ``init(shape:scalars:)`` or ``init(validatingShape:repeating:)`` to get
    /// a thrown error instead.
    public init(shape: [Int], repeating value: Scalar = 0) {
        do {
            try self.init(validatingShape: shape, repeating: value)
        } catch {
            fatalError("Tensor(shape:repeating:): \(error)")
        }
    }

    /// Creates a tensor of `shape` with every scalar set to `value`, throwing
    /// if a dimension is negative or the shape is too large to address.
    public init(validatingShape shape: [Int], repeating value: Scalar = 0) throws(PerceptronError) {
        try self.init(uninitializedShape: shape)
        let count = self.count
        withUnsafeMutableScalars { $0.initialize(repeating: value, count: count) }
    }

    /// Creates a tensor of `shape` from its scalars in row-major order.
    ///
    /// - Throws: ``PerceptronError/scalarCountMismatch(shape:expected:actual:)``
    ///   when `scalars.count` is not the product of `shape`, or a shape error.
    public init(shape: [Int], scalars: [Scalar]) throws(PerceptronError) {
        let expected = try Self.validatedCount(of: shape)
        guard scalars.count == expected else {
            throw .scalarCountMismatch(shape: shape, expected: expected, actual: scalars.count)
        }
        self.init(storage: TensorStorage(uninitializedCount: expected), shape: shape)
        withUnsafeMutableScalars { destination in
            scalars.withUnsafeBufferPointer { source in
                if let start = source.baseAddress {
                    destination.initialize(from: start, count: expected)
                }
            }
        }
    }

    /// Creates a matrix (rank 2) from its rows.
    ///
    /// `[]` gives shape `[0, 0]`; `[[]]` gives shape `[1, 0]`.
    ///
    /// - Throws: ``PerceptronError/raggedRows(row:expected:actual:)`` when the
    ///   rows are not all of one length.
    public init(_ rows: [[Scalar]]) throws(PerceptronError) {
        let columns = rows.first?.count ?? 0
        for (index, row) in rows.enumerated() where row.count != columns {
            throw .raggedRows(row: index, expected: columns, actual: row.count)
        }
        try self.init(uninitializedShape: [rows.count, columns])
        withUnsafeMutableScalars { start in
            var destination = start
            for row in rows {
                row.withUnsafeBufferPointer { source in
                    if let first = source.baseAddress {
                        destination.initialize(from: first, count: columns)
                    }
                }
                destination += columns
            }
        }
    }

    /// Creates a tensor of `shape` with scalars drawn uniformly from `range`.
    ///
    /// Pass a ``SeededRandomNumberGenerator`` for reproducible values.
    /// A negative dimension traps, as in ``init(shape:repeating:)``.
    public init<G: RandomNumberGenerator>(
        shape: [Int], randomIn range: ClosedRange<Scalar>, using generator: inout G
    ) {
        self.init(shape: shape)
        let count = self.count
        withUnsafeMutableScalars { scalars in
            for i in 0..<count {
                scalars[i] = Scalar.random(in: range, using: &generator)
            }
        }
    }

    /// The scalars in row-major order, as a new array.
    public var scalars: [Scalar] {
        withUnsafeBufferPointer { Array($0) }
    }

    /// Returns the same scalars viewed with another shape of equal count,
    /// sharing storage (no copy).
    ///
    /// - Throws: ``PerceptronError/scalarCountMismatch(shape:expected:actual:)``
    ///   when the new shape does not hold exactly ``count`` scalars.
    public func reshaped(to newShape: [Int]) throws(PerceptronError) -> Tensor {
        let newCount = try Self.validatedCount(of: newShape)
        guard newCount == count else {
            throw .scalarCountMismatch(shape: newShape, expected: newCount, actual: count)
        }
        return Tensor(storage: storage, shape: newShape)
    }

    /// Calls `body` with the scalars in row-major order; the pointer is valid
    /// only inside `body`.
    @inlinable
    public func withUnsafeBufferPointer<R>(
        _ body: (UnsafeBufferPointer<Scalar>) throws -> R
    ) rethrows -> R {
        try withExtendedLifetime(storage) {
            try body(UnsafeBufferPointer(start: storage.base, count: count))
        }
    }

    /// Calls `body` with the scalars in row-major order for reading and
    /// writing, copying them first if the buffer is shared with another tensor.
    ///
    /// `body` may change the scalars but not replace the buffer: doing so
    /// traps, as it does for `Array`.
    @inlinable
    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (inout UnsafeMutableBufferPointer<Scalar>) throws -> R
    ) rethrows -> R {
        makeUnique()
        let original = UnsafeMutableBufferPointer(start: storage.base, count: count)
        var buffer = original
        defer {
            if buffer.baseAddress != original.baseAddress || buffer.count != original.count {
                fatalError("Tensor.withUnsafeMutableBufferPointer: the buffer must not be replaced")
            }
        }
        return try withExtendedLifetime(storage) { try body(&buffer) }
    }

    /// Accesses the scalar at a multi-dimensional index, one index per axis.
    ///
    /// An index count other than ``rank``, or an index out of its dimension's
    /// range, traps with a message naming both, as `Array` does.
    public subscript(_ indices: Int...) -> Scalar {
        get { storage.base[offset(of: indices)] }
        set {
            let position = offset(of: indices)
            makeUnique()
            storage.base[position] = newValue
        }
    }

    /// The row-major position of `indices`, or a trap naming what is wrong.
    @usableFromInline
    internal func offset(of indices: [Int]) -> Int {
        guard indices.count == shape.count else {
            fatalError("Tensor subscript: a tensor of shape \(shape) takes \(shape.count) indices, got \(indices.count)")
        }
        var position = 0
        for (axis, index) in indices.enumerated() {
            guard index >= 0 && index < shape[axis] else {
                fatalError("Tensor subscript: index \(index) is out of range 0..<\(shape[axis]) for axis \(axis) of shape \(shape)")
            }
            position = position * shape[axis] + index
        }
        return position
    }
}

// MARK: - Copy on write

extension Tensor {
    /// Whether this tensor holds the only reference to its buffer, so that
    /// writing to it cannot be seen through any other tensor.
    @inlinable @inline(__always)
    internal mutating func isUniquelyReferenced() -> Bool {
        isKnownUniquelyReferenced(&storage)
    }

    /// Ensures the buffer is not shared, copying it if it is.
    @inlinable @inline(__always)
    internal mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) {
            makeUniqueSlowPath()
        }
    }

    /// The rare case, kept out of line so the check above stays small enough to inline.
    @usableFromInline @inline(never)
    internal mutating func makeUniqueSlowPath() {
        storage = storage.copy()
    }

    /// Calls `body` with the first scalar, for reading; the pointer is valid only inside `body`.
    ///
    /// The library's own loops and products read tensors only through this.
    @inlinable
    internal func withUnsafeScalars<R, E: Error>(_ body: (UnsafePointer<Scalar>) throws(E) -> R) throws(E) -> R {
        let storage = self.storage
        defer { withExtendedLifetime(storage) {} }
        return try body(UnsafePointer(storage.base))
    }

    /// Calls `body` with the first scalar of `tensor`, for reading, or with
    /// `nil` when there is no tensor (a layer's optional bias, say).
    @inlinable
    internal static func withUnsafeScalars<R, E: Error>(
        of tensor: Tensor?, _ body: (UnsafePointer<Scalar>?) throws(E) -> R
    ) throws(E) -> R {
        guard let tensor else { return try body(nil) }
        return try tensor.withUnsafeScalars { (scalars) throws(E) in try body(scalars) }
    }

    /// Calls `body` with the first scalar, for writing, after making the
    /// buffer unique (copying it if another tensor shares it), so that the
    /// write cannot be seen through any other tensor. The pointer is valid
    /// only inside `body`.
    ///
    /// The library's own loops and products write tensors only through this:
    /// the uniqueness check is part of the access, not a step a caller can forget.
    @inlinable
    internal mutating func withUnsafeMutableScalars<R, E: Error>(
        _ body: (UnsafeMutablePointer<Scalar>) throws(E) -> R
    ) throws(E) -> R {
        makeUnique()
        checkInvariants()
        let storage = self.storage
        defer { withExtendedLifetime(storage) {} }
        return try body(storage.base)
    }

    /// Debug-build check that shape and storage agree. Plain loops: generic
    /// algorithms would allocate in an unoptimised build, on the hot path.
    @inlinable @inline(__always)
    internal func checkInvariants() {
        #if DEBUG
        var product = 1
        for axis in 0..<shape.count {
            assert(shape[axis] >= 0, "Tensor invariant: negative dimension in \(shape)")
            product &*= shape[axis]
        }
        assert(product == storage.count, "Tensor invariant: shape \(shape) does not match \(storage.count) scalars")
        #endif
    }

    /// The product of all dimensions but the last: the number of rows when the
    /// tensor is viewed as a matrix with the last dimension as columns.
    @inlinable
    internal var leadingCount: Int {
        var product = 1
        for axis in 0..<(shape.count - 1) { product &*= shape[axis] }
        return product
    }
}

// MARK: - Shape validation

extension Tensor {
    /// The number of scalars of `shape`, or a thrown error when a dimension is
    /// negative or the shape's bytes would not fit in `Int`.
    ///
    /// Zero-sized shapes are valid; their nonzero dimensions must still have a
    /// product that fits, so that every partial product (a batch size, say) fits too.
    @inlinable
    public static func validatedCount(of shape: [Int]) throws(PerceptronError) -> Int {
        var nonzeroProduct = MemoryLayout<Scalar>.stride
        var hasZero = false
        for (axis, dimension) in shape.enumerated() {
            guard dimension >= 0 else { throw .negativeDimension(shape: shape, axis: axis) }
            if dimension == 0 {
                hasZero = true
                continue
            }
            let (product, overflow) = nonzeroProduct.multipliedReportingOverflow(by: dimension)
            guard !overflow else { throw .shapeOverflow(shape: shape) }
            nonzeroProduct = product
        }
        return hasZero ? 0 : nonzeroProduct / MemoryLayout<Scalar>.stride
    }
}
