// Message handling settings as intake applies them: the recipient map (file, memcached), the
// unknown-recipient policy, per-class actions and the smart host relays go to. Built from config
// at startup (a bad setting is a ConfigError: exit 64) and again on SIGHUP.
import type { Config } from '../config.js';
import { ConfigError } from '../config.js';
import { parseSmartHost, type SmartHost } from '../deliver/relay.js';
import type { Logger } from '../log.js';
import { MessageActions, parseClassActions, parsePrivateHeader } from './actions.js';
import { memcachedMap, RecipientMap, type MapSource } from './recipients.js';

export type DeliveryRulesConfig = Pick<Config, 'usernameFormat' | 'unknownRecipient' | 'recipientMapTimeout'> &
    Partial<Pick<Config, 'recipientMap' | 'recipientMapServers' | 'smartHost' | 'classActions' | 'privateHeader'>>;

interface Remote {
    spec: string;
    source: MapSource;
}

export class DeliveryRules {
    private constructor(
        readonly recipients: RecipientMap,
        /** Undefined when no class actions are configured: messages then stream straight on. */
        readonly actions: MessageActions | undefined,
        readonly smartHost: SmartHost | undefined,
        private readonly remote: Remote | undefined
    ) {}

    /**
     * Throws ConfigError for a bad setting. `previous` lends its memcached client when the servers
     * are unchanged, so a reload does not drop lookups in flight; close() the previous one after.
     */
    static create(config: DeliveryRulesConfig, logger: Logger, previous?: DeliveryRules): DeliveryRules {
        const smartHost = config.smartHost ? parseSmartHost(config.smartHost) : undefined;
        if (config.unknownRecipient === 'relay' && !smartHost) throw new ConfigError('invalid option --unknown-recipient: relay needs --smart-host');
        const privateHeader = config.privateHeader ? parsePrivateHeader(config.privateHeader) : undefined;
        const actions = config.classActions === undefined ? undefined : new MessageActions(parseClassActions(config.classActions, { smartHost: config.smartHost }), privateHeader);
        const spec = config.recipientMapServers && `${config.recipientMapServers.text}#${config.recipientMapTimeout}`;
        const reuse = spec && previous?.remote?.spec === spec ? previous.remote : undefined;
        const remote = reuse ?? (spec ? { spec, source: memcachedMap(config.recipientMapServers!, { timeoutMs: config.recipientMapTimeout }) } : undefined);
        try {
            const recipients = RecipientMap.open({
                file: config.recipientMap,
                remote: remote?.source,
                unknown: config.unknownRecipient,
                usernameFormat: config.usernameFormat,
                logger
            });
            return new DeliveryRules(recipients, actions, smartHost, remote);
        } catch (err) {
            if (remote && remote !== reuse) remote.source.close();
            throw err;
        }
    }

    /** Closes the memcached client unless `successor` took it over. */
    close(successor?: DeliveryRules): void {
        if (this.remote && successor?.remote !== this.remote) this.remote.source.close();
    }
}
