// Recipient mapping from a file and a real memcached: mapped users, the unknown-recipient
// policies, reload on demand, and 451 (never a guess) when memcached is needed but down.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import memjs from 'memjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mapKey, memcachedMap, parseRecipientMap, RecipientMap } from '../../src/intake/recipients.js';
import { startMemcached, type TestMemcached } from '../helpers/memcached.js';
import { parseServers } from '../../src/memcached/servers.js';

const dir = mkdtempSync(join(tmpdir(), 'vmbridge-rcpt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function mapFile(text: string): string {
    const file = join(dir, `map-${Math.random().toString(36).slice(2)}`);
    writeFileSync(file, text);
    return file;
}

const MAP = `# proxy addresses → Dovecot users
alice@example.com        alice
Alice.Smith@Corp.Example alice   # corporate address, case-insensitive
+15551234@vpim.example   alice

bob@example.com bob
`;

async function rejection(p: Promise<unknown>): Promise<{ responseCode: number; enhanced: string; message: string }> {
    return p.then(
        () => expect.fail('expected a refusal'),
        err => err
    );
}

describe('recipient map file', () => {
    it('parses addresses case-insensitively, with comments and blank lines', () => {
        expect([...parseRecipientMap(MAP, 'm')]).toEqual([
            ['alice@example.com', 'alice'],
            ['alice.smith@corp.example', 'alice'],
            ['+15551234@vpim.example', 'alice'],
            ['bob@example.com', 'bob']
        ]);
    });

    it('names the file and line of a bad entry', () => {
        expect(() => parseRecipientMap('a@b c\nonly-one-field\n', '/etc/map')).toThrow('/etc/map:2: expected "address user"');
        expect(() => parseRecipientMap('a@b c d\n', 'm')).toThrow('m:1:');
    });

    it('maps aliases and applies the unknown-recipient policy', async () => {
        const file = mapFile(MAP);
        const pass = RecipientMap.open({ file, unknown: 'pass', usernameFormat: '%Ln' });
        expect(await pass.resolve('ALICE.SMITH@corp.example')).toEqual({ kind: 'user', user: 'alice', mapped: true });
        expect(await pass.resolve('Carol@Example.com')).toEqual({ kind: 'user', user: 'carol', mapped: false });

        const reject = RecipientMap.open({ file, unknown: 'reject', usernameFormat: '%Lu' });
        const err = await rejection(reject.resolve('carol@example.com'));
        expect([err.responseCode, err.enhanced]).toEqual([550, '5.1.1']);
        expect(err.message).toMatch(/carol@example\.com.*User unknown/);

        const relay = RecipientMap.open({ file, unknown: 'relay', usernameFormat: '%Lu' });
        expect(await relay.resolve('carol@example.com')).toEqual({ kind: 'relay' });
        expect(await relay.resolve('bob@example.com')).toEqual({ kind: 'user', user: 'bob', mapped: true });
    });

    it('reloads on demand and keeps the old map when the new file is broken', async () => {
        const file = mapFile('a@example.com alpha\n');
        const map = RecipientMap.open({ file, unknown: 'reject', usernameFormat: '%Lu' });
        writeFileSync(file, 'a@example.com beta\nc@example.com gamma\n');
        expect(map.reload()).toBe(2);
        expect(await map.resolve('c@example.com')).toMatchObject({ user: 'gamma' });
        writeFileSync(file, 'broken line with too many fields\n');
        expect(() => map.reload()).toThrow(/:1: expected/);
        expect(await map.resolve('a@example.com')).toMatchObject({ user: 'beta' });
        rmSync(file);
        expect(() => map.reload()).toThrow(/recipient map/);
        expect(await map.resolve('a@example.com')).toMatchObject({ user: 'beta' });
    });
});

describe('recipient map in memcached', () => {
    let mc: TestMemcached;
    let writer: memjs.Client;

    beforeAll(async () => {
        mc = await startMemcached();
        writer = memjs.Client.create(mc.server, { logger: { log: () => undefined } });
        await writer.set(mapKey('vmbridge:rcpt:', 'dave@example.com'), 'dave', {});
        await writer.set(mapKey('vmbridge:rcpt:', 'alice@example.com'), 'not-alice', {});
        await writer.set(mapKey('vmbridge:rcpt:', 'evil@example.com'), 'two words', {});
    });
    afterAll(async () => {
        writer?.close();
        await mc?.stop();
    });

    it('answers from memcached after the file, and the file wins', async () => {
        const map = RecipientMap.open({ file: mapFile(MAP), remote: memcachedMap(parseServers(mc.resolver)), unknown: 'reject', usernameFormat: '%Lu' });
        try {
            expect(await map.resolve('Dave@Example.com')).toEqual({ kind: 'user', user: 'dave', mapped: true });
            expect(await map.resolve('alice@example.com')).toEqual({ kind: 'user', user: 'alice', mapped: true });
            // a value that is not a user name is never used
            expect((await rejection(map.resolve('evil@example.com'))).responseCode).toBe(550);
            expect((await rejection(map.resolve('nobody@example.com'))).responseCode).toBe(550);
        } finally {
            map.close();
        }
    });

    it('gives 451 within the timeout when memcached is needed and down, but not when the file answers', async () => {
        const down = await startMemcached();
        const map = RecipientMap.open({ file: mapFile(MAP), remote: memcachedMap(parseServers(down.resolver), { timeoutMs: 300 }), unknown: 'pass', usernameFormat: '%Lu' });
        try {
            await down.stop();
            const err = await rejection(map.resolve('dave@example.com'));
            expect([err.responseCode, err.enhanced]).toEqual([451, '4.4.3']);
            expect(await map.resolve('bob@example.com')).toEqual({ kind: 'user', user: 'bob', mapped: true });
        } finally {
            map.close();
        }
    });

    it('keys are safe memcached keys whatever the address', () => {
        expect(mapKey('p:', 'A B\r\nset x 0 0 1@x')).toBe('p:a%20b%0d%0aset%20x%200%200%201@x');
        expect(mapKey('p:', 'zoë@example.com')).toBe('p:zo%c3%ab@example.com');
        const long = mapKey('p:', 'x'.repeat(300) + '@example.com');
        expect(long).toMatch(/^p:sha256:[0-9a-f]{64}$/);
    });
});
