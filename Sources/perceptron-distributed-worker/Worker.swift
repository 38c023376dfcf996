// perceptron-distributed-worker: the program the distributed tests start
// under mpirun (Tests/PerceptronDistributedTests). Each mode is one scenario:
//
//   train        train a small MLP data-parallel, rank 0 recording every step
//   collectives  call the communicator on matching, mismatched and empty tensors
//   checkpoints  train with Dropout, Adam and a schedule, checkpointing every few steps; resume
//   fail         train, then fail on one rank (throw, exit, or hang)
//
// Every line a rank prints starts with "rank R:", so that the tests can tell
// the ranks' output apart; options are `--name value` pairs.

@preconcurrency import Glibc
import Foundation
import Perceptron
import PerceptronDistributed

@main
enum Worker {
    static func main() {
        setvbuf(stdout, nil, _IOLBF, 0)
        let arguments = Array(CommandLine.arguments.dropFirst())
        guard let mode = arguments.first else { fail("usage: perceptron-distributed-worker MODE [--option value]…") }
        let options = Options(Array(arguments.dropFirst()))
        do {
            let world = try Communicator.world()
            if let seconds = options.double("timeout") { world.timeout = .milliseconds(Int(seconds * 1000)) }
            switch mode {
            case "train": try TrainingRun(options: options, world: world).run()
            case "collectives": try CollectiveCases(world: world).run()
            case "checkpoints": try CheckpointRun(options: options, world: world).run()
            case "fail": try FailureRun(options: options, world: world).run()
            default: fail("unknown mode \(mode)")
            }
        } catch {
            fail("\(error)")
        }
    }
}

/// Prints `message` to standard error and exits with status 1, which ends
/// the whole job (the library aborts it on a non-zero exit).
func fail(_ message: String) -> Never {
    let rank = ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_RANK"] ?? "0"
    FileHandle.standardError.write(Data("rank \(rank): error: \(message)\n".utf8))
    exit(1)
}

/// `--name value` pairs.
struct Options {
    private var values: [String: String] = [:]

    init(_ arguments: [String]) {
        var index = 0
        while index + 1 < arguments.count {
            values[String(arguments[index].drop { $0 == "-" })] = arguments[index + 1]
            index += 2
        }
    }

    func string(_ name: String) -> String? { values[name] }
    func int(_ name: String) -> Int? { values[name].flatMap(Int.init) }
    func double(_ name: String) -> Double? { values[name].flatMap(Double.init) }
}
