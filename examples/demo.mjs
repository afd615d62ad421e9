#!/usr/bin/env node
// Demo: starts `vmbridge serve` on its embedded defaults (LMTP 127.0.0.1:2424, maildir
// ./var/mail, PUB bus ipc://./var/bus.sock, state in ./var) plus its replay endpoint, a
// `vmbridge listen`, sends the sample Asterisk voicemail over LMTP and prints the event the
// listener got. Run: node examples/demo.mjs (after npm install; nothing else may be listening on
// 2424, 8025 or 8026).
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

async function waitForPort(port) {
    for (let i = 0; i < 200; i++) {
        const ok = await new Promise(r => net.connect(port, '127.0.0.1').once('connect', function () { this.destroy(); r(true); }).once('error', () => r(false)));
        if (ok) return;
        await new Promise(r => setTimeout(r, 50));
    }
    throw new Error(`nothing listens on ${port}`);
}

try {
    // --replay: listen --since catches up through it (token: <state-dir>/replay.token, read by
    // listen). A fresh state directory, so the demo's journal holds only this run's events.
    const state = mkdtempSync(path.join(tmpdir(), 'vmbridge-demo-'));
    run('serve', '--replay', '127.0.0.1:8026', '--state-dir', state);
    await waitForPort(2424);
    // --since 0: the listener replays what it missed from the bridge's journal, so it does not
    // matter whether its SUB socket joined the bus before the voicemail arrived.
    const next = lines(run('listen', '--state-dir', state, '--user', 'alice@example.org', '--since', '0'));
    console.log('LMTP reply:', await lmtp(2424, readFileSync(new URL('sample-voicemail.eml', import.meta.url))));
    const nextEvent = async () => {
        // A reset first says where the journal stands (a fresh store numbers from its creation time).
        for (;;) {
            const ev = JSON.parse(await next());
            if (ev.type !== 'reset') return ev;
        }
    };
    const event = await Promise.race([nextEvent(), new Promise((_, rej) => setTimeout(() => rej(new Error('no event within 5 s')), 5000))]);
    console.log('listener printed:', JSON.stringify(event, null, 2));
    console.log('stored under ./var/mail/alice@example.org/new/');
} finally {
    stopAll();
}
