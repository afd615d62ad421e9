// Configuration is parsed once into typed values (src/config-values.ts): each keeps the text it was
// given for what is printed, and a bad value is a usage error (exit 64) naming the option.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli.js';
import { ConfigError, DEFAULTS, loadConfig, parseMemcachedResolver } from '../../src/config.js';
import { defaultOf } from '../../src/config-help.js';
import { needsRestart } from '../../src/reload-scope.js';
import { wiring } from '../../src/wiring.js';

const load = (flags: Record<string, unknown>) => loadConfig(flags, {});

describe('typed values', () => {
    it('--deliver: a DeliverTarget per form, with its text', () => {
        expect(load({ deliver: 'lmtp://[::1]:24' }).deliver).toMatchObject({ kind: 'lmtp', address: { host: '::1', port: 24 }, text: 'lmtp://[::1]:24' });
        expect(load({ deliver: 'lmtp:/run/dovecot/lmtp' }).deliver).toMatchObject({ kind: 'lmtp', address: { path: '/run/dovecot/lmtp' } });
        expect(load({ deliver: 'lda:/usr/lib/dovecot/dovecot-lda?-e -o x=y' }).deliver).toMatchObject({
            kind: 'lda',
            path: '/usr/lib/dovecot/dovecot-lda',
            args: ['-e', '-o', 'x=y']
        });
        expect(DEFAULTS.deliver).toMatchObject({ kind: 'maildir', dir: './var/mail', text: 'maildir:./var/mail' });
    });

    it('--imap: the IMAP target (master user, password, host, port, TLS), percent-decoded', () => {
        expect(load({ imap: 'imap://vm%40master:p%3Aw@[::1]:1143' }).imap).toMatchObject({
            host: '::1',
            port: 1143,
            secure: false,
            master: 'vm@master',
            password: 'p:w',
            text: 'imap://vm%40master:p%3Aw@[::1]:1143'
        });
        expect(load({ imap: 'imaps://m:pw@mail.example' }).imap).toMatchObject({ host: 'mail.example', port: 993, secure: true });
    });

    it('--ami: the AMI target (user, secret, host, port 5038 by default)', () => {
        expect(load({ ami: 'ami://vm:s%40cret@[::1]', imap: 'imap://m:p@127.0.0.1:143' }).ami).toMatchObject({ host: '::1', port: 5038, username: 'vm', secret: 's@cret' });
    });

    it('--resolver: memory, or the servers placed as libmemcached places them', () => {
        expect(DEFAULTS.resolver).toMatchObject({ kind: 'memory', text: 'memory' });
        expect(load({ resolver: 'MEMORY' }).resolver.kind).toBe('memory');
        const r = load({ resolver: '--SERVER=10.0.0.2:11212 --SERVER=[::1] --DISTRIBUTION=consistent' }).resolver;
        expect(r).toMatchObject({
            kind: 'memcached',
            servers: [
                { host: '10.0.0.2', port: 11212 },
                { host: '::1', port: 11211 }
            ],
            placement: { distribution: 'consistent' }
        });
        expect(load({ recipientMapServers: '--SERVER=127.0.0.1:11311' }).recipientMapServers?.servers).toEqual([{ host: '127.0.0.1', port: 11311 }]);
    });

    it('listeners: host and port, or a unix socket path; --http takes a bare port as loopback', () => {
        const c = load({ lmtp: 'unix:/run/vmbridge/lmtp', ingest: '[::1]:8025', http: '8080', admin: '0.0.0.0:9100', smtp: 'localhost:2525', replay: '127.0.0.1:8026' });
        expect(c.lmtp).toMatchObject({ path: '/run/vmbridge/lmtp', text: 'unix:/run/vmbridge/lmtp' });
        expect(c.ingest).toMatchObject({ host: '::1', port: 8025, text: '[::1]:8025' });
        expect(c.http).toMatchObject({ host: '127.0.0.1', port: 8080, text: '127.0.0.1:8080' });
        expect(c.admin).toMatchObject({ host: '0.0.0.0', port: 9100 });
        expect(c.smtp).toMatchObject({ host: 'localhost', port: 2525 });
        expect(c.replay).toMatchObject({ host: '127.0.0.1', port: 8026 });
        expect(DEFAULTS.lmtp).toMatchObject({ host: '127.0.0.1', port: 2424, text: '127.0.0.1:2424' });
        expect(DEFAULTS.ingest.text).toBe('127.0.0.1:8025');
    });

    it('prints as the text given: JSON (logs, the reload diff), templates, help defaults, the ready line', () => {
        const c = load({ deliver: 'lmtp://127.0.0.1:24', imap: 'imap://m:secret@127.0.0.1:143', resolver: '--SERVER=127.0.0.1:11211', ingest: 'unix:/run/vmbridge/hook' });
        expect(JSON.stringify({ listen: c.ingest, deliver: c.deliver })).toBe('{"listen":"unix:/run/vmbridge/hook","deliver":"lmtp://127.0.0.1:24"}');
        expect(`${c.deliver}`).toBe('lmtp://127.0.0.1:24');
        expect(defaultOf('lmtp')).toBe('127.0.0.1:2424');
        expect(defaultOf('resolver')).toBe('memory');
        expect(wiring(c)).toMatchObject({ deliver: 'lmtp://127.0.0.1:24', resolver: '--SERVER=127.0.0.1:11211', imap: 'imap://127.0.0.1:143', hookTransport: 'unix' });
    });

    it('the reload diff names a typed option only when its text changed', () => {
        const before = load({ deliver: 'lmtp://127.0.0.1:24', lmtp: '127.0.0.1:2424' });
        expect(needsRestart(before, load({ deliver: 'lmtp://127.0.0.1:24', lmtp: '127.0.0.1:2424' }))).toEqual([]);
        expect(needsRestart(before, load({ deliver: 'lmtp://127.0.0.1:25', lmtp: '127.0.0.1:2424' }))).toEqual(['--deliver']);
    });

    it("subscribe's and resolve's --resolver: serve's parser, the local memcached by default", () => {
        expect(parseMemcachedResolver(undefined)).toMatchObject({ kind: 'memcached', servers: [{ host: '127.0.0.1', port: 11211 }], text: '--SERVER=127.0.0.1:11211' });
        expect(parseMemcachedResolver('memory').kind).toBe('memory');
        expect(() => parseMemcachedResolver('--SERVER=127.0.0.1 --HASH=HSIEH')).toThrow(/HSIEH/);
    });
});

