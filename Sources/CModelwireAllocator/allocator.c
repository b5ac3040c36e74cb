#include "CModelwireAllocator.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/// At load, before any thread exists: one malloc arena for the process (the main one), unless
/// GLIBC_TUNABLES sets glibc.malloc.arena_max. malloc_trim cannot give back the top of a thread
/// arena's heap, so with per-thread arenas a burst stays resident (~60 MiB per arena, measured).
__attribute__((constructor)) static void modelwire_allocator_one_arena(void) {
    const char *tunables = getenv("GLIBC_TUNABLES");
    if (tunables != NULL && strstr(tunables, "arena_max") != NULL) return;
    mallopt(M_ARENA_MAX, 1);
}

int modelwire_allocator_keep_on_heap(int mmap_threshold, int trim_threshold) {
    return mallopt(M_MMAP_THRESHOLD, mmap_threshold) == 1 && mallopt(M_TRIM_THRESHOLD, trim_threshold) == 1;
}

size_t modelwire_allocator_free_bytes(void) {
    struct mallinfo2 info = mallinfo2();
    return info.fordblks + info.fsmblks;
}

size_t modelwire_allocator_resident_bytes(void) {
    FILE *statm = fopen("/proc/self/statm", "r");
    if (statm == NULL) return 0;
    unsigned long size = 0, resident = 0;
    int fields = fscanf(statm, "%lu %lu", &size, &resident);
    fclose(statm);
    return fields == 2 ? (size_t)resident * (size_t)sysconf(_SC_PAGESIZE) : 0;
}

int modelwire_allocator_trim(void) { return malloc_trim(0); }
