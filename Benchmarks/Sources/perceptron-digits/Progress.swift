import Foundation

/// Shows training as it goes: a redrawn progress bar on standard error when it
/// is a terminal, and a line on standard output for the first epoch, every
/// tenth of the run and the last, so that a log or a pipe gets a short record.
struct Progress {
    let epochs: Int
    /// Epochs between the lines kept on standard output.
    let interval: Int
    private let onTerminal = isatty(FileHandle.standardError.fileDescriptor) != 0
    private static let barWidth = 30

    init(epochs: Int) {
        self.epochs = epochs
        interval = max(1, epochs / 10)
    }

    /// Reports one finished epoch.
    func show(_ epoch: Trainer.Epoch) {
        if epoch.number == 1 || epoch.number % interval == 0 || epoch.number == epochs {
            clear()
            print(line(epoch))
        }
        if onTerminal && epoch.number < epochs {
            write("\r\u{1B}[2K\(bar(epoch))")
        }
    }

    /// Erases the bar so that a line can take its place.
    func clear() {
        if onTerminal { write("\r\u{1B}[2K") }
    }

    /// `epoch  10/100  loss 0.0912  train accuracy  97.84 %  0.12 s`
    private func line(_ epoch: Trainer.Epoch) -> String {
        let number = String(epoch.number)
        let padding = String(repeating: " ", count: String(epochs).count - number.count)
        return "epoch \(padding)\(number)/\(epochs)  "
            + String(format: "loss %.4f  train accuracy %6.2f %%  ", epoch.loss, epoch.accuracy * 100)
            + seconds(epoch.elapsed)
    }

    /// `[███████████▌                  ]  37/100  loss 0.1234  97.5 %`, with eighth-cell resolution.
    private func bar(_ epoch: Trainer.Epoch) -> String {
        let eighths = epoch.number * Self.barWidth * 8 / epochs
        let partial = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"][eighths % 8]
        let filled = String(repeating: "█", count: eighths / 8) + partial
        let empty = String(repeating: " ", count: Self.barWidth - eighths / 8 - (partial.isEmpty ? 0 : 1))
        return "[\(filled)\(empty)] "
            + "\(epoch.number)/\(epochs)  "
            + String(format: "loss %.4f  train %.1f %%  ", epoch.loss, epoch.accuracy * 100)
            + seconds(epoch.elapsed)
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}

/// `0.42 s`: a duration in seconds, to the hundredth.
func seconds(_ duration: Duration) -> String {
    let (whole, attoseconds) = duration.components
    return String(format: "%.2f s", Double(whole) + Double(attoseconds) * 1e-18)
}
