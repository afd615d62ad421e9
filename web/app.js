// The live page: sign in (Basic with the mail password, or Bearer with an app token), then the
// voicemail lamp per box (GET /v1/mwi, kept current by mwi events) and the events as they arrive
// (GET /v1/events, read with fetch so the credentials go in a header, never in the URL).
'use strict';
const $ = id => document.getElementById(id);
let abort = null;
let cursor;

function authHeader(user, secret) {
    if (!user) return 'Bearer ' + secret;
    return 'Basic ' + btoa(String.fromCharCode(...new TextEncoder().encode(user + ':' + secret)));
}

async function get(path, auth, signal) {
    return fetch(path, { headers: { authorization: auth, 'x-vmbridge-page': '1' }, cache: 'no-store', signal });
}

function lamp(box) {
    const id = 'box-' + box.mailbox;
    let li = document.getElementById(id);
    if (!li) {
        li = document.createElement('li');
        li.id = id;
        li.className = 'box';
        li.innerHTML = '<span class="lamp" aria-hidden="true"></span><span class="label"></span>';
        $('boxes').append(li);
    }
    li.querySelector('.lamp').classList.toggle('on', box.new > 0);
    li.dataset.new = String(box.new);
    li.querySelector('.label').textContent = `Box ${box.mailbox}: ${box.new} new, ${box.old} old` + (box.urgent ? `, ${box.urgent} urgent` : '');
}

function describe(ev) {
    const vm = ev.voicemail || {};
    const caller = vm.callerIdName || vm.callerIdNum ? ` from ${[vm.callerIdName, vm.callerIdNum].filter(Boolean).join(' ')}` : '';
    const dur = vm.durationSec !== undefined ? `, ${vm.durationSec} s` : '';
    switch (ev.type) {
        case 'newmail':
            return `New ${ev.class || 'message'}${caller}${dur} in ${ev.mailbox || 'INBOX'}`;
        case 'flag':
            return ev.flags && ev.flags.set.includes('\\Seen') ? `Read: message ${ev.uid} in ${ev.mailbox}` : `Flags changed on message ${ev.uid} in ${ev.mailbox}`;
        case 'move':
            return `Moved from ${ev.from && ev.from.mailbox} to ${ev.to && ev.to.mailbox}`;
        case 'delete':
            return `Deleted message ${ev.uid ?? ''} in ${ev.mailbox || ''}`;
        case 'mwi':
            return `Box ${ev.mwi.mailbox}: ${ev.mwi.new} new`;
        case 'reset':
            return 'Resynchronised';
        default:
            return ev.type;
    }
}

function show(ev) {
    if (ev.type === 'mwi' && ev.mwi) lamp(ev.mwi);
    const li = document.createElement('li');
    const t = document.createElement('time');
    t.dateTime = ev.ts;
    t.textContent = new Date(ev.ts).toLocaleTimeString();
    li.append(t, document.createTextNode(describe(ev)));
    li.dataset.type = ev.type;
    $('events').prepend(li);
    while ($('events').children.length > 100) $('events').lastElementChild.remove();
}

async function stream(auth, signal) {
    for (;;) {
        try {
            const res = await get('/v1/events' + (cursor !== undefined ? '?since=' + cursor : ''), auth, signal);
            if (res.status === 401 || res.status === 403) throw new Error('refused');
            if (!res.ok) throw new Error('status ' + res.status);
            $('status').textContent = 'Connected';
            if (cursor === undefined) for (const b of (await (await get('/v1/mwi', auth, signal)).json()).boxes) lamp(b);
            const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
            let buf = '';
            for (;;) {
                const { value, done } = await reader.read();
                if (done) break;
                buf += value;
                let i;
                while ((i = buf.indexOf('\n\n')) >= 0) {
                    const block = buf.slice(0, i);
                    buf = buf.slice(i + 2);
                    let data = '';
                    for (const line of block.split('\n')) {
                        if (line.startsWith('id: ')) cursor = Number(line.slice(4));
                        else if (line.startsWith('data: ')) data += line.slice(6);
                    }
                    if (data) show(JSON.parse(data));
                }
            }
        } catch (err) {
            if (signal.aborted) return;
            if (err.message === 'refused') throw err;
        }
        $('status').textContent = 'Reconnecting…';
        await new Promise(r => setTimeout(r, 2000));
    }
}

$('signin').addEventListener('submit', async e => {
    e.preventDefault();
    $('signin-error').textContent = '';
    const auth = authHeader($('user').value.trim(), $('secret').value);
    const probe = await get('/v1/mwi', auth).catch(() => null);
    if (!probe || !probe.ok) {
        $('signin-error').textContent = probe && probe.status === 429 ? 'Too many attempts; wait a little.' : 'Sign-in refused.';
        return;
    }
    $('secret').value = '';
    $('signin').hidden = true;
    $('live').hidden = false;
    abort = new AbortController();
    cursor = undefined;
    stream(auth, abort.signal).catch(() => {
        $('signin').hidden = false;
        $('live').hidden = true;
        $('signin-error').textContent = 'Signed out: access refused.';
    });
});

$('signout').addEventListener('click', () => {
    if (abort) abort.abort();
    $('boxes').replaceChildren();
    $('events').replaceChildren();
    $('live').hidden = true;
    $('signin').hidden = false;
});
