// Health that tells the truth and metrics that cover failures, against a real Dovecot with the
// hook installed: /readyz follows Dovecot LMTP down and back, the hook's silence is reported, and
// every metric the shipped dashboard and alert rules use exists after a delivery.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridge, type TestBridge } from '../helpers/bridge.js';
import { startDovecot, type TestDovecot } from '../helpers/dovecot.js';
import { hookFragment, type HookFragment } from '../helpers/hook-fragment.js';
import { send } from '../helpers/lmtp-client.js';
import { freePort, waitFor } from '../helpers/net.js';

const ROOT = path.resolve(__dirname, '../..');
const PLAIN = readFileSync(path.join(ROOT, 'test/fixtures/messages/plain.eml'));
const TOKEN = 'health-test-token-0123456789abcdef';
const USER = 'alice@example.org';
const DASHBOARD = path.join(ROOT, 'examples/grafana/vmbridge-dashboard.json');
const ALERTS = path.join(ROOT, 'examples/prometheus/vmbridge-alerts.yml');

/** Metric names in PromQL expressions: identifiers not followed by `(` (functions) and not label names or keywords. */
function metricNames(exprs: string[]): string[] {
    const names = new Set<string>();
    for (const e of exprs) {
        const bare = e
            .replace(/\{[^}]*\}/g, '')
            .replace(/\[[^\]]*\]/g, '')
            .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
        for (const m of bare.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()/g)) {
            if (!/^(and|or|unless|bool|offset|le)$/.test(m[1]) && !/^\d/.test(m[1])) names.add(m[1]);
        }
    }
    return [...names];
}

function exampleExprs(): string[] {
    const dash = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: { targets: { expr: string }[] }[] };
    const fromDash = dash.panels.flatMap(p => p.targets.map(t => t.expr));
    const fromAlerts = [...readFileSync(ALERTS, 'utf8').matchAll(/^\s*expr:\s*(.+)$/gm)].map(m => m[1]);
    expect(fromDash.length).toBeGreaterThan(10);
    expect(fromAlerts.length).toBeGreaterThanOrEqual(5);
    return [...fromDash, ...fromAlerts];
}

describe('admin health and metrics against real Dovecot', () => {
    let dovecot: TestDovecot;
    let vmb: TestBridge;
    let frag: HookFragment;
    let admin = '';

    const get = async (p: string) => {
        const r = await fetch(`http://${admin}${p}`);
        return { status: r.status, text: await r.text() };
    };
    const ready = async () => {
        const r = await get('/readyz');
        return { status: r.status, j: JSON.parse(r.text) };
    };

    beforeAll(async () => {
        const ingest = `127.0.0.1:${await freePort()}`;
        admin = `127.0.0.1:${await freePort()}`;
        frag = hookFragment(['--ingest', ingest, '--ingest-token', TOKEN]);
        dovecot = await startDovecot({ extraConfig: frag.fragment });
        vmb = await startBridge({ deliver: dovecot.lmtpUrl, ingest, ingestToken: TOKEN, imap: dovecot.imapUrl, admin });
    });

    afterAll(async () => {
        await vmb?.stop();
        await dovecot?.destroy();
        frag?.cleanup();
    });

    it('ready with every dependency named; the hook silent until Dovecot reports, then heard', async () => {
        const r = await ready();
        expect(r.status).toBe(200);
        expect(r.j).toMatchObject({ ok: true, dependencies: { 'dovecot-lmtp': { status: 'ok', required: true }, imap: { required: false }, hook: { required: false } } });
        expect((await get('/livez')).status).toBe(200);
        const delivered = await send(vmb.lmtpPort, 'sender@example.org', [USER], PLAIN);
        expect(delivered.final.map(f => f.code)).toEqual([250]);
        const heard = await waitFor(
            async () => {
                const h = (await ready()).j.dependencies.hook;
                return typeof h.lastHeardSecondsAgo === 'number' ? h : undefined;
            },
            10_000,
            'hook heard'
        );
        expect(heard).toMatchObject({ status: 'ok' });
        const m = (await get('/metrics')).text;
        expect(m).toMatch(/^vmbridge_hook_silence_seconds\{hook="ingest"\} (\d|\d\.\d+)$/m);
        expect(m).toMatch(/^vmbridge_dependency_up\{dependency="dovecot-lmtp"\} 1$/m);
        expect(m).toMatch(/^vmbridge_messages_total\{class="email",outcome="stored"\} 1$/m);
        expect(m).toMatch(/^vmbridge_state_db_bytes\{file="state.db"\} [1-9]/m);
    });

    it('a refused RCPT (Dovecot 550 unknown user) is counted', async () => {
        const r = await send(vmb.lmtpPort, 'sender@example.org', ['nobody@example.org'], PLAIN);
        expect(r.rcpt.map(x => x.code)).toEqual([550]);
        expect((await get('/metrics')).text).toMatch(/^vmbridge_rcpt_failures_total\{result="refused",code="550"\} [1-9]/m);
    });

    it('every metric the Grafana dashboard and the alert rules use exists after a delivery', async () => {
        const text = (await get('/metrics')).text;
        const exposed = new Set([...text.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/gm)].map(m => m[1]));
        const names = metricNames(exampleExprs());
        expect(names).toContain('vmbridge_rcpt_failures_total');
        expect(names).toContain('process_resident_memory_bytes');
        expect(names.filter(n => !exposed.has(n))).toEqual([]);
        // Node's defaults keep their standard names
        expect(text).toMatch(/^nodejs_eventloop_lag_p99_seconds /m);
        expect(text).not.toMatch(/^vmbridge_process_cpu/m);
    });

    it('promtool accepts the alert rules', () => {
        if (spawnSync('which', ['promtool']).status !== 0) throw new Error('promtool missing: apt-get install prometheus (test/setup/ensure-debian.mjs)');
        expect(execFileSync('promtool', ['check', 'rules', ALERTS], { encoding: 'utf8' })).toMatch(/SUCCESS: 7 rules found/);
    });

    it('Dovecot LMTP stopped: /readyz 503 naming it, RCPTs deferred and counted, /livez 200; after a restart ready again', async () => {
        await dovecot.stop();
        const down = await waitFor(
            async () => {
                const r = await ready();
                return r.status === 503 ? r : undefined;
            },
            10_000,
            'not ready'
        );
        expect(down.j).toMatchObject({ ok: false, status: 'not ready', failing: ['dovecot-lmtp'], dependencies: { 'dovecot-lmtp': { status: 'failing' } } });
        expect(down.j.dependencies['dovecot-lmtp'].problem).toMatch(/ECONNREFUSED|closed|greeting/);
        expect((await get('/healthz')).status).toBe(503);
        expect((await get('/livez')).status).toBe(200);
        const r = await send(vmb.lmtpPort, 'sender@example.org', [USER], PLAIN);
        expect(r.rcpt.map(x => x.code)).toEqual([451]);
        const m = (await get('/metrics')).text;
        expect(m).toMatch(/^vmbridge_rcpt_failures_total\{result="deferred",code="451"\} [1-9]/m);
        expect(m).toMatch(/^vmbridge_dependency_up\{dependency="dovecot-lmtp"\} 0$/m);
        await dovecot.start();
        await waitFor(async () => (await ready()).status === 200 || undefined, 10_000, 'ready again');
    });
});
