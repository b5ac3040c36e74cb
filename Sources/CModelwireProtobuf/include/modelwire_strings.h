#ifndef MODELWIRE_STRINGS_H
#define MODELWIRE_STRINGS_H

#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

/// The name of the first string field, at any depth, whose wire bytes contain a NUL byte, or
/// NULL when there is none. protobuf-c hands strings over as C strings, so after unpacking
/// "x\0y" reads as "x": the check has to see the wire bytes. Malformed input returns NULL
/// (unpacking rejects it next); nesting deeper than 64 messages returns NULL the same way.
/// `message` is set to the descriptor of the message that holds the field.
const char *CModelwireProtobuf_firstStringWithNUL(const ProtobufCMessageDescriptor *descriptor,
                                                  const uint8_t *data, size_t length,
                                                  const ProtobufCMessageDescriptor **message);

#endif
