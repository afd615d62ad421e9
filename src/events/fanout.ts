// Hands each event to several sinks; one failing sink never stops the others.
import type { VmEvent } from './event.js';
import type { EventSink } from './sink.js';
import type { Logger } from '../log.js';

export class Fanout implements EventSink {
    private readonly sinks: EventSink[] = [];
    constructor(private readonly log: Logger) {}

    add(sink: EventSink): this {
        this.sinks.push(sink);
        return this;
    }

    prepare(user: string): void {
        for (const s of this.sinks) {
            try {
                s.prepare?.(user);
            } catch (err) {
                this.log.error({ err, user }, 'event sink failed');
            }
        }
    }

    emit(ev: VmEvent): void {
        for (const s of this.sinks) {
            try {
                s.emit(ev);
            } catch (err) {
                this.log.error({ err, event: ev.id }, 'event sink failed');
            }
        }
    }
}
