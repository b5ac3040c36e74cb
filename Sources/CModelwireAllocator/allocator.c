#include "CModelwireAllocator.h"

#include <malloc.h>

int modelwire_allocator_keep_on_heap(int mmap_threshold, int trim_threshold) {
    return mallopt(M_MMAP_THRESHOLD, mmap_threshold) == 1 && mallopt(M_TRIM_THRESHOLD, trim_threshold) == 1;
}

size_t modelwire_allocator_free_bytes(void) {
    struct mallinfo2 info = mallinfo2();
    return info.fordblks + info.fsmblks;
}

int modelwire_allocator_trim(void) { return malloc_trim(0); }
