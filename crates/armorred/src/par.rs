//! Bounded parallel work: [`map`] runs a function over items on a few threads and gives the
//! results in the items' order. For work that waits on I/O (registry round trips), where the
//! threads overlap their waits; nothing here spawns more than `jobs` threads.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// `f` over every item, at most `jobs` at a time (at least 1), results in the items' order.
/// A panic in `f` propagates to the caller once every thread has stopped.
pub fn map<T: Sync, R: Send>(items: &[T], jobs: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let jobs = jobs.clamp(1, items.len().max(1));
    if jobs == 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new(items.iter().map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let r = f(item);
                results.lock().unwrap_or_else(std::sync::PoisonError::into_inner)[i] = Some(r);
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .into_iter()
        .map(|r| r.expect("every index is taken by exactly one thread, which stores its result"))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn results_keep_the_items_order_at_any_width() {
        let items: Vec<u64> = (0..57).collect();
        for jobs in [0, 1, 2, 8, 100] {
            let out = super::map(&items, jobs, |&i| {
                std::thread::sleep(std::time::Duration::from_micros((57 - i) * 20));
                i * i
            });
            assert_eq!(out, items.iter().map(|i| i * i).collect::<Vec<_>>(), "jobs {jobs}");
        }
        assert!(super::map(&[] as &[u8], 4, |_| 0).is_empty());
    }

    #[test]
    fn no_more_than_jobs_run_at_once() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let (now, peak) = (AtomicUsize::new(0), AtomicUsize::new(0));
        super::map(&[(); 40], 3, |_| {
            let n = now.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(n, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(2));
            now.fetch_sub(1, Ordering::SeqCst);
        });
        assert!(peak.load(Ordering::SeqCst) <= 3);
    }
}
