/// The scalar types Perceptron computes with: `Float` and `Double`, the two
/// precisions of OpenBLAS's `s` and `d` routines.
///
/// It is a constraint, not an extension point: it adds nothing callable to
/// `Float` or `Double`, and the library reaches the right C routine for
/// each by comparing types inside its compute boundary. Conforming another
/// type compiles but is not supported: the first product with it stops the
/// program with a message saying so.
public protocol BLASScalar: BinaryFloatingPoint, SIMDScalar, Codable, Sendable, CustomStringConvertible
where RawSignificand: FixedWidthInteger {}

extension Float: BLASScalar {}
extension Double: BLASScalar {}
