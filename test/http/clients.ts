// Test clients for the client listener: an SSE reader (raw HTTP, so Last-Event-ID and the frames
// are exactly what was sent), a WebSocket reader, and plain GETs.
import http from 'node:http';
import WebSocket from 'ws';
import type { VmEvent } from '../../src/events/event.js';
import { waitFor } from '../helpers/net.js';

export const basic = (user: string, pass: string) => 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64');
export const bearer = (t: string) => `Bearer ${t}`;

export interface Got {
    status: number;
    headers: http.IncomingHttpHeaders;
    body: string;
}

export function get(base: string, path: string, auth?: string): Promise<Got> {
    return new Promise((resolve, reject) => {
        const req = http.get(base + path, { headers: auth ? { authorization: auth } : {} }, res => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', c => (body += c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        });
        req.on('error', reject);
    });
}

export interface Frame {
    id?: number;
    event: string;
    data: VmEvent;
}

export class SseClient {
    readonly frames: Frame[] = [];
    status = 0;
    private req?: http.ClientRequest;
    private opened = false;

    constructor(base: string, path: string, auth: string, lastEventId?: number) {
        const headers: Record<string, string> = { authorization: auth, accept: 'text/event-stream' };
        if (lastEventId !== undefined) headers['last-event-id'] = String(lastEventId);
        this.req = http.get(base + path, { headers }, res => {
            this.status = res.statusCode ?? 0;
            let buf = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
                this.opened = true;
                buf += chunk;
                let i: number;
                while ((i = buf.indexOf('\n\n')) >= 0) {
                    const block = buf.slice(0, i);
                    buf = buf.slice(i + 2);
                    const f: Partial<Frame> = {};
                    for (const line of block.split('\n')) {
                        if (line.startsWith('id: ')) f.id = Number(line.slice(4));
                        else if (line.startsWith('event: ')) f.event = line.slice(7);
                        else if (line.startsWith('data: ')) f.data = JSON.parse(line.slice(6));
                    }
                    if (f.data) this.frames.push(f as Frame);
                }
            });
        });
        this.req.on('error', () => undefined);
    }

    /** The stream's first bytes arrived: the server has subscribed this client to the live fan-out. */
    async ready(): Promise<void> {
        await waitFor(() => this.opened || this.status >= 400, 10_000, 'SSE stream open');
    }

    events(type?: string): VmEvent[] {
        return this.frames.map(f => f.data).filter(e => !type || e.type === type);
    }

    close(): void {
        this.req?.destroy();
    }
}

export class WsClient {
    readonly events: VmEvent[] = [];
    readonly ws: WebSocket;
    protocol = '';

    constructor(url: string, auth: string, first?: unknown) {
        this.ws = new WebSocket(url, 'vmbridge.events.v1', { headers: { authorization: auth } });
        this.ws.on('open', () => {
            this.protocol = this.ws.protocol;
            if (first !== undefined) this.ws.send(JSON.stringify(first));
        });
        this.ws.on('message', d => this.events.push(JSON.parse(String(d))));
        this.ws.on('error', () => undefined);
    }

    async open(): Promise<void> {
        await waitFor(() => this.ws.readyState === WebSocket.OPEN, 10_000, 'WebSocket open');
    }

    close(): void {
        this.ws.terminate();
    }
}
