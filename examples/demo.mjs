#!/usr/bin/env node
// Demo: starts `vmbridge serve` on free loopback ports (so it runs beside an installed bridge),
// maildir and state in a fresh temp directory, plus its replay endpoint and a `vmbridge listen`,
// sends the sample Asterisk voicemail over LMTP and prints the event the listener got.
// Run: node examples/demo.mjs (after npm install).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = `${root}bin/vmbridge.js`;
const children = [];
const run = (...args) => {
    const c = spawn(process.execPath, [bin, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(c);
    return c;
};
const stopAll = () => children.forEach(c => c.kill('SIGTERM'));

const lines = child => {
    let buf = '';
    const waiters = [];
    const ready = []; // lines nobody waited for yet
    child.stdout.on('data', d => {
        buf += d;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, i);
            buf = buf.slice(i + 1);
            const w = waiters.shift();
            w ? w(line) : ready.push(line);
        }
    });
    return () => (ready.length ? Promise.resolve(ready.shift()) : new Promise(r => waiters.push(r)));
};

function lmtp(port, message) {
    // The smallest LMTP client: one command at a time, reading each reply line.
    return new Promise((resolve, reject) => {
        const s = net.connect(port, '127.0.0.1');
        const script = ['LHLO demo', 'MAIL FROM:<asterisk@pbx.example.org>', 'RCPT TO:<alice@example.org>', 'DATA'];
        let buf = '';
        let step = -1;
        s.on('error', reject);
        s.on('data', d => {
            buf += d;
            let i;
            while ((i = buf.indexOf('\r\n')) >= 0) {
                const line = buf.slice(0, i);
                buf = buf.slice(i + 2);
                if (line[3] === '-') continue;
                if (step === script.length) {
                    s.end('QUIT\r\n');
                    return resolve(line);
                }
                if (!/^[23]/.test(line)) return reject(new Error(line));
                step += 1;
                if (step < script.length) s.write(script[step] + '\r\n');
                else s.write(message.toString('latin1').replace(/(^|\n)\./g, '$1..') + '.\r\n', 'latin1');
            }
        });
    });
}

/** A port the kernel just handed out and took back: free for the bridge to bind a moment later. */
function freePort() {
    return new Promise((resolve, reject) => {
        const srv = net.createServer().once('error', reject);
        srv.listen(0, '127.0.0.1', () => {
            const { port } = srv.address();
            srv.close(() => resolve(port));
        });
    });
}

async function waitForPort(port) {
    for (let i = 0; i < 200; i++) {
        const ok = await new Promise(r =>
            net
                .connect(port, '127.0.0.1')
                .once('connect', function () {
                    this.destroy();
                    r(true);
                })
                .once('error', () => r(false))
        );
        if (ok) return;
        await new Promise(r => setTimeout(r, 50));
    }
    throw new Error(`nothing listens on ${port}`);
}

try {
    // --replay: listen --since catches up through it (token: <state-dir>/replay.token, read by
    // listen). A fresh state directory, so the demo's journal holds only this run's events.
    const state = mkdtempSync(path.join(tmpdir(), 'vmbridge-demo-'));
    const [lmtpPort, ingestPort, replayPort] = [await freePort(), await freePort(), await freePort()];
    run(
        'serve',
        '--lmtp',
        `127.0.0.1:${lmtpPort}`,
        '--ingest',
        `127.0.0.1:${ingestPort}`,
        '--replay',
        `127.0.0.1:${replayPort}`,
        '--deliver',
        `maildir:${state}/mail`,
        '--state-dir',
        state
    );
    await waitForPort(lmtpPort);
    // --since 0: the listener replays what it missed from the bridge's journal, so it does not
    // matter whether its SUB socket joined the bus before the voicemail arrived.
    const next = lines(run('listen', '--state-dir', state, '--replay', `http://127.0.0.1:${replayPort}`, '--user', 'alice@example.org', '--since', '0'));
    console.log('LMTP reply:', await lmtp(lmtpPort, readFileSync(new URL('sample-voicemail.eml', import.meta.url))));
    const nextEvent = async () => {
        // A reset first says where the journal stands (a fresh store numbers from its creation time).
        for (;;) {
            const ev = JSON.parse(await next());
            if (ev.type !== 'reset') return ev;
        }
    };
    const event = await Promise.race([nextEvent(), new Promise((_, rej) => setTimeout(() => rej(new Error('no event within 5 s')), 5000))]);
    console.log('listener printed:', JSON.stringify(event, null, 2));
    console.log(`stored under ${state}/mail/alice@example.org/new/`);
} finally {
    stopAll();
}
