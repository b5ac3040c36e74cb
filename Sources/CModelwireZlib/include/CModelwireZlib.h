// System zlib for Swift. zlib's inflateInit/deflateInit are macros that Swift cannot import,
// so they are re-exported here as functions (as swift-nio-extras' CNIOExtrasZlib does).
#ifndef CMODELWIRE_ZLIB_H
#define CMODELWIRE_ZLIB_H
#include <zlib.h>

static inline int CModelwireZlib_inflateInit(z_streamp stream) {
    return inflateInit(stream);
}

/// One-shot zlib-format compression like compress2, but with the window and hash sizes given:
/// frames are small, and deflateInit's default 256 KB of state (most of it cleared on every call)
/// costs more than compressing a few KB. Returns Z_OK, or a zlib error (Z_BUF_ERROR: dest too small).
static inline int CModelwireZlib_compress(unsigned char *dest, unsigned long *destLen, const unsigned char *source,
                                          unsigned long sourceLen, int level, int windowBits, int memLevel) {
    z_stream stream = {0};
    int rc = deflateInit2(&stream, level, Z_DEFLATED, windowBits, memLevel, Z_DEFAULT_STRATEGY);
    if (rc != Z_OK) return rc;
    stream.next_in = (Bytef *)source;
    stream.avail_in = (uInt)sourceLen;
    stream.next_out = dest;
    stream.avail_out = (uInt)*destLen;
    rc = deflate(&stream, Z_FINISH);
    *destLen = stream.total_out;
    deflateEnd(&stream);
    return rc == Z_STREAM_END ? Z_OK : (rc == Z_OK ? Z_BUF_ERROR : rc);
}

static inline const char *CModelwireZlib_version(void) {
    return ZLIB_VERSION;
}
#endif
