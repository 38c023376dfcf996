import Testing

/// The suites that change process-wide BLAS settings (`BLAS.threadCount`,
/// `BLAS.runsIndependentProductsSideBySide`) or need them to stay put while
/// they run: nested here, they run one test at a time. Tests elsewhere that
/// compare results bit for bit use shapes whose bits do not depend on those
/// settings (see ConcurrencyTests.swift).
@Suite("Process-wide BLAS settings", .serialized)
enum ProcessWideBLASSettings {}
