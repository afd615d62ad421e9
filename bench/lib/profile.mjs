// Summarises V8 .cpuprofile files (node --cpu-prof): self time by function and by where the code
// lives (vmbridge's own dist/ files, each dependency, node internals, GC, idle).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, printTable } from './env.mjs';

function place(url) {
    if (!url) return '(native/vm)';
    const rel = url.replace(/^file:\/\//, '');
    if (rel.startsWith(path.join(ROOT, 'dist'))) return path.relative(ROOT, rel);
    const nm = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(rel);
    if (nm) return nm[1];
    if (url.startsWith('node:')) return 'node internals';
    return rel;
}

/** Summarises every .cpuprofile in dir (one per process that ran with --cpu-prof). */
export function summariseProfile(dir, top = 25) {
    const byFn = new Map();
    const byPlace = new Map();
    let total = 0;
    for (const f of readdirSync(dir).filter(f => f.endsWith('.cpuprofile'))) {
        const prof = JSON.parse(readFileSync(path.join(dir, f), 'utf8'));
        const nodes = new Map(prof.nodes.map(n => [n.id, n]));
        const self = new Map();
        prof.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0) / 1000));
        for (const [id, ms] of self) {
            const { functionName, url, lineNumber } = nodes.get(id).callFrame;
            const where = place(url);
            const fn = `${functionName || '(anonymous)'} ${where}${url ? ':' + (lineNumber + 1) : ''}`;
            byFn.set(fn, (byFn.get(fn) ?? 0) + ms);
            const p = ['(idle)', '(program)', '(garbage collector)'].includes(functionName) ? functionName : where;
            byPlace.set(p, (byPlace.get(p) ?? 0) + ms);
            total += ms;
        }
    }
    const busy = total - (byPlace.get('(idle)') ?? 0);
    byPlace.delete('(idle)');
    for (const k of [...byFn.keys()]) if (k.startsWith('(idle)')) byFn.delete(k);
    const rows = (m, key) =>
        [...m]
            .sort((a, b) => b[1] - a[1])
            .slice(0, top)
            .map(([k, ms]) => ({ [key]: k, 'self ms': Math.round(ms), '% of busy': Math.round((ms / busy) * 1000) / 10 }));
    const result = { totalMs: Math.round(total), busyMs: Math.round(busy), byPlace: rows(byPlace, 'where'), byFunction: rows(byFn, 'function') };
    printTable(`CPU profile of the serve child: self time by place (busy ${result.busyMs} ms of ${result.totalMs} ms)`, result.byPlace);
    printTable('CPU profile: top functions by self time', result.byFunction);
    return result;
}

// node bench/lib/profile.mjs <dir>: summarise an existing profile directory
if (import.meta.url === `file://${process.argv[1]}`) summariseProfile(process.argv[2] ?? path.join(ROOT, 'bench/results/profiles'));
