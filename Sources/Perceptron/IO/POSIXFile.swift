import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The POSIX calls behind Perceptron's file I/O, each turning a failure into
/// ``PerceptronError/fileError(path:operation:reason:)`` with the system's own
/// explanation, which Foundation's errors on Linux do not reliably keep.
enum POSIXFile {
    /// The file-system path of `url`, which must be a `file:` URL.
    static func path(of url: URL) throws(PerceptronError) -> String {
        guard url.isFileURL else {
            throw .fileError(path: url.absoluteString, operation: "open", reason: "it is not a file URL")
        }
        return url.path
    }

    /// The system's description of an `errno` value, with the number (which
    /// does not depend on the locale) for searching.
    static func reason(errno code: Int32) -> String {
        "\(String(cString: strerror(code))) (errno \(code))"
    }

    /// Calls `body` again while it fails with `EINTR` (a signal arrived before
    /// it did anything), returning its first other result.
    static func retryingOnInterrupt(_ body: () -> Int32) -> Int32 {
        while true {
            let result = body()
            if result != -1 || errno != EINTR { return result }
        }
    }

    /// Reads the whole file at `path`.
    ///
    /// The file's size only sizes the first buffer: reading goes on to the
    /// end of file, so a file that grows or a size that lies cannot cut the
    /// contents short or make a read run past the buffer.
    static func readContents(ofFileAt path: String) throws(PerceptronError) -> Data {
        let descriptor = retryingOnInterrupt { open(path, O_RDONLY | O_CLOEXEC) }
        guard descriptor >= 0 else { throw .fileError(path: path, operation: "open", reason: reason(errno: errno)) }
        defer { close(descriptor) }

        var status = stat()
        let sizeHint = fstat(descriptor, &status) == 0 ? Int(clamping: status.st_size) : 0
        // One byte more than the size, so that a regular file is read whole
        // by the first read and the second one sees the end of file.
        var contents = Data(count: min(max(sizeHint, 4095), Int.max - 1) + 1)
        var length = 0
        while true {
            if length == contents.count { contents.count += max(contents.count, 4096) }
            let count = contents.withUnsafeMutableBytes { buffer in
                buffer.baseAddress.map { read(descriptor, $0 + length, buffer.count - length) } ?? 0
            }
            if count > 0 {
                length += count
            } else if count == 0 {
                break
            } else if errno != EINTR {
                throw .fileError(path: path, operation: "read", reason: reason(errno: errno))
            }
        }
        contents.count = length
        return contents
    }
}
