import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The shape of POSIX `write(2)`: writes up to `count` bytes from `bytes` to
/// `descriptor`, returning how many it wrote, or -1 with `errno` set.
///
/// ``writeAtomically(_:to:using:)`` takes one so that tests can stand in for
/// the system call, with short writes, interruptions and failures.
typealias POSIXWrite = (_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int

/// Replaces the file at `url` with `data` so that readers, and the file after
/// a crash, see either the old contents or all of the new ones, never a part.
///
/// The bytes go to a new temporary file in the same directory (so that the
/// final rename stays on one file system, where it is atomic), which is
/// flushed to disk and then renamed over `url`. On any failure the temporary
/// file is removed and whatever was at `url` before is left untouched.
///
/// - Parameter systemWrite: the write call; tests replace it, everyone else
///   leaves the default.
/// - Throws: ``PerceptronError/fileError(path:operation:reason:)`` naming
///   `url`'s path, the step that failed and the system's reason.
func writeAtomically(
    _ data: Data, to url: URL, using systemWrite: POSIXWrite = { write($0, $1, $2) }
) throws(PerceptronError) {
    let path = try POSIXFile.path(of: url)
    let (directory, name) = try splitPath(path)
    let temporaryPath = directory + "/" + temporaryName(for: name)

    let descriptor = POSIXFile.retryingOnInterrupt {
        // O_EXCL: never write into a file that someone else created.
        open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
    }
    guard descriptor >= 0 else {
        throw .fileError(path: path, operation: "create a temporary file to write", reason: POSIXFile.reason(errno: errno))
    }
    do {
        try writeAll(data, to: descriptor, path: path, using: systemWrite)
        try check(POSIXFile.retryingOnInterrupt { fsync(descriptor) }, path, "flush to disk")
    } catch {
        close(descriptor)
        unlink(temporaryPath)
        throw error
    }
    do {
        // close can report a failed write-back (on NFS, say); it is not
        // retried on EINTR because Linux frees the descriptor either way.
        try check(close(descriptor), path, "close")
        try check(rename(temporaryPath, path), path, "rename the temporary file over")
    } catch {
        unlink(temporaryPath)
        throw error
    }
    synchronizeDirectory(directory)
}

/// Writes every byte of `data`, continuing after short writes and interruptions.
private func writeAll(
    _ data: Data, to descriptor: Int32, path: String, using systemWrite: POSIXWrite
) throws(PerceptronError) {
    let outcome = data.withUnsafeBytes { buffer in
        Result { () throws(PerceptronError) in
            guard let base = buffer.baseAddress else { return }
            var offset = 0
            while offset < buffer.count {
                let remaining = buffer.count - offset
                let written = systemWrite(descriptor, base + offset, remaining)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw .fileError(path: path, operation: "write", reason: POSIXFile.reason(errno: errno))
                }
                // Zero would loop forever and more than asked cannot be
                // trusted; neither is a valid answer to a write of a regular file.
                guard written > 0 && written <= remaining else {
                    throw .fileError(
                        path: path, operation: "write",
                        reason: "write(2) reported \(written) bytes written of \(remaining) requested")
                }
                offset += written
            }
        }
    }
    try outcome.get()
}

/// Throws the failure of a POSIX call that returned -1 with `errno` set.
private func check(_ result: Int32, _ path: String, _ operation: String) throws(PerceptronError) {
    guard result != -1 else { throw .fileError(path: path, operation: operation, reason: POSIXFile.reason(errno: errno)) }
}

/// The directory and file name of an absolute path.
private func splitPath(_ path: String) throws(PerceptronError) -> (directory: String, name: String) {
    guard let slash = path.lastIndex(of: "/"), path.index(after: slash) < path.endIndex else {
        throw .fileError(path: path, operation: "write", reason: "the path does not end in a file name")
    }
    let directory = slash == path.startIndex ? "/" : String(path[..<slash])
    return (directory, String(path[path.index(after: slash)...]))
}

/// `.<name>.tmp-<16 random hex digits>`: hidden, recognisably ours, unique.
/// The name is shortened so that the result stays within the usual 255-byte
/// limit on file names.
private func temporaryName(for name: String) -> String {
    let random = String(UInt64.random(in: .min ... .max), radix: 16)
    let padded = String(repeating: "0", count: 16 - random.count) + random
    return "." + String(String.UnicodeScalarView(name.unicodeScalars.prefix(50))) + ".tmp-" + padded
}

/// Flushes the directory entry the rename changed, so that the new file
/// survives a crash. Best effort: the new contents are already in place, and
/// some file systems refuse to flush a directory.
private func synchronizeDirectory(_ directory: String) {
    let descriptor = POSIXFile.retryingOnInterrupt { open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
    guard descriptor >= 0 else { return }
    _ = POSIXFile.retryingOnInterrupt { fsync(descriptor) }
    close(descriptor)
}
