// `vmbridge webhook add|list|remove|enable` against a state directory (the built CLI, as an admin runs it).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, test } from 'vitest';
import { openStateDb } from '../../src/state/db.js';
import { WebhookCursors } from '../../src/webhooks/cursors.js';

const run = promisify(execFile);
const BIN = path.resolve('bin/vmbridge.js');
const dir = mkdtempSync(path.join(tmpdir(), 'vmb-wh-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cli = (...args: string[]) => run(process.execPath, [BIN, 'webhook', ...args, '--state-dir', dir]);

test('add prints the secret once; list hides it; remove deletes; enable re-enables', async () => {
    const added = JSON.parse((await cli('add', '--user', 'alice', '--url', 'https://hooks.example.com/a', '--types', 'newmail,mwi')).stdout);
    expect(added).toMatchObject({ user: 'alice', url: 'https://hooks.example.com/a', types: ['newmail', 'mwi'] });
    expect(added.secret).toMatch(/^whsec_/);
    const listed = (await cli('list', '--user', 'alice')).stdout
        .trim()
        .split('\n')
        .map(l => JSON.parse(l));
    expect(listed).toEqual([{ id: added.id, user: 'alice', url: added.url, types: ['newmail', 'mwi'], created: added.created, disabled: false, failures: 0, failingSince: 0 }]);
    await expect(cli('add', '--user', 'alice', '--url', 'http://127.0.0.1/x')).rejects.toMatchObject({ code: 64 });

    const db = openStateDb(dir, { claim: false });
    new WebhookCursors(db).setState(added.id, { disabled: true, failures: 9, failingSince: 1 });
    await cli('enable', added.id);
    expect(new WebhookCursors(db).state(added.id)).toEqual({ disabled: false, failures: 0, failingSince: 0 });
    db.close();

    await expect(cli('remove', '--user', 'bob', added.id)).rejects.toMatchObject({ code: 64 });
    await cli('remove', '--user', 'alice', added.id);
    expect((await cli('list', '--user', 'alice')).stdout).toBe('');
});
