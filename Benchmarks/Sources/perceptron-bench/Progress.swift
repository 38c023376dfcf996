import Foundation

/// A one-line progress indicator on standard error, shown only on a terminal.
struct Progress {
    let total: Int
    private(set) var done = 0
    private let enabled = isatty(FileHandle.standardError.fileDescriptor) != 0

    init(total: Int) { self.total = total }

    /// Shows which task runs now.
    func start(_ what: String) {
        write("\r\u{1B}[2K[\(done + 1)/\(total)] \(what)…")
    }

    /// Counts a task as done, clearing the line after the last one.
    mutating func finish() {
        done += 1
        if done == total { clear() }
    }

    /// Clears the line so a table row can be printed over it.
    func clear() {
        write("\r\u{1B}[2K")
    }

    private func write(_ text: String) {
        if enabled { FileHandle.standardError.write(Data(text.utf8)) }
    }
}
