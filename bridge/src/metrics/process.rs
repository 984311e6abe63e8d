//! The process's own figures, read from `/proc/self` at scrape time (Linux): resident memory, open file
//! descriptors and their limit. Elsewhere they are absent from the scrape rather than made up.

/// Resident set size in bytes (`/proc/self/statm`, second field, in pages).
pub fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * page_size())
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(size).ok().filter(|s| *s > 0).unwrap_or(4096)
}

/// Open file descriptors (entries of `/proc/self/fd`, less the one reading it).
pub fn open_fds() -> Option<u64> {
    let entries = std::fs::read_dir("/proc/self/fd").ok()?;
    Some((entries.count() as u64).saturating_sub(1))
}

/// The soft limit on open file descriptors (`RLIMIT_NOFILE`).
pub fn max_fds() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
    (ok && limit.rlim_cur != libc::RLIM_INFINITY).then_some(limit.rlim_cur)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_of_this_process() {
        let rss = resident_bytes().expect("rss");
        assert!(rss > 1 << 20, "{rss}");
        // stdin, stdout, stderr at least.
        assert!(open_fds().expect("fds") >= 3);
        assert!(max_fds().expect("limit") >= 16);
    }
}
