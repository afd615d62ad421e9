// Retry delay for a failing endpoint: exponential with full jitter (so endpoints that failed
// together do not retry together), bounded so a recovered receiver is found again soon.
export interface BackoffOptions {
    baseMs: number;
    maxMs: number;
}

export function backoffMs(failures: number, opts: BackoffOptions, random = Math.random): number {
    const ceiling = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.min(Math.max(failures - 1, 0), 30));
    return Math.max(opts.baseMs, Math.round(ceiling * random()));
}
