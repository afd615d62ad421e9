// vmbridge as a library for subscriber programs: listen() to the bus, subscribe() for pushed
// events, and the event types. See examples/subscriber/.
export { listen, DEFAULT_BUS, type ListenOptions } from './client/listen.js';
export { subscribe, type SubscribeOptions } from './client/subscribe.js';
export { EventStream } from './client/stream.js';
export {
    EVENT_TYPES,
    MESSAGE_CLASSES,
    EventSchema,
    RESET_REASONS,
    type EventType,
    type EventOf,
    type NewmailEvent,
    type FlagEvent,
    type MoveEvent,
    type DeleteEvent,
    type MwiEvent,
    type ResetEvent,
    type MessageEvent,
    type ResetReason,
    type MessageClass,
    type VmEvent,
    type VoicemailMeta
} from './events/event.js';
export { decodeEvent, encodeEvent } from './wire/json.js';
export { MAPI, decodeNotification, decodeResolverValue, encodeNotification, encodeResolverValue, type NotificationPayload } from './wire/ndr.js';
// For tools that write OpenChange-compatible records (examples/subscriber/openchange-session.mjs).
export { createMemcachedClient } from './memcached/client.js';
export { resolverKey, type CnMode } from './resolve/key.js';