describe('a bad value is a ConfigError (exit 64) naming the option', () => {
    it.each([
        ['deliver', 'smtp://127.0.0.1:25', /--deliver: expected lmtp/],
        ['deliver', 'lmtp://127.0.0.1:99999x', /--deliver/],
        ['imap', 'imap://[::1', /--imap/],
        ['imap', 'pop3://m:p@h:110', /--imap: expected imap:/],
        ['ami', 'ami://127.0.0.1:5038', /--ami: the AMI url needs a user/],
        ['resolver', '--SERVER=127.0.0.1 --NAMESPACE=x', /--resolver: resolver option --NAMESPACE/],
        ['resolver', 'localhost:11211', /--resolver: 'localhost:11211' in resolver string is not an option/],
        ['recipientMapServers', 'memory', /--recipient-map-servers/],
        ['lmtp', 'unix:relative', /--lmtp: expected host:port or unix:/],
        ['lmtp', '127.0.0.1', /--lmtp/],
        ['ingest', 'nowhere', /--ingest/],
        ['http', 'host', /--http: expected host:port or a port/],
        ['admin', '9100', /--admin: expected host:port/],
        ['smtp', ':25 x', /--smtp/],
        ['replay', 'x', /--replay/]
    ])('--%s %s', (key, value, message) => {
        const run = () => load({ [key]: value });
        expect(run).toThrow(ConfigError);
        expect(run).toThrow(message);
    });
});

describe('the CLI exits 64 naming the option', () => {
    const stderr: string[] = [];
    const run = async (...args: string[]) => {
        stderr.length = 0;
        const spy = vi.spyOn(process.stderr, 'write').mockImplementation(s => (stderr.push(String(s)), true));
        try {
            return await main(['node', 'vmbridge', ...args]);
        } finally {
            spy.mockRestore();
        }
    };
    afterEach(() => vi.restoreAllMocks());

    it.each([
        [['serve', '--imap', 'imap://[::1'], /invalid option --imap/],
        [['serve', '--resolver', '--SERVER=127.0.0.1 --USE-UDP'], /invalid option --resolver: .*--USE-UDP/],
        [['serve', '--deliver', 'file:/tmp/x'], /invalid option --deliver/],
        [['serve', '--lmtp', 'unix:'], /invalid option --lmtp/],
        [['subscribe', '--resolver', '--SERVER=127.0.0.1 --HASH=HSIEH', '--user', 'u', '--bind', 'tcp://127.0.0.1:1'], /invalid option --resolver: .*HSIEH/],
        [['subscribe', '--resolver', 'memory', '--user', 'u', '--bind', 'tcp://127.0.0.1:1'], /invalid option --resolver: subscribe needs memcached/],
        [['resolve', '--resolver', '--SERVER=127.0.0.1 --NUMBER-OF-REPLICAS=2', '--user', 'u'], /invalid option --resolver: .*NUMBER-OF-REPLICAS/],
        [['resolve', '--resolver', 'memory', '--user', 'u'], /invalid option --resolver: the memory resolver lives inside serve/]
    ])('%j', async (args, message) => {
        expect(await run(...args)).toBe(64);
        expect(stderr.join('')).toMatch(message);
    });
});
