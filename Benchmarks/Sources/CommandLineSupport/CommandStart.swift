// What both commands do before their work, and the option they both have.

import ArgumentParser
@preconcurrency import Glibc
import Foundation
import Perceptron

/// `--threads N`: how many threads Perceptron splits a large product across
/// (`BLAS.threadCount`); without it, OpenBLAS's own choice.
public struct ThreadsOption: ParsableArguments {
    /// `--threads`, if given.
    @Option(
        name: .customLong("threads"),
        parsing: .unconditional,
        help: ArgumentHelp("Threads a large product is split across (default: OpenBLAS's own choice).", valueName: "n"),
        transform: Count.parse)
    public var count: Count?

    /// No threads given; argument parser fills in what the command line says.
    public init() {}
}

extension ParsableCommand {
    /// The start of a run: standard output line-buffered, so that what a
    /// command prints appears line by line when piped to a file or `tee`; in a
    /// debug build, a warning on standard error saying what suffers there
    /// (`debugCost`, such as "timings mean little"); and `--threads`, if given,
    /// set as `BLAS.threadCount`.
    public func start(threads: ThreadsOption, debugCost: String) {
        setvbuf(stdout, nil, _IOLBF, 0)
        #if DEBUG
        FileHandle.standardError.write(Data("warning: a debug build; \(debugCost) (use swift run -c release)\n".utf8))
        #endif
        if let count = threads.count { BLAS.threadCount = count.value }
    }
}
