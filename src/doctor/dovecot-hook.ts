// Dovecot's configuration loads vmbridge's Lua hook (either syntax) and the script is there, or
// the native driver (dovecot/native/) and its module is in Dovecot's module dir.
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { DEFAULT_MODULE_DIR, moduleDovecotVersion, NATIVE_MODULE } from '../commands/dovecot-native.js';
import { message, misconfigured, ok, unavailable, type Check } from './check.js';
import { doveconf, hookSettings } from './doveconf.js';

export const FIX_INSTALL_HOOK = 'vmbridge dovecot-config [serve flags] > /etc/dovecot/conf.d/95-vmbridge.conf && systemctl reload dovecot';

export const dovecotHook: Check = {
    name: 'dovecot-hook',
    async run({ dovecotConf }) {
        let text: string;
        try {
            text = await doveconf(dovecotConf);
        } catch (err) {
            return unavailable(
                `doveconf -c ${dovecotConf}: ${((err as { stderr?: string }).stderr ?? '').trim().split('\n')[0] || message(err)}`,
                "install dovecot-core, or give --dovecot-conf <Dovecot's dovecot.conf>"
            );
        }
        const hook = hookSettings(text);
        if (hook.native) {
            const file = path.join(hook.native.moduleDir ?? DEFAULT_MODULE_DIR, NATIVE_MODULE);
            if (!hook.native.plugin) return misconfigured("push_notification_vmbridge is in no protocol's mail_plugins", FIX_INSTALL_HOOK);
            const built = moduleDovecotVersion(file);
            if (!built) return misconfigured(`the native driver's module ${file} is missing`, 'make -C dovecot/native install (or dovecot-config --driver lua)');
            return ok(`native driver (${file}, built for Dovecot ${built}), url ${hook.native.url}`);
        }
        if (!hook.script) return misconfigured(`no push_notification Lua driver in ${dovecotConf}`, FIX_INSTALL_HOOK);
        if (!hook.plugin) return misconfigured("push_notification_lua is in no protocol's mail_plugins", FIX_INSTALL_HOOK);
        try {
            accessSync(hook.script, constants.R_OK);
        } catch {
            return misconfigured(`the hook script ${hook.script} is not readable`, `install it there (it ships as dovecot/vmbridge.lua) or rerun dovecot-config with --script`);
        }
        return ok(`Dovecot ${hook.form} syntax, script ${hook.script}, url ${hook.url ?? '(default tcp://127.0.0.1:8025)'}`);
    }
};
