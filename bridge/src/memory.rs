//! Process memory housekeeping: after start-up, hand the allocator's free pages back to the OS.
//!
//! Start-up parses the config, reads every state file and builds the Matter node; the buffers it
//! frees stay resident in glibc's arenas (about 2.5 KiB per device at 500 devices) unless the
//! allocator is asked to release them. `malloc_trim(0)` returns the free pages of every arena
//! (madvise), not only the top of the main heap. Other allocators (musl) return memory on their
//! own; there this is a no-op.

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
