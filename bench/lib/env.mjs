// Shared plumbing for the benchmarks: build check, the test harness (TypeScript, loaded through
// tsx), statistics, the result table and JSON file, and RSS readings from /proc.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';
import { p99Ci, percentile } from './p99.mjs';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const RESULTS = path.join(ROOT, 'bench/results');

register(); // test/helpers/*.ts are imported as they are; the product code comes from dist/

/** Compiles src/ to dist/ unless dist is newer than every source file (run.mjs builds once). */
export function ensureBuilt() {
    if (process.env.BENCH_BUILT === '1') return;
    const newest = dir =>
        readdirSync(dir, { withFileTypes: true }).reduce((m, e) => {
            const p = path.join(dir, e.name);
            return Math.max(m, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
        }, 0);
    let built = 0;
    try {
        built = statSync(path.join(ROOT, 'dist/cli.js')).mtimeMs;
    } catch {
        /* not built yet */
    }
    if (built > newest(path.join(ROOT, 'src'))) return;
    console.error('building dist/ (tsc -p .)');
    const r = spawnSync('npx', ['tsc', '-p', '.'], { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0) throw new Error('tsc failed');
}

export const dist = p => import(path.join(ROOT, 'dist', p));
export const helper = p => import(path.join(ROOT, 'test/helpers', p));

export { percentile } from './p99.mjs'; // import-free there, for its test

/** p50/p90/p99/max/mean of a list of numbers (ms), rounded to µs. */
export function stats(values) {
    const s = [...values].sort((a, b) => a - b);
    const r = x => Math.round(x * 1000) / 1000;
    const mean = s.reduce((a, b) => a + b, 0) / (s.length || 1);
    return { n: s.length, p50: r(percentile(s, 50)), p90: r(percentile(s, 90)), p99: r(percentile(s, 99)), max: r(s[s.length - 1] ?? NaN), mean: r(mean) };
}

/** stats() and the bootstrap 95% interval of p99 (`p99ci`): a latency's p99 is judged by it. */
export const latencyStats = values => ({ ...stats(values), p99ci: p99Ci(values) });

export { medianOf as median } from './ratio.mjs';

export const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

/** Resident set size and its peak (VmHWM) of a process, MB. */
export function rss(pid = process.pid) {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = key => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMb: Math.round(kb('VmRSS') / 102.4) / 10, peakMb: Math.round(kb('VmHWM') / 102.4) / 10 };
}

export function machine() {
    const cpus = os.cpus();
    return {
        cores: cpus.length,
        cpu: cpus[0]?.model,
        memGb: Math.round(os.totalmem() / 2 ** 30),
        node: process.version,
        kernel: os.release(),
        load: os.loadavg().map(x => Math.round(x * 100) / 100)
    };
}

export function printTable(title, rows) {
    if (!rows.length) return;
    const cols = Object.keys(rows[0]);
    const cell = v => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 3 : 1)) : String(v ?? ''));
    const width = cols.map(c => Math.max(c.length, ...rows.map(r => cell(r[c]).length)));
    const line = vals => '| ' + vals.map((v, i) => v.padEnd(width[i])).join(' | ') + ' |';
    console.log(`\n${title}`);
    console.log(line(cols));
    console.log('|' + width.map(w => '-'.repeat(w + 2)).join('|') + '|');
    for (const r of rows) console.log(line(cols.map(c => cell(r[c]))));
}

/** Writes bench/results/<name>.json with the machine and the command that produced it. */
export function writeResult(name, data) {
    mkdirSync(RESULTS, { recursive: true });
    const file = path.join(RESULTS, `${name}.json`);
    const command = `node bench/${name}.mjs` + (process.argv.length > 2 ? ' ' + process.argv.slice(2).join(' ') : '');
    writeFileSync(file, JSON.stringify({ name, date: new Date().toISOString(), command, machine: machine(), ...data }, null, 2) + '\n');
    console.log(`\nwritten ${path.relative(ROOT, file)}`);
}

export const envInt = (name, dflt) => (process.env[name] ? Number(process.env[name]) : dflt);
