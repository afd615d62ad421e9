// Types for node-nanomsg 4.x (the package ships none). Only what vmbridge uses, plus the raw
// bindings: push.ts sends through them to get a non-blocking send with its own bounded queue,
// because the library's send queue is unbounded (and its flush loops on EAGAIN).
declare module 'nanomsg' {
    import { Duplex } from 'node:stream';

    export type SocketType = 'pub' | 'sub' | 'push' | 'pull' | 'pair' | 'req' | 'rep' | 'bus' | 'surveyor' | 'respondent';

    export interface SocketOptions {
        raw?: boolean;
        dontwait?: boolean;
        chan?: string[];
        linger?: number;
        sndbuf?: number;
        rcvbuf?: number;
        sndtimeo?: number;
        rcvtimeo?: number;
        reconn?: number;
        maxreconn?: number;
        rcvmaxsize?: number;
        tcpnodelay?: boolean;
        ipv6?: boolean;
    }

    export class Socket extends Duplex {
        readonly type: SocketType;
        /** The nanomsg socket descriptor (for the raw bindings). */
        readonly binding: number;
        readonly closed?: boolean;
        /** Endpoint id, or null after emitting 'error' (bad address, address in use). */
        bind(addr: string): number | null;
        connect(addr: string): number | null;
        shutdown(addr: string): number | null | undefined;
        send(msg: Buffer | string, flags?: number): number;
        close(): number;
        chan(prefixes: string[]): void;
        rmchan(...prefixes: string[]): void;
        linger(ms?: number): number | boolean;
        sndbuf(bytes?: number): number | boolean;
        rcvbuf(bytes?: number): number | boolean;
        sndtimeo(ms?: number): number | boolean;
        rcvtimeo(ms?: number): number | boolean;
        reconn(ms?: number): number | boolean;
        maxreconn(ms?: number): number | boolean;
        rcvmaxsize(bytes?: number): number | boolean;
        dontwait(on?: boolean): boolean;
    }

    export interface Bindings {
        Send(socket: number, msg: Buffer | string, flags: number): number;
        /** A frame, or -1 (see Errno; EAGAIN with NN_DONTWAIT when none waits). */
        Recv(socket: number, flags: number): Buffer | number;
        Errno(): number;
        Err(): string;
        /** Calls back while the socket is sendable (sender=true) or readable; stop with PollStop. */
        PollSocket(socket: number, sender: boolean, cb: (events: number) => void): object;
        PollStop(handle: object): void;
        readonly NN_DONTWAIT: number;
        readonly EAGAIN: number;
    }

    export const _bindings: Bindings;
    export function socket(type: SocketType, opts?: SocketOptions): Socket;
    export function createSocket(type: SocketType, opts?: SocketOptions): Socket;

    const nano: {
        socket: typeof socket;
        createSocket: typeof createSocket;
        Socket: typeof Socket;
        _bindings: Bindings;
    };
    export default nano;
}
