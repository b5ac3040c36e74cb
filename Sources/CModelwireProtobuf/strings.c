// A walk over protobuf wire bytes, driven by protobuf-c's own message descriptors, that finds a
// NUL inside a string field before protobuf-c turns the field into a C string (see the header).
#include "modelwire_strings.h"
#include <string.h>

static int read_varint(const uint8_t **p, const uint8_t *end, uint64_t *value) {
    uint64_t result = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t byte = *(*p)++;
        result |= (uint64_t)(byte & 0x7F) << shift;
        if ((byte & 0x80) == 0) {
            *value = result;
            return 1;
        }
    }
    return 0;
}

static const char *walk(const ProtobufCMessageDescriptor *descriptor, const uint8_t *p, const uint8_t *end, int depth,
                        const ProtobufCMessageDescriptor **message) {
    if (depth > 64) return NULL;
    while (p < end) {
        uint64_t key, length;
        if (!read_varint(&p, end, &key)) return NULL;
        switch (key & 7) {
        case 0:  // varint
            if (!read_varint(&p, end, &length)) return NULL;
            break;
        case 1:  // fixed64
            if (end - p < 8) return NULL;
            p += 8;
            break;
        case 5:  // fixed32
            if (end - p < 4) return NULL;
            p += 4;
            break;
        case 2: {  // length-delimited: strings, bytes, messages, packed arrays
            if (!read_varint(&p, end, &length) || length > (uint64_t)(end - p)) return NULL;
            const ProtobufCFieldDescriptor *field =
                key >> 3 <= UINT32_MAX ? protobuf_c_message_descriptor_get_field(descriptor, (unsigned)(key >> 3)) : NULL;
            if (field != NULL && field->type == PROTOBUF_C_TYPE_STRING && memchr(p, 0, (size_t)length) != NULL) {
                *message = descriptor;
                return field->name;
            }
            if (field != NULL && field->type == PROTOBUF_C_TYPE_MESSAGE) {
                const char *inner = walk(field->descriptor, p, p + length, depth + 1, message);
                if (inner != NULL) return inner;
            }
            p += length;
            break;
        }
        default:  // groups: not used by this schema; unpacking decides
            return NULL;
        }
    }
    return NULL;
}

const char *CModelwireProtobuf_firstStringWithNUL(const ProtobufCMessageDescriptor *descriptor,
                                                  const uint8_t *data, size_t length,
                                                  const ProtobufCMessageDescriptor **message) {
    if (data == NULL || length == 0) return NULL;
    return walk(descriptor, data, data + length, 0, message);
}
