// Voicemail as app_voicemail's IMAP storage APPENDs it: X-Asterisk-VM-* headers, multipart/mixed
// with a `----voicemail_` boundary, a text part and a small base64 WAV, CRLF line ends.

/** 20 ms of 8 kHz 16-bit mono silence in a RIFF/WAVE container. */
export function tinyWav(): Buffer {
    const data = Buffer.alloc(320);
    const h = Buffer.alloc(44);
    h.write('RIFF', 0);
    h.writeUInt32LE(36 + data.length, 4);
    h.write('WAVEfmt ', 8);
    h.writeUInt32LE(16, 16);
    h.writeUInt16LE(1, 20);
    h.writeUInt16LE(1, 22);
    h.writeUInt32LE(8000, 24);
    h.writeUInt32LE(16000, 28);
    h.writeUInt16LE(2, 32);
    h.writeUInt16LE(16, 34);
    h.write('data', 36);
    h.writeUInt32LE(data.length, 40);
    return Buffer.concat([h, data]);
}

export interface VmOptions {
    mailbox: string;
    context?: string;
    msgNum?: number;
    urgent?: boolean;
    /** Message for voicemail, or a greeting name (unavail, busy, greet, temp). */
    messageType?: string;
    callerIdNum?: string;
}

let seq = 0;

export function asteriskVoicemail(o: VmOptions): Buffer {
    const n = o.msgNum ?? ++seq;
    const greeting = (o.messageType ?? 'Message') !== 'Message';
    const boundary = `----voicemail_${n}${o.mailbox}${process.pid}`;
    const attachment = greeting ? `${o.messageType}.WAV` : `msg${String(n - 1).padStart(4, '0')}.wav`;
    const audio = tinyWav()
        .toString('base64')
        .replace(/(.{72})/g, '$1\r\n');
    const lines = [
        'Date: Wed, 22 Nov 2023 10:00:00 +0000',
        'From: "Asterisk PBX" <asterisk@pbx.example.org>',
        'To: "Alice Example" <alice@example.org>',
        `Subject: ${o.urgent ? 'New Urgent message' : 'New message'} ${n} in mailbox ${o.mailbox}`,
        `Message-ID: <Asterisk-${n}-${1000 + n}-${o.mailbox}-${process.pid}@pbx1>`,
        'MIME-Version: 1.0',
        `X-Asterisk-VM-Message-Num: ${greeting ? 0 : n}`,
        'X-Asterisk-VM-Server-Name: pbx1',
        `X-Asterisk-VM-Context: ${o.context ?? 'default'}`,
        `X-Asterisk-VM-Extension: ${o.mailbox}`,
        `X-Asterisk-VM-Flag: ${o.urgent ? 'Urgent' : ''}`,
        'X-Asterisk-VM-Priority: 2',
        `X-Asterisk-VM-Caller-ID-Num: ${o.callerIdNum ?? '5551234'}`,
        'X-Asterisk-VM-Caller-ID-Name: Bob Caller',
        'X-Asterisk-VM-Duration: 7',
        'X-Asterisk-VM-Category: ',
        `X-Asterisk-VM-Message-Type: ${o.messageType ?? 'Message'}`,
        'X-Asterisk-VM-Orig-date: Wednesday, November 22, 2023 at 10:00:00 AM',
        'X-Asterisk-VM-Orig-time: 1700647200',
        `X-Asterisk-VM-Message-ID: ${greeting ? '(null)' : `1700647200-0000${n.toString(16).padStart(4, '0')}`}`,
        `Content-Type: multipart/mixed; boundary="${boundary}"`,
        '',
        'This is a multi-part message in MIME format.',
        '',
        `--${boundary}`,
        'Content-Type: text/plain; charset=ISO-8859-1',
        'Content-Transfer-Encoding: 8bit',
        '',
        `Dear Alice Example:`,
        '',
        `\tjust wanted to let you know you were just left a 0:07 long message (number ${n})`,
        `in mailbox ${o.mailbox} from Bob Caller <5551234>.`,
        '',
        `--${boundary}`,
        `Content-Type: audio/x-wav; name="${attachment}"`,
        'Content-Transfer-Encoding: base64',
        'Content-Description: Voicemail sound attachment.',
        `Content-Disposition: attachment; filename="${attachment}"`,
        '',
        audio,
        '',
        `--${boundary}--`,
        ''
    ];
    return Buffer.from(lines.join('\r\n'));
}

export function plainEmail(subject: string): Buffer {
    return Buffer.from(
        ['From: bob@example.org', 'To: alice@example.org', `Subject: ${subject}`, 'Message-ID: <plain.' + ++seq + '@example.org>', '', 'hello, 1000', ''].join('\r\n')
    );
}
