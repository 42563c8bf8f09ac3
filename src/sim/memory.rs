//! Memory placement of a run: transparent huge pages for the simulating thread's heap.
//!
//! A run of thousands of nodes touches per-node state (replicas, CPUs, the no-op tables, the
//! event queue's slab) spread over tens of megabytes, at random. With 4 kB pages nearly every
//! such touch also misses the TLB (the second-level TLB of a typical x86 core maps 8–12 MB);
//! with 2 MB pages the whole state fits. On Linux with glibc, where transparent huge pages
//! are often enabled only for regions that ask for them (`madvise` mode), [`advise_huge_pages`]
//! asks for them for the calling thread's malloc heap. It changes where memory lies, never
//! what is computed: results are the same with or without it. Measured on the SimBlock
//! configuration (6,000 nodes): about 10 % less CPU time (docs/PERFORMANCE.md, "Session 6").

/// Ask the kernel to back the calling thread's malloc heap with transparent huge pages
/// (Linux with glibc; elsewhere nothing). Call it on the thread that runs a simulation,
/// before the run's state is built: pages touched before the call keep their size.
///
/// What it does, with glibc's layout: allocations up to 32 MB are taken from the arena
/// instead of separate mappings (`M_MMAP_THRESHOLD`, process-wide; glibc's default moves
/// between 128 kB and 32 MB); the 64 MB heap of the calling thread's arena (glibc
/// reserves each non-main arena heap at a 64 MB-aligned address) is marked
/// `MADV_HUGEPAGE` and grown by 30 MB ahead of use (untouched, so not resident), and free
/// memory up to 64 MB is kept rather than returned (`M_TRIM_THRESHOLD`, process-wide). The
/// main thread's heap (below the program break) is left alone. Any failure is ignored: the
/// advice only changes speed. O(1): two allocations, five calls.
/// `LEDGERSIM_HUGE_PAGES=0` in the environment turns it off (to measure its effect).
pub fn advise_huge_pages() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        if std::env::var_os("LEDGERSIM_HUGE_PAGES").is_some_and(|v| v == "0") {
            return;
        }
        /// glibc's `HEAP_MAX_SIZE` on 64-bit targets: the size and alignment of the heaps
        /// of non-main arenas.
        const ARENA_HEAP_BYTES: usize = 64 << 20;
        /// A probe allocation's size: above glibc's thread-cache limit (1,032 bytes).
        const PROBE_BYTES: usize = 4096;
        /// The largest mmap threshold glibc accepts (`HEAP_MAX_SIZE / 2`).
        const MMAP_THRESHOLD: libc::c_int = 32 << 20;
        /// How far the arena's heap is grown ahead (below `MMAP_THRESHOLD`, so it is
        /// taken from the heap).
        const RESERVE_BYTES: usize = 30 << 20;
        /// Free memory at the top of a heap kept before glibc returns it to the system.
        const TRIM_THRESHOLD: libc::c_int = 64 << 20;
        if usize::BITS != 64 {
            return;
        }
        // SAFETY: `mallopt` only changes an allocator tunable. `sbrk(0)` reads the program
        // break. `madvise(MADV_HUGEPAGE)` only sets a paging hint on the given range (the
        // calling thread's own arena heap); it neither maps, unmaps nor changes contents,
        // and on a range with unmapped parts it returns an error, which is ignored.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
            // Larger than glibc's per-thread cache serves (1,032 bytes), so it comes from
            // this thread's arena, not from a cached chunk freed here by another arena.
            let probe = std::hint::black_box(vec![0u8; PROBE_BYTES]);
            let addr = probe.as_ptr() as usize;
            let brk = libc::sbrk(0) as usize;
            if addr > brk {
                let base = addr & !(ARENA_HEAP_BYTES - 1);
                // (An error for unmapped parts of the range still advises the mapped ones.)
                libc::madvise(base as *mut libc::c_void, ARENA_HEAP_BYTES, libc::MADV_HUGEPAGE);
                // glibc grows an arena's heap a few pages at a time, and a page fault near
                // its end cannot take a whole 2 MB page: most small objects would still get
                // 4 kB pages. Grow it once by `RESERVE_BYTES` (allocated and freed
                // untouched: nothing becomes resident), and keep freed memory instead of
                // trimming it (trimming would split huge pages).
                libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
                drop(std::hint::black_box(Vec::<u8>::with_capacity(RESERVE_BYTES)));
            }
        }
    }
}
