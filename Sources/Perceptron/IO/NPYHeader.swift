/// The dictionary at the start of a `.npy` file: the array's dtype, memory
/// order and shape.
///
/// This type knows the dictionary's meaning, not its bytes on disk: parsing
/// the literal is ``PythonLiteralParser``'s job, and the magic string,
/// version and padding around it are ``NPYFraming``'s.
struct NPYHeader: Equatable {
    /// The dtype descriptor, such as `'<f4'` (little-endian float32).
    var descr: String
    /// Whether the data is in column-major (Fortran) order.
    var fortranOrder: Bool
    /// The dimensions, outermost first; each is ≥ 0 once parsed.
    var shape: [Int]

    /// The three keys every header has, no more and no fewer (as numpy requires).
    static let keys = ["descr", "fortran_order", "shape"]

    /// A header with the given fields.
    init(descr: String, fortranOrder: Bool, shape: [Int]) {
        self.descr = descr
        self.fortranOrder = fortranOrder
        self.shape = shape
    }

    /// Parses the header text: exactly the keys `'descr'` (a string),
    /// `'fortran_order'` (`True` or `False`) and `'shape'` (a tuple of
    /// non-negative integers), each once, in any order.
    init(parsing text: [UInt8], encoding: HeaderTextEncoding) throws(NPYFormatError) {
        let entries = try PythonLiteralParser.parseDictionary(text, encoding: encoding)
        let values = try Self.uniqueEntries(entries)
        guard case let .string(descr)? = values["descr"] else {
            throw Self.wrongType("descr", "a dtype string such as '<f4'", values["descr"])
        }
        guard case let .bool(fortranOrder)? = values["fortran_order"] else {
            throw Self.wrongType("fortran_order", "True or False", values["fortran_order"])
        }
        guard case let .integerTuple(shape)? = values["shape"] else {
            throw Self.wrongType("shape", "a tuple of integers", values["shape"])
        }
        if let axis = shape.firstIndex(where: { $0 < 0 }) {
            throw NPYFormatError(
                reason: "'shape' \(PythonLiteral.tupleRepr(shape)) has a negative dimension \(shape[axis]) "
                    + "at axis \(axis); dimensions must be ≥ 0")
        }
        self.init(descr: descr, fortranOrder: fortranOrder, shape: shape)
    }

    /// The dictionary exactly as numpy writes it: keys sorted, values in
    /// Python's `repr`, each entry followed by `", "`. No padding.
    var dictionaryText: String {
        "{'descr': '\(descr)', 'fortran_order': \(fortranOrder ? "True" : "False"), "
            + "'shape': \(PythonLiteral.tupleRepr(shape)), }"
    }

    /// The number of elements of ``shape``, once its data is known to be
    /// exactly `payloadCount` bytes of elements `elementSize` bytes each
    /// (numpy's `typeName`, for messages).
    ///
    /// The product of the nonzero dimensions times `elementSize` must fit in
    /// `Int`, even when another dimension is zero, as
    /// ``Tensor/validatedCount(of:)`` requires: what this accepts, a tensor
    /// of that shape can be made for, without allocating first.
    func elementCount(elementSize: Int, typeName: String, payloadCount: Int) throws(NPYFormatError) -> Int {
        var nonzeroProduct = elementSize
        var hasZero = false
        for dimension in shape {
            if dimension == 0 {
                hasZero = true
                continue
            }
            let (product, overflow) = nonzeroProduct.multipliedReportingOverflow(by: dimension)
            guard !overflow else {
                throw NPYFormatError(
                    reason: "shape \(PythonLiteral.tupleRepr(shape)) of \(typeName) is too large: "
                        + "its byte count does not fit in Int")
            }
            nonzeroProduct = product
        }
        let byteCount = hasZero ? 0 : nonzeroProduct
        guard payloadCount == byteCount else {
            throw NPYFormatError(
                reason: "shape \(PythonLiteral.tupleRepr(shape)) of \(typeName) needs exactly \(byteCount) "
                    + "bytes of data after the header, but the file has \(payloadCount)")
        }
        return byteCount / elementSize
    }

    // MARK: - Checking the entries

    /// The entries by key, refusing a repeated key (Python would silently keep
    /// the last one, which in a file we are asked to trust hides a conflict)
    /// and any key other than the three.
    private static func uniqueEntries(
        _ entries: [(key: String, value: PythonLiteral)]
    ) throws(NPYFormatError) -> [String: PythonLiteral] {
        let expected = "expected exactly 'descr', 'fortran_order' and 'shape'"
        var values: [String: PythonLiteral] = [:]
        for (key, value) in entries {
            guard keys.contains(key) else { throw NPYFormatError(reason: "unexpected key '\(key)'; \(expected)") }
            guard values.updateValue(value, forKey: key) == nil else {
                throw NPYFormatError(reason: "key '\(key)' appears more than once; \(expected)")
            }
        }
        if let missing = keys.first(where: { values[$0] == nil }) {
            throw NPYFormatError(reason: "missing key '\(missing)'; \(expected)")
        }
        return values
    }

    private static func wrongType(_ key: String, _ expected: String, _ actual: PythonLiteral?) -> NPYFormatError {
        NPYFormatError(reason: "'\(key)' must be \(expected), but is \(actual?.repr ?? "missing")")
    }
}
