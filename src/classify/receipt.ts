// Delivery and read receipts (RFC 3462 multipart/report): DSNs and MDNs. Only the top-level
// Content-Type counts: a forwarded report inside an ordinary message is not a receipt.
import { contentType, type HeaderMap } from './headers.js';

const REPORT_TYPES = new Set(['delivery-status', 'disposition-notification']);

export function isReceipt(h: HeaderMap): boolean {
    const ct = contentType(h);
    return /^multipart\/report$/i.test(ct.value) && REPORT_TYPES.has((ct.params['report-type'] ?? '').trim().toLowerCase());
}
