// The bridge's own listeners answer: lmtp, smtp, ingest, admin, replay (those configured).
import { about, connect, message, ok, unavailable, type Check, type DoctorContext, type Verdict } from './check.js';
import { dialable, type ListenAddress } from '../net/address.js';
import type { Described } from '../config-values.js';

export const listeners: Check = {
    name: 'listeners',
    async run({ config, timeoutMs }: DoctorContext): Promise<Verdict[]> {
        const wanted: [string, Described<ListenAddress> | undefined][] = [
            ['lmtp', config.lmtp],
            ['smtp', config.smtp],
            ['ingest', config.ingest],
            ['admin', config.admin],
            ['replay', config.replay]
        ];
        return Promise.all(
            wanted
                .filter((w): w is [string, Described<ListenAddress>] => w[1] !== undefined)
                .map(async ([name, address]) => {
                    try {
                        (await connect(dialable(address), timeoutMs)).destroy();
                        return about(name, ok(`${address.text} accepts connections`));
                    } catch (err) {
                        return about(name, unavailable(`${address.text}: ${message(err)}`, `start the bridge (systemctl start vmbridge) or correct --${name}`));
                    }
                })
        );
    }
};
