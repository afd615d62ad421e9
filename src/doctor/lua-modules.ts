// The Lua modules the hook needs load in the Lua version Dovecot embeds: lua-socket for the
// tcp:// and unix: transports (not for http://), lua-luaossl for a fast HMAC (optional: without
// it the script computes HMAC-SHA256 in pure Lua, about 15 times slower per batch).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { about, misconfigured, ok, skip, unavailable, type Check, type Verdict } from './check.js';
import { doveconf, hookSettings } from './doveconf.js';

const run = promisify(execFile);
const DOVECOT_LUA = '/usr/lib/dovecot/libdovecot-lua.so.0';

/** 5.x of the liblua Dovecot's Lua support links (Debian 12: 5.4), else undefined. */
async function dovecotLuaVersion(): Promise<string | undefined> {
    try {
        return /liblua(\d\.\d)/.exec((await run('ldd', [DOVECOT_LUA])).stdout)?.[1];
    } catch {
        return undefined;
    }
}

async function loads(lua: string, module: string): Promise<boolean> {
    try {
        await run(lua, ['-e', `require(${JSON.stringify(module)})`]);
        return true;
    } catch {
        return false;
    }
}

export const luaModules: Check = {
    name: 'lua-modules',
    async run({ dovecotConf }) {
        const native = await doveconf(dovecotConf).then(
            t => hookSettings(t).native,
            () => undefined
        );
        if (native) return skip('the native driver is configured: no Lua modules needed');
        const version = await dovecotLuaVersion();
        if (!version) return unavailable(`${DOVECOT_LUA} not found`, "apt-get install dovecot-auth-lua (Dovecot's Lua support)");
        const lua = `lua${version}`;
        if (!(await loads(lua, 'string'))) return skip(`no ${lua} interpreter to test with (apt-get install ${lua} lets the doctor check lua-socket)`);
        const url = await doveconf(dovecotConf).then(
            t => hookSettings(t).url,
            () => undefined
        );
        const out: Verdict[] = [];
        if (url?.startsWith('http')) out.push(about('lua-socket', skip('the hook posts over http://: no lua-socket needed')));
        else if (await loads(lua, 'socket.core')) out.push(about('lua-socket', ok(`loads in ${lua}`)));
        else out.push(about('lua-socket', misconfigured(`socket.core does not load in ${lua}`, 'apt-get install lua-socket')));
        out.push(
            about(
                'luaossl',
                (await loads(lua, 'openssl.hmac'))
                    ? ok(`loads in ${lua}: native HMAC`)
                    : ok('not installed: the hook uses its pure-Lua HMAC (apt-get install lua-luaossl makes it ~15x cheaper)')
            )
        );
        return out;
    }
};
