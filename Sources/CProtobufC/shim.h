// The system protobuf-c runtime (Debian libprotobuf-c-dev), imported as a Swift module.
#include <protobuf-c/protobuf-c.h>
