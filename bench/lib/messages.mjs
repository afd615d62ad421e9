// Benchmark messages: a small plain mail, an Asterisk voicemail of a chosen size (a base64 WAV
// attachment, the headers app_voicemail writes) so classification and the MIME scan run.
import { randomBytes } from 'node:crypto';

export function smallMessage(i, to = 'user@example.org') {
    return Buffer.from(
        `From: "Bench" <sender@example.net>\r\nTo: <${to}>\r\nSubject: bench message ${i}\r\n` +
            `Message-ID: <bench-${i}-${process.pid}@example.net>\r\nDate: ${new Date().toUTCString()}\r\n` +
            `MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n` +
            'Hello, this is a small benchmark message.\r\n'.repeat(8)
    );
}

/** An app_voicemail message whose audio part makes it about `bytes` long. */
export function voicemailMessage(i, bytes = 200 * 1024, to = 'user@example.org') {
    const boundary = `----voicemail_${i}${process.pid}`;
    const audio = randomBytes(Math.floor((bytes * 3) / 4))
        .toString('base64')
        .replace(/.{72}/g, '$&\r\n');
    return Buffer.from(
        `From: "Asterisk PBX" <asterisk@pbx.example.net>\r\nTo: <${to}>\r\nSubject: New voicemail ${i} in mailbox 1000\r\n` +
            `Message-ID: <Asterisk-${i}-${process.pid}@pbx.example.net>\r\nDate: ${new Date().toUTCString()}\r\n` +
            'X-Asterisk-VM-Message-Num: 1\r\nX-Asterisk-VM-Server-Name: \r\nX-Asterisk-VM-Context: default\r\n' +
            'X-Asterisk-VM-Extension: 1000\r\nX-Asterisk-VM-Flag: \r\nX-Asterisk-VM-Priority: 1\r\n' +
            'X-Asterisk-VM-Caller-ID-Num: 5551234\r\nX-Asterisk-VM-Caller-ID-Name: Alice\r\nX-Asterisk-VM-Duration: 12\r\n' +
            'X-Asterisk-VM-Category: \r\nX-Asterisk-VM-Message-Type: Message\r\n' +
            `X-Asterisk-VM-Orig-time: ${Math.floor(Date.now() / 1000)}\r\n` +
            `Content-Type: multipart/mixed; boundary="${boundary}"\r\nMIME-Version: 1.0\r\n\r\n` +
            `This is a multi-part message in MIME format.\r\n\r\n--${boundary}\r\n` +
            'Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n' +
            `You have a new voicemail from Alice <5551234>, 12 seconds long.\r\n\r\n--${boundary}\r\n` +
            'Content-Type: audio/x-WAV; name="msg0001.WAV"\r\nContent-Transfer-Encoding: base64\r\n' +
            'Content-Description: Voicemail sound attachment.\r\nContent-Disposition: attachment; filename="msg0001.WAV"\r\n\r\n' +
            `${audio}\r\n\r\n--${boundary}--\r\n`
    );
}
