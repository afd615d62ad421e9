// What an administrator changes when Asterisk refuses one of vmbridge's AMI actions. Permissions
// are from the source (facts-asterisk.md): VoicemailRefresh is registered with EVENT_FLAG_USER,
// MWIUpdate (res_mwi_external_ami) with EVENT_FLAG_CALL; MessageWaiting events are class call.
export const MANAGER_WRITE = 'write = system,call,reporting,user';
export const MANAGER_READ = 'read = call';

export function amiFix(action: string, reason: string): string {
    if (/permission denied/i.test(reason)) {
        const cls = action === 'MWIUpdate' ? 'call' : 'user';
        return `manager.conf: give the vmbridge user the "${cls}" write class (e.g. ${MANAGER_WRITE}), then "manager reload"`;
    }
    if (/invalid\/unknown command|unknown command/i.test(reason)) {
        return action === 'MWIUpdate'
            ? 'load res_mwi_external_ami ("module load res_mwi_external_ami.so"; it cannot run beside app_voicemail\'s own MWI) or use --ami-mode refresh'
            : 'load app_voicemail ("module load app_voicemail.so") or use --ami-mode mwiupdate';
    }
    return 'see Asterisk\'s log ("manager set debug on")';
}
