// Drains a receiving nanomsg socket (SUB, PULL) with one callback per readable wakeup instead of
// one per frame: node-nanomsg's own path reads ONE frame per poll event and pushes it through a
// Readable stream (a nextTick and a stream hop each), which made the receiving side of 10 bus +
// 10 subscribe() sockets the bottleneck at 20,000 events/s (bench/README, event throughput).
// Frames stay one event each; only the reading is batched.
import nano, { type Socket } from 'nanomsg';
import { RECEIVE_DRAIN_MAX } from '../limits.js';

const nn = nano._bindings;

type PollingSocket = Socket & { _pollReceive?: object | null };

/** Where a stream's frames come from: a nanomsg socket (nanoSource) or subscribe()'s own PULL (sp-pull.ts). */
export interface FrameSource {
    /** Calls onFrame for every frame as it arrives, in order, until close(). */
    start(onFrame: (frame: Buffer) => void): void;
    close(): void;
}

export function nanoSource(sock: Socket): FrameSource {
    return { start: onFrame => onFrames(sock, onFrame), close: () => sock.close() };
}

/** Calls onFrame for every frame as it arrives (in order), until the socket closes. */
export function onFrames(sock: Socket, onFrame: (frame: Buffer) => void): void {
    const s = sock as PollingSocket;
    // Replace the library's per-frame poll with ours; its close() stops whatever _pollReceive holds.
    if (s._pollReceive) nn.PollStop(s._pollReceive);
    s._pollReceive = nn.PollSocket(sock.binding, false, events => {
        if (!events || sock.closed) return;
        // Bounded per wakeup so a flood cannot hold the loop; the poll calls again while frames wait.
        for (let i = 0; i < RECEIVE_DRAIN_MAX && !sock.closed; i++) {
            const frame = nn.Recv(sock.binding, nn.NN_DONTWAIT);
            if (typeof frame === 'number') return; // EAGAIN: drained
            onFrame(frame);
        }
    });
}
