// Fax: RFC 3458 Message-Context fax-message, Exchange UM's X-FaxNumberOfPages, RFC 2305 internet
// fax (image/tiff, top-level or as a part), and fax gateways' PDF attachments named as faxes.
import { contentType, first, type HeaderMap } from './headers.js';
import type { PartInfo } from './mime-scan.js';

export function isFaxByHeaders(h: HeaderMap): boolean {
    return /^\s*fax-message\b/i.test(first(h, 'message-context') ?? '') || h.has('x-faxnumberofpages') || isTiff(contentType(h).value);
}

/** image/tiff always; application/pdf only when its name or description says fax (PDFs are common mail). */
export function isFaxPart(p: PartInfo): boolean {
    if (isTiff(p.contentType)) return true;
    return /^application\/pdf$/i.test(p.contentType) && /fax/i.test(`${p.name ?? ''} ${p.description ?? ''}`);
}

function isTiff(type: string): boolean {
    return /^image\/tiff?$/i.test(type.trim());
}
