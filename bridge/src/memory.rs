//! Process memory housekeeping: fewer malloc arenas, and after start-up, hand the allocator's free
//! pages back to the OS.
//!
//! glibc gives every thread that allocates concurrently its own arena (up to eight per core), and
//! each arena keeps its own free memory. The bridge's threads (tokio workers, one Matter thread per
//! node, mDNS, the persistence writer) then hold several partly used heaps. Two arenas instead
//! (bench/scale.md, 5,000 lights: 39.8 → 34.4 MiB) cost the cloud benchmark's sustained rate about
//! a third (222–259k → 155–160k changes/s, still eight times the 20k/s aim) and the Matter figures
//! nothing measurable (bench/notes.md). A hub's devices change a few hundred times a second at
//! most; its memory is the scarcer resource. `MALLOC_ARENA_MAX` in the environment still wins.
//!
//! Start-up parses the config, reads every state file and builds the Matter node; the buffers it
//! frees stay resident in glibc's arenas (about 2.5 KiB per device at 500 devices) unless the
//! allocator is asked to release them. `malloc_trim(0)` returns the free pages of every arena
//! (madvise), not only the top of the main heap. Other allocators (musl) return memory on their
//! own; there this is a no-op.

/// Arenas the allocator may use (see the module documentation).
pub const ARENAS: i32 = 2;

/// Limit glibc's malloc arenas to [`ARENAS`] unless `MALLOC_ARENA_MAX` is set. Call first thing in
/// `main`, before any thread starts (arenas already made stay).
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets an allocator parameter; called before other threads exist.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, ARENAS);
        }
    }
}

/// Release memory freed during start-up back to the OS. Cheap (one pass over the arenas); call it
/// once the daemon is ready, not on a hot path.
pub fn release_startup_garbage() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: malloc_trim only walks the allocator's own free lists; it has no preconditions.
        let released = unsafe { libc::malloc_trim(0) };
        tracing::debug!(released = released != 0, "start-up memory trimmed");
    }
}
