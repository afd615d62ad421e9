// Counts a process's socket writes and reads (and event-loop wake-ups) while a piece of work
// runs, with strace attached to every thread (-f -p). Loopback sends cost ~75–100 µs each on the
// benchmark VM and do not depend on the machine's load, so they judge a change better than msg/s.
// strace slows the traced process: counts only, never timed.
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { once } from 'node:events';

const CALLS = ['write', 'writev', 'sendto', 'sendmsg', 'read', 'readv', 'recvfrom', 'recvmsg', 'epoll_wait', 'epoll_pwait'];

/** Runs work() with strace attached to pid; resolves with the calls counted, split socket/other. */
export async function countSyscalls(pid, outFile, work) {
    rmSync(outFile, { force: true });
    const tracer = spawn('strace', ['-f', '-qq', '-tt', '-y', '-s', '0', '-e', `trace=${CALLS.join(',')}`, '-e', 'signal=none', '-o', outFile, '-p', String(pid)], {
        stdio: ['ignore', 'ignore', 'pipe']
    });
    let err = '';
    tracer.stderr.on('data', d => (err += d));
    // attached once strace has written its first line (the idle child's epoll_wait)
    await waitFor(
        () => {
            try {
                return readFileSync(outFile, 'utf8').length > 0;
            } catch {
                return false;
            }
        },
        () => err
    );
    const result = await work();
    tracer.kill('SIGINT');
    await once(tracer, 'exit');
    return { result, counts: tally(readFileSync(outFile, 'utf8')) };
}

/** socket.write: writes to TCP/unix sockets; socket.read likewise; other: files, pipes, eventfds. */
function tally(text) {
    const counts = { 'socket writes': 0, 'socket reads': 0, 'other writes': 0, 'epoll waits': 0 };
    for (const line of text.split('\n')) {
        const m = /^(?:\d+\s+)?(?:[\d:.]+\s+)?(\w+)\((\d+)(<[^>]*>)?/.exec(line);
        if (!m || line.includes('resumed>')) continue;
        const [, call, , fd = ''] = m;
        const socket = /<(TCP|TCPv6|UNIX|UNIX-STREAM)/.test(fd) || fd.startsWith('<socket:');
        if (call.startsWith('epoll')) counts['epoll waits']++;
        else if (/^(read|readv|recvfrom|recvmsg)$/.test(call)) socket && counts['socket reads']++;
        else if (socket) counts['socket writes']++;
        else counts['other writes']++;
    }
    return counts;
}

async function waitFor(ok, why) {
    for (let i = 0; i < 200; i++) {
        if (ok()) return;
        await new Promise(r => setTimeout(r, 25));
    }
    throw new Error(`strace did not attach: ${why()}`);
}
