// The allocator policy of modelwire-server: glibc malloc's thresholds and giving memory back.
// Linking this library also makes the process use one malloc arena (set at load, before any
// thread starts; GLIBC_TUNABLES=glibc.malloc.arena_max=N overrides it): see allocator.c.
#ifndef CMODELWIRE_ALLOCATOR_H
#define CMODELWIRE_ALLOCATOR_H

#include <stddef.h>

/// Keeps blocks below `mmap_threshold` bytes on the heap and trims the heap's top only above
/// `trim_threshold` free bytes (mallopt M_MMAP_THRESHOLD and M_TRIM_THRESHOLD). Returns 1 when both were set.
int modelwire_allocator_keep_on_heap(int mmap_threshold, int trim_threshold);

/// Bytes the allocator holds in free chunks of every arena (mallinfo2's fordblks + fsmblks).
size_t modelwire_allocator_free_bytes(void);

/// The process's resident set in bytes (/proc/self/statm), or 0 when it cannot be read.
size_t modelwire_allocator_resident_bytes(void);

/// Returns the free pages of every arena to the system (malloc_trim(0)); 1 when some were returned.
int modelwire_allocator_trim(void);

#endif
