//! Fork safety of rayon's global thread pool.
//!
//! `batch_convert(threads=0)` runs on rayon's global pool, whose worker
//! threads start once per process. `os.fork()` (multiprocessing's default
//! start method on Linux, Dask's and gunicorn's pre-fork workers) copies the
//! pool's bookkeeping into the child but not its threads, so a child that used
//! the pool would queue work for workers that do not exist and wait forever.
//! rayon has no fork hook, and registering one needs `pthread_atfork` (unsafe
//! code, forbidden here), so the binding remembers which process started the
//! global pool; in any other process (a fork of it) `threads=0` runs on a
//! fresh pool of one thread per core, built for the call. Results never depend
//! on the thread count, so the child gets the parent's numbers bit for bit.
//!
//! Every other multi-threaded path (integration, windows, attribution, the
//! readers) spawns scoped threads per call and is fork-safe as it is.

use std::sync::atomic::{AtomicU32, Ordering};

/// Pid of the process that first ran work on rayon's global pool (0: none yet).
static GLOBAL_POOL_PID: AtomicU32 = AtomicU32::new(0);

/// The `threads` to hand to a core function whose `0` means rayon's global
/// pool: `requested` itself, except `0` in a forked child of the process that
/// started the global pool, which becomes an explicit count (a fresh pool).
pub fn pool_threads(requested: usize) -> usize {
    if requested != 0 {
        return requested;
    }
    let pid = std::process::id();
    match GLOBAL_POOL_PID.compare_exchange(0, pid, Ordering::SeqCst, Ordering::SeqCst) {
        // This process starts (or already owns) the global pool.
        Ok(_) => 0,
        Err(owner) if owner == pid => 0,
        // A fork: the global pool's threads stayed in the parent.
        Err(_) => std::thread::available_parallelism().map_or(1, |n| n.get()),
    }
}

/// Whether this process is a fork of the one that started rayon's global pool.
#[pyo3::pyfunction]
pub fn forked_from_pool_owner() -> bool {
    let owner = GLOBAL_POOL_PID.load(Ordering::SeqCst);
    owner != 0 && owner != std::process::id()
}
