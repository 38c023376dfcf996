// zlib for Swift: the system header, plus what its function-like macros hide.
#ifndef CZLIB_SHIM_H
#define CZLIB_SHIM_H

#include <zlib.h>

/// `inflateInit2(stream, 15 + 32)`: a 32 KiB window, gzip or zlib header
/// detected automatically. `inflateInit2` is a macro, which Swift cannot call.
static inline int czlib_inflate_init_gzip(z_streamp stream) {
    return inflateInit2(stream, 15 + 32);
}

#endif
