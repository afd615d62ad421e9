// Heap measurements of a child started with `--inspect=127.0.0.1:<port>`: a forced full GC and
// the heap used after it, and a heap snapshot summarised as node counts and self sizes per
// constructor (the .heapsnapshot JSON's `nodes` array), so two points of a run can be compared
// object type by object type. Nothing in the product changes for this: the inspector is the hook.
import { writeFileSync } from 'node:fs';
import WebSocket from 'ws';

/** Connects to the inspector on `port` (loopback) and returns a small CDP client. */
export async function inspect(port) {
    const deadline = Date.now() + 20_000;
    let list;
    while (!list) {
        try {
            list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
        } catch (err) {
            if (Date.now() > deadline) throw err;
            await new Promise(r => setTimeout(r, 100));
        }
    }
    const ws = new WebSocket(list[0].webSocketDebuggerUrl, { maxPayload: 2 ** 30 });
    await new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
    });
    let next = 1;
    const calls = new Map();
    const listeners = new Map();
    ws.on('message', data => {
        const msg = JSON.parse(data.toString());
        if (msg.id && calls.has(msg.id)) {
            const { resolve, reject } = calls.get(msg.id);
            calls.delete(msg.id);
            msg.error ? reject(new Error(msg.error.message)) : resolve(msg.result);
        } else if (msg.method) listeners.get(msg.method)?.(msg.params);
    });
    const send = (method, params = {}) =>
        new Promise((resolve, reject) => {
            const id = next++;
            calls.set(id, { resolve, reject });
            ws.send(JSON.stringify({ id, method, params }));
        });
    return {
        /** Full GC (twice: weak callbacks of the first free more), then V8's used heap in bytes. */
        async heapAfterGc() {
            await send('HeapProfiler.collectGarbage');
            await send('HeapProfiler.collectGarbage');
            return (await send('Runtime.getHeapUsage')).usedSize;
        },
        /** Takes a snapshot (V8 collects garbage first), optionally writes it, returns its summary. */
        async snapshot(file) {
            const chunks = [];
            listeners.set('HeapProfiler.addHeapSnapshotChunk', p => chunks.push(p.chunk));
            await send('HeapProfiler.takeHeapSnapshot', { reportProgress: false, captureNumericValue: false });
            listeners.delete('HeapProfiler.addHeapSnapshotChunk');
            const text = chunks.join('');
            if (file) writeFileSync(file, text);
            return summarise(JSON.parse(text));
        },
        close: () => ws.close()
    };
}

/** Per "type:constructor": node count and self size (bytes), plus totals. */
export function summarise(snap) {
    const { node_fields: fields, node_types: types } = snap.snapshot.meta;
    const stride = fields.length;
    const [iType, iName, iSize] = ['type', 'name', 'self_size'].map(f => fields.indexOf(f));
    const typeNames = types[0];
    const { nodes, strings } = snap;
    const by = new Map();
    let size = 0;
    for (let i = 0; i < nodes.length; i += stride) {
        const type = typeNames[nodes[i + iType]];
        // objects and closures by their constructor/function name; strings, arrays, code by type alone
        const key = type === 'object' || type === 'closure' || type === 'native' ? `${type}:${strings[nodes[i + iName]]}` : type;
        const e = by.get(key) ?? { count: 0, size: 0 };
        e.count++;
        e.size += nodes[i + iSize];
        size += nodes[i + iSize];
        by.set(key, e);
    }
    return { nodes: nodes.length / stride, size, by: Object.fromEntries(by) };
}

/** Constructors ordered by count growth from `a` to `b` (the top `n`). */
export function growth(a, b, n = 10) {
    const keys = new Set([...Object.keys(a.by), ...Object.keys(b.by)]);
    return [...keys]
        .map(k => {
            const x = a.by[k] ?? { count: 0, size: 0 };
            const y = b.by[k] ?? { count: 0, size: 0 };
            return { constructor: k, count: y.count, 'count growth': y.count - x.count, 'size growth KB': Math.round((y.size - x.size) / 102.4) / 10 };
        })
        .sort((p, q) => q['count growth'] - p['count growth'])
        .slice(0, n);
}
