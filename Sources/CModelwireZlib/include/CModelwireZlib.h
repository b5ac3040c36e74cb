// System zlib for Swift. zlib's inflateInit/deflateInit are macros that Swift cannot import,
// so they are re-exported here as functions (as swift-nio-extras' CNIOExtrasZlib does).
#ifndef CMODELWIRE_ZLIB_H
#define CMODELWIRE_ZLIB_H
#include <zlib.h>

static inline int CModelwireZlib_inflateInit(z_streamp stream) {
    return inflateInit(stream);
}

static inline const char *CModelwireZlib_version(void) {
    return ZLIB_VERSION;
}
#endif
