// `vmbridge doctor`'s test batch: zero events for a user no Dovecot has (`.invalid`, RFC 2606).
// The ingest answers it like any batch (so signature, access and address are proven) and stops
// there: it is not handed on and does not count as the hook being heard from.
import type { Batch } from './batch.js';

export const PROBE_USER = 'vmbridge-doctor@doctor.invalid';

export const isProbe = (batch: Batch): boolean => batch.user === PROBE_USER && batch.events.length === 0;
