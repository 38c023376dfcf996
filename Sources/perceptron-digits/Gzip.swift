import CZlib

/// gzip decompression through the system's zlib (`Sources/CZlib`).
enum Gzip {
    /// Why a stream could not be decompressed, in zlib's words.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The decompressed bytes of `compressed`: a gzip (or zlib) stream, or
    /// several gzip members one after another, as `cat a.gz b.gz` makes.
    ///
    /// - Throws: ``Failure`` for a corrupt or truncated stream.
    static func decompress(_ compressed: [UInt8]) throws(Failure) -> [UInt8] {
        guard compressed.count <= Int(UInt32.max) else {
            throw Failure(description: "\(compressed.count) bytes is more than zlib takes in one call")
        }
        // On the heap, not in a Swift variable: zlib keeps a pointer back to the
        // stream and refuses one that has moved, and `&local` guarantees no fixed address.
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer { stream.deallocate() }
        guard czlib_inflate_init_gzip(stream) == Z_OK else {
            throw Failure(description: "zlib could not start: \(message(stream, Z_MEM_ERROR))")
        }
        defer { inflateEnd(stream) }

        var output: [UInt8] = []
        output.reserveCapacity(compressed.count * 4)
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        let status: Int32 = compressed.withUnsafeBufferPointer { input in
            stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
            stream.pointee.avail_in = UInt32(input.count)
            return chunk.withUnsafeMutableBufferPointer { buffer in
                while true {
                    stream.pointee.next_out = buffer.baseAddress
                    stream.pointee.avail_out = UInt32(buffer.count)
                    let status = inflate(stream, Z_NO_FLUSH)
                    let produced = buffer.count - Int(stream.pointee.avail_out)
                    output.append(contentsOf: buffer[..<produced])
                    switch status {
                    case Z_OK:
                        continue
                    case Z_STREAM_END where stream.pointee.avail_in == 0:
                        return Z_STREAM_END
                    case Z_STREAM_END:
                        // Another gzip member follows.
                        let reset = inflateReset(stream)
                        if reset != Z_OK { return reset }
                    case Z_BUF_ERROR where stream.pointee.avail_in == 0:
                        // No progress possible and nothing left to read: the input ended early.
                        return Z_DATA_ERROR
                    default:
                        return status
                    }
                }
            }
        }
        guard status == Z_STREAM_END else {
            throw Failure(description: "corrupt or truncated gzip data: \(message(stream, status))")
        }
        return output
    }

    /// zlib's message for the stream's last error, or a name for `status`.
    private static func message(_ stream: UnsafeMutablePointer<z_stream>, _ status: Int32) -> String {
        if let text = stream.pointee.msg { return String(cString: text) }
        switch status {
        case Z_DATA_ERROR: return "invalid or incomplete deflate data"
        case Z_MEM_ERROR: return "out of memory"
        case Z_STREAM_ERROR: return "inconsistent stream state"
        default: return "zlib status \(status)"
        }
    }
}
