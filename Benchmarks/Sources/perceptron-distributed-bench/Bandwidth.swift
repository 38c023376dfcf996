import PerceptronDistributed
import Perceptron

/// The all-reduce (sum, Float, in place) by message size, from 4 KiB to
/// 16 MiB: its time, and two bandwidths. The algorithm bandwidth is the
/// message's bytes over the time; the bus bandwidth multiplies it by
/// 2(K − 1)/K, the share of the message each process must send and receive
/// in a ring all-reduce, which makes it comparable across process counts and
/// with the link's own speed (as NCCL's tests report it).
struct Bandwidth {
    let world: Communicator
    let repetitions: Int

    func run() throws {
        print("all-reduce (sum, Float, in place) on \(world.size) processes; median of \(repetitions) (min–max)")
        print("")
        print("bytes        time                            algorithm GB/s   bus GB/s")
        for bytes in [1 << 12, 1 << 16, 1 << 20, 1 << 22, 1 << 24] {
            var message = Tensor<Float>(shape: [bytes / 4], repeating: 1)
            try world.barrier()
            let samples = try Samples.measure(count: repetitions) { try world.allReduce(&message) }
            let algorithm = Double(bytes) / samples.median / 1e9
            let bus = algorithm * 2 * Double(world.size - 1) / Double(world.size)
            func padded(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
            print(padded("\(bytes)", 13) + padded(samples.summary, 32)
                  + padded(String(format: "%.2f", algorithm), 17) + String(format: "%.2f", bus))
        }
    }
}
