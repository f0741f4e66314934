//! Spreading independent work over the cores.

/// `f` applied to every item on as many threads as there are cores, the
/// calling thread included; the results come back in the items' order, so
/// output and errors stay deterministic. Items go heaviest first (by `weight`),
/// each to the least loaded thread.
pub(crate) fn map<T: Send, R: Send>(
    items: Vec<T>,
    weight: impl Fn(&T) -> usize,
    f: impl Fn(T) -> R + Sync,
) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    if threads == 1 || items.len() < 2 {
        return items.into_iter().map(f).collect();
    }
    let mut order: Vec<(usize, usize, T)> = items
        .into_iter()
        .enumerate()
        .map(|(i, item)| (weight(&item), i, item))
        .collect();
    order.sort_by_key(|&(w, i, _)| (std::cmp::Reverse(w), i));
    let mut shares: Vec<(usize, Vec<(usize, T)>)> = (0..threads).map(|_| (0, Vec::new())).collect();
    for (w, i, item) in order {
        let lightest = shares
            .iter_mut()
            .min_by_key(|(load, _)| *load)
            .expect("at least one thread");
        lightest.0 += w.max(1);
        lightest.1.push((i, item));
    }
    let f = &f;
    let run = move |share: Vec<(usize, T)>| {
        share
            .into_iter()
            .map(|(i, item)| (i, f(item)))
            .collect::<Vec<_>>()
    };
    let mut results: Vec<Option<R>> = Vec::new();
    std::thread::scope(|scope| {
        let mut shares = shares.into_iter().map(|(_, share)| share);
        let own = shares.next().unwrap_or_default();
        let workers: Vec<_> = shares
            .filter(|share| !share.is_empty())
            .map(|share| scope.spawn(move || run(share)))
            .collect();
        let mut done = run(own);
        for worker in workers {
            done.extend(worker.join().expect("a worker thread panicked"));
        }
        results.resize_with(done.len(), || None);
        for (i, result) in done {
            results[i] = Some(result);
        }
    });
    results
        .into_iter()
        .map(|r| r.expect("every item done"))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn results_come_back_in_order_whatever_the_weights() {
        let items: Vec<usize> = (0..100).collect();
        let out = super::map(items, |&i| (i * 37) % 11, |i| i * 2);
        assert_eq!(out, (0..100).map(|i| i * 2).collect::<Vec<_>>());
        assert!(super::map(Vec::<u8>::new(), |_| 1, |x| x).is_empty());
    }
}
