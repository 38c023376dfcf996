/// How ``Communicator/allReduce(_:operation:)`` combines the processes'
/// tensors, element by element.
public enum ReductionOperation: Sendable, Equatable {
    /// The sum over the processes: gradients, counts, losses to average.
    case sum
    /// The largest value any process has.
    case maximum
    /// The smallest value any process has.
    case minimum

    /// The number an agreement sends for it.
    var code: Int64 {
        switch self {
        case .sum: 1
        case .maximum: 2
        case .minimum: 3
        }
    }

    /// The operation a code stands for, or `nil`.
    init?(code: Int64) {
        switch code {
        case 1: self = .sum
        case 2: self = .maximum
        case 3: self = .minimum
        default: return nil
        }
    }

    /// `sum`, as a message names it.
    var name: String {
        switch self {
        case .sum: "sum"
        case .maximum: "maximum"
        case .minimum: "minimum"
        }
    }
}
