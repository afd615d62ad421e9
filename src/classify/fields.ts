// The header fields classify() reads, and nothing else: the native Dovecot driver
// (dovecot/native/, `classify_fields`, the same list — test/classify/fields.test.ts compares them)
// sends these of every new message, so that mail the bridge did not deliver itself is classified
// without a header FETCH over IMAP. classify() of these fields alone gives what it gives of the
// whole header block (the same test, over the fixture corpus).

/** Names as Dovecot looks them up (case-insensitive). */
export const CLASSIFY_FIELDS = [
    'Content-Type',
    'Message-ID',
    'Subject',
    'Message-Context',
    'X-Asterisk-VM-Message-Num',
    'X-Asterisk-VM-Server-Name',
    'X-Asterisk-VM-Context',
    'X-Asterisk-VM-Extension',
    'X-Asterisk-VM-Flag',
    'X-Asterisk-VM-Priority',
    'X-Asterisk-VM-Caller-ID-Num',
    'X-Asterisk-VM-Caller-ID-Name',
    'X-Asterisk-VM-Duration',
    'X-Asterisk-VM-Category',
    'X-Asterisk-VM-Message-Type',
    'X-Asterisk-VM-Orig-date',
    'X-Asterisk-VM-Orig-time',
    'X-Asterisk-VM-Message-ID',
    'X-Asterisk-VM-Caller-channel',
    'X-Asterisk-CallerID',
    'X-Asterisk-CallerIDName',
    'X-Voicemail-Length',
    'X-VoiceMessageDuration',
    'X-VoiceMessageSenderName',
    'X-CallingTelephoneNumber',
    'X-FaxNumberOfPages'
] as const;

/** The largest selection the driver sends (raw bytes; larger ones are fetched over IMAP). */
export const CLASSIFY_FIELDS_MAX = 16_384;
