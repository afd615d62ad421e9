/* vmbridge: a native push_notification driver for Dovecot 2.3 and 2.4 (lib22_push_notification_vmbridge_plugin.so).

   Why: the Lua driver (dovecot/vmbridge.lua) gets a fresh Lua state per LMTP/LDA recipient, so its
   "persistent" stream is opened, greeted and closed per recipient, and Dovecot extracts a body
   snippet for every new message that the script never sends. This driver keeps ONE connection
   per mail process, shared by every user, session and recipient of that process, and asks Dovecot
   only for the fields vmbridge uses (no snippet, no body read). Modelled on Dovecot's own
   push-notification-driver-ox.c (a process-global client, per-user config, first user's settings).

   Wire protocol: exactly what src/hook/stream.ts reads from the Lua script. A signed hello line
   {"mac":…,"vmbridge":2,"proc":…,"ts":…} (no `user`: the connection is shared), then one signed
   JSON batch per mail transaction {"mac":…,"proc","seq","ts","user","session","events":[…]}, a
   new message's event with "headers_base64" (the header fields vmbridge classifies by); the
   MAC is HMAC-SHA256 under vmbridge_key over the object's exact bytes without the mac member.
   `proc` is 16 random bytes (hex) per process plus ".<n>" per mail user, with `seq` counting that
   user's batches: a batch dropped while the bridge is down or slow shows as a gap, and the bridge
   recounts that user.

   Never blocks Dovecot for long: the socket is non-blocking; a connect waits at most
   vmbridge_timeout_msecs and after a failure nothing is tried for vmbridge_retry_msecs (batches
   are dropped meanwhile); a batch waits in a bounded buffer written from Dovecot's main ioloop
   after the reply to the command that caused it, and what the kernel does not take at once waits
   there too (a batch that does not fit is dropped whole, so a line is never cut).

   One source for both: what differs in 2.4 (the driver's init, settings from the new settings
   framework instead of plugin { }, a few renamed helpers) is in VMBRIDGE_DOVECOT24 blocks. */

#include "lib.h"
#include "array.h"
#include "hash.h"
#include "str.h"
#include "hex-binary.h"
#include "safe-memset.h"
#include "hmac.h"
#include "sha2.h"
#include "randgen.h"
#include "net.h"
#include "ioloop.h"
#include "time-util.h"
#include "mail-user.h"
#include "mail-storage.h"
#include "mailbox-list.h"
#include "istream.h"
#include "buffer.h"
#include "message-size.h"
#include "base64.h"

#include "push-notification-drivers.h"
#include "push-notification-events.h"
#include "push-notification-txn-msg.h"
#include "push-notification-event-message-common.h"
#include "push-notification-event-messagenew.h"
#include "push-notification-event-messageappend.h"
#include "push-notification-event-flagsset.h"
#include "push-notification-event-flagsclear.h"

#if DOVECOT_PREREQ(2, 4, 0)
#  define VMBRIDGE_DOVECOT24
#endif

#ifdef VMBRIDGE_DOVECOT24
#  include "json-generator.h"
#  include "settings.h"
#  include "push-notification-settings.h"
#  include "push-notification-vmbridge-settings.h"
/* 2.4's str_begins() also returns the rest; this file uses 2.3's two-argument form. */
#  undef str_begins
#  define str_begins(h, n) str_begins_with(h, n)
#else
#  include "json-parser.h"
#endif

#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#define DEFAULT_TIMEOUT_MSECS 20
#define DEFAULT_RETRY_MSECS 1000
/* Batches held while the bridge is slow to read; beyond this they are dropped (seq shows it). */
#define MAX_PENDING_BYTES (1024 * 1024)

/* Only what vmbridge reads: no From/To/Subject/Date, and above all no snippet (a body read). */
#define MESSAGE_FIELDS (PUSH_NOTIFICATION_MESSAGE_FLAGS | \
			PUSH_NOTIFICATION_MESSAGE_KEYWORDS | \
			PUSH_NOTIFICATION_MESSAGE_HDR_MESSAGE_ID)

/* The one connection of this process (shared by all users, like ox_global's http client). */
struct vmbridge_global {
	char *unix_path;	/* unix:/path, else host:port */
	struct ip_addr ip;
	in_port_t port;
	char *key;
	unsigned int timeout_msecs, retry_msecs;

	char proc[33];		/* 16 random bytes, hex: this process */
	unsigned int users;	/* mail users seen: ".<n>" of their proc */

	int fd;
	struct timeout *to;	/* a flush due on a later ioloop turn (after the command's reply) */
	unsigned int turns;	/* ioloop turns `to` lets pass before it writes */
	struct io *io;		/* after the kernel refused bytes (EAGAIN): flush when writable */
	string_t *pending;
	struct timeval retry_at;
};
static struct vmbridge_global *vmb = NULL;

/* Per mail user: its own proc/seq, so a lost batch shows as a gap of that user. */
struct vmbridge_user {
	const char *proc;
	unsigned int seq;
	struct push_notification_event_messagenew_config mn;
	struct push_notification_event_messageappend_config ma;
	struct push_notification_event_flagsset_config fs;
	struct push_notification_event_flagsclear_config fc;
};

struct vmbridge_txn {
	string_t *events;	/* the JSON array's members, comma-separated */
};

/* The header fields vmbridge classifies a message by (voicemail, greeting, fax, receipt,
   notification): src/classify/fields.ts holds the same list and a test compares the two. Sent
   with each new message, so the bridge need not FETCH them over IMAP for mail it did not deliver
   itself: that FETCH cost Dovecot ~10 % more CPU per LMTP message and the bridge 2.8x its CPU
   (bench/README "Classification headers from the driver"). */
static const char *const classify_fields[] = {
	"Content-Type", "Message-ID", "Subject", "Message-Context",
	"X-Asterisk-VM-Message-Num", "X-Asterisk-VM-Server-Name", "X-Asterisk-VM-Context",
	"X-Asterisk-VM-Extension", "X-Asterisk-VM-Flag", "X-Asterisk-VM-Priority",
	"X-Asterisk-VM-Caller-ID-Num", "X-Asterisk-VM-Caller-ID-Name", "X-Asterisk-VM-Duration",
	"X-Asterisk-VM-Category", "X-Asterisk-VM-Message-Type", "X-Asterisk-VM-Orig-date",
	"X-Asterisk-VM-Orig-time", "X-Asterisk-VM-Message-ID", "X-Asterisk-VM-Caller-channel",
	"X-Asterisk-CallerID", "X-Asterisk-CallerIDName", "X-Voicemail-Length",
	"X-VoiceMessageDuration", "X-VoiceMessageSenderName", "X-CallingTelephoneNumber",
	"X-FaxNumberOfPages", NULL
};
/* Larger selections, or header blocks, are not sent: the bridge fetches them over IMAP, as for
   the Lua driver. */
#define CLASSIFY_FIELDS_MAX 16384
#define CLASSIFY_HEADER_MAX (256 * 1024)
/* Fields sent per transaction at most: a COPY or MOVE of thousands of messages is one batch, and
   one that outgrows the driver's buffer (MAX_PENDING_BYTES) is dropped whole. Beyond this, a
   message goes without them (the bridge fetches what it needs; a move needs none). */
#define CLASSIFY_FIELDS_TXN_MAX (64 * 1024)

/* A message event of ours, registered beside push_notification's own: its save and append
   triggers get the mail (a driver's process_msg does not), and read the fields above. */
#define FIELDS_EVENT "vmbridge-fields"

struct vmbridge_fields_data {
	string_t *block;	/* the selected header lines, as stored (sent in base64: 8-bit bytes intact) */
};

/* The fields event's config, one per transaction: what it has sent so far. */
struct vmbridge_fields_budget {
	size_t used;
};

static const char *const handled_events[] = {
	"MessageNew", "MessageAppend", "MessageExpunge", "MessageRead",
	"MessageTrash", "FlagsSet", "FlagsClear", NULL
};

/* ---- the connection ---- */

static void vmbridge_close(void)
{
	timeout_remove(&vmb->to);
	io_remove(&vmb->io);
	if (vmb->fd >= 0)
		i_close_fd(&vmb->fd);
	str_truncate(vmb->pending, 0);
}

static void vmbridge_failed(void)
{
	vmbridge_close();
	i_gettimeofday(&vmb->retry_at);
	timeval_add_msecs(&vmb->retry_at, vmb->retry_msecs);
}

static void vmbridge_flush(void);

static void vmbridge_turn(void *context ATTR_UNUSED)
{
	if (vmb->turns > 0) {
		vmb->turns--;	/* a 0 ms timeout runs again on the next turn */
		return;
	}
	timeout_remove(&vmb->to);
	vmbridge_flush();
}

static void vmbridge_writable(void *context ATTR_UNUSED)
{
	vmbridge_flush();
}

/* Whether the process's main ioloop runs and so will call us back. Not so in a tool that never
   runs one, nor at shutdown: there a batch is written at once. */
static bool vmbridge_loop_runs(void)
{
	return current_ioloop != NULL && io_loop_is_running(io_loop_get_root());
}

/* Hands `pending` to the main ioloop, to be written after the reply (IMAP's tagged OK, LMTP's
   250) to the command whose transaction just committed. Written from inside the commit, the batch
   woke the bridge BEFORE that reply: on a busy machine the woken receiver can take the core
   Dovecot still needs to answer (wakeup preemption), in the IMAP STORE tail. IMAP writes its reply
   when the command's callback returns; LMTP's goes out from an output flush on the NEXT ioloop
   turn, so one turn is let pass first (test/events/native-after-reply.test.ts checks both). A 0 ms
   timeout, not "the socket is writable": Linux calls a unix socket writable only while a quarter of
   its send buffer or less is in use, so behind a bridge that reads late every later batch waited
   in `pending` although the kernel had room, and was lost if the process ended. The root ioloop,
   not the current one: a nested ioloop may be destroyed before it ran our timeout. */
static void vmbridge_flush_later(void)
{
	if (vmb->to != NULL)
		return;
	vmb->turns = 1;
	vmb->to = timeout_add_short_to(io_loop_get_root(), 0, vmbridge_turn, NULL);
}

enum vmbridge_write { VMBRIDGE_SENT, VMBRIDGE_REFUSED, VMBRIDGE_BROKEN };

/* Sends `pending` while the kernel takes it: all of it (SENT), until the kernel would block
   (REFUSED: EAGAIN), or until the connection failed (BROKEN). */
static enum vmbridge_write vmbridge_write_pending(void)
{
	ssize_t n;

	while (str_len(vmb->pending) > 0) {
		n = send(vmb->fd, str_data(vmb->pending), str_len(vmb->pending),
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			str_delete(vmb->pending, 0, n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ?
			VMBRIDGE_REFUSED : VMBRIDGE_BROKEN;
	}
	return VMBRIDGE_SENT;
}

/* Writes what the kernel takes now; when it refuses (EAGAIN) the rest waits until the ioloop
   says the socket is writable, or for the next batch's flush, whichever comes first. */
static void vmbridge_flush(void)
{
	if (vmb->fd < 0)
		return;
	switch (vmbridge_write_pending()) {
	case VMBRIDGE_SENT:
		io_remove(&vmb->io);
		break;
	case VMBRIDGE_REFUSED:
		/* No running ioloop: the rest goes with the next batch or the last flush at exit. */
		if (vmbridge_loop_runs() && vmb->io == NULL)
			vmb->io = io_add_to(io_loop_get_root(), vmb->fd, IO_WRITE, vmbridge_writable, NULL);
		break;
	case VMBRIDGE_BROKEN:
		vmbridge_failed();	/* the bridge went away mid-line: it counts the cut line as lost */
		break;
	}
}

/* Waits up to the timeout for `events` on fd; TRUE when they came. */
static bool vmbridge_wait(short events)
{
	struct pollfd p = { .fd = vmb->fd, .events = events };
	int ret;

	do {
		ret = poll(&p, 1, vmb->timeout_msecs);
	} while (ret < 0 && errno == EINTR);
	return ret > 0 && (p.revents & events) != 0;
}

/* The bridge never writes: anything readable (EOF) means it closed, e.g. it restarted. */
static bool vmbridge_alive(void)
{
	char c;
	ssize_t n = recv(vmb->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);

	return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

static const char *vmbridge_mac(const string_t *body)
{
	struct hmac_context ctx;
	unsigned char digest[SHA256_RESULTLEN];

	hmac_init(&ctx, (const unsigned char *)vmb->key, strlen(vmb->key),
		  &hash_method_sha256);
	hmac_update(&ctx, str_data(body), str_len(body));
	hmac_final(&ctx, digest);
	return binary_to_hex(digest, sizeof(digest));
}

/* `{"mac":"<hex>",` + the body's bytes after its '{' + newline: the line stream.ts reads. */
static void vmbridge_append_signed(string_t *dest, const string_t *body)
{
	str_printfa(dest, "{\"mac\":\"%s\",", vmbridge_mac(body));
	str_append_data(dest, str_data(body) + 1, str_len(body) - 1);
	str_append_c(dest, '\n');
}

static void vmbridge_append_ts(string_t *dest)
{
	struct timeval now;

	i_gettimeofday(&now);
	str_printfa(dest, "\"ts\":%ld.%03ld", (long)now.tv_sec, (long)(now.tv_usec / 1000));
}

/* What the kernel holds survives this process: Dovecot 2.4 ends an LMTP process with its
   connection (restart_request_count = 1), and what is still in `pending` then gets one bounded
   flush; a bridge busy elsewhere (e.g. at its lower CPU priority beside a saturated Dovecot)
   for longer than the timeout lost what did not fit the default send buffer (~200 KB, ~150
   batches). So ask for MAX_PENDING_BYTES there; Linux caps it at net.core.wmem_max (Debian's
   default 212992) and doubles what it grants. With a 4 MB cap 26 batches of ~85 KB outlive a
   process's end, against fewer than 3 before (test/events/native-driver.test.ts). */
static void vmbridge_grow_sndbuf(void)
{
	int size = MAX_PENDING_BYTES;

	(void)setsockopt(vmb->fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
}

static bool vmbridge_connect(void)
{
	string_t *hello;
	struct timeval now;

	i_gettimeofday(&now);
	if (timeval_cmp(&now, &vmb->retry_at) < 0)
		return FALSE;
	vmb->fd = vmb->unix_path != NULL ? net_connect_unix(vmb->unix_path) :
		net_connect_ip(&vmb->ip, vmb->port, NULL);
	if (vmb->fd < 0) {
		vmbridge_failed();
		return FALSE;
	}
	vmbridge_grow_sndbuf();
	/* A TCP connect is in progress: bounded wait for it. */
	if (vmb->unix_path == NULL) {
		if (!vmbridge_wait(POLLOUT) || net_geterror(vmb->fd) != 0) {
			vmbridge_failed();
			return FALSE;
		}
		(void)net_set_tcp_nodelay(vmb->fd, TRUE);
	}
	hello = t_str_new(128);
	str_printfa(hello, "{\"vmbridge\":2,\"proc\":\"%s\",", vmb->proc);
	vmbridge_append_ts(hello);
	str_append_c(hello, '}');
	vmbridge_append_signed(vmb->pending, hello);
	vmbridge_flush();
	return vmb->fd >= 0;
}

/* Hands one signed line on, or drops it whole (bridge down, retry pending, buffer full). */
static void vmbridge_send(const string_t *body)
{
	if (vmb->fd >= 0 && str_len(vmb->pending) == 0 && !vmbridge_alive())
		vmbridge_close();
	if (vmb->fd < 0 && !vmbridge_connect())
		return;
	if (str_len(vmb->pending) + str_len(body) + 80 > MAX_PENDING_BYTES)
		return;
	vmbridge_append_signed(vmb->pending, body);
	if (vmbridge_loop_runs())
		vmbridge_flush_later();
	else
		vmbridge_flush();
}

/* ---- the driver ---- */

static int vmbridge_parse_url(const char *url, pool_t pool ATTR_UNUSED, const char **error_r)
{
	const char *hostport, *p;

	if (str_begins(url, "unix:")) {
		vmb->unix_path = i_strdup(url + 5);
		return 0;
	}
	if (!str_begins(url, "tcp://")) {
		*error_r = "vmbridge: url must be unix:/path or tcp://host:port";
		return -1;
	}
	hostport = url + 6;
	p = strrchr(hostport, ':');
	const char *host = p == NULL ? "" : t_strdup_until(hostport, p);
	if (host[0] == '[' && host[strlen(host) - 1] == ']')
		host = t_strndup(host + 1, strlen(host) - 2);
	if (p == NULL || net_addr2ip(host, &vmb->ip) < 0 ||
	    net_str2port(p + 1, &vmb->port) < 0) {
		*error_r = "vmbridge: url must be tcp://<ip>:<port> (a numeric address)";
		return -1;
	}
	return 0;
}

#ifndef VMBRIDGE_DOVECOT24
static unsigned int vmbridge_setting_uint(struct mail_user *user, const char *name, unsigned int def)
{
	const char *v = mail_user_plugin_getenv(user, name);
	unsigned int n;

	return v != NULL && str_to_uint(v, &n) == 0 ? n : def;
}
#endif

/* Sets up the process's connection (not yet connected) from the first user's settings. */
static int vmbridge_start(const char *url, const char *key, unsigned int timeout_msecs,
			  unsigned int retry_msecs, pool_t pool, const char **error_r)
{
	unsigned char rnd[16];

	/* poll() takes an int: beyond, e.g. 2.4's "infinite", a connect could block Dovecot forever */
	if (timeout_msecs > INT_MAX) {
		*error_r = "vmbridge: the timeout must be finite";
		return -1;
	}
	vmb = i_new(struct vmbridge_global, 1);
	vmb->fd = -1;
	vmb->pending = str_new(default_pool, 1024);
	if (vmbridge_parse_url(url, pool, error_r) < 0) {
		str_free(&vmb->pending);
		i_free_and_null(vmb);
		return -1;
	}
	vmb->key = i_strdup(key);
	vmb->timeout_msecs = timeout_msecs;
	vmb->retry_msecs = retry_msecs;
	random_fill(rnd, sizeof(rnd));
	i_assert(sizeof(vmb->proc) == sizeof(rnd) * 2 + 1);
	memcpy(vmb->proc, binary_to_hex(rnd, sizeof(rnd)), sizeof(rnd) * 2 + 1);
	return 0;
}

/* The header block's lines of the fields in classify_fields (continuations included), as stored.
   A scan of the raw header, not mail_get_header_stream(): that one parses every header line into
   Dovecot's cache machinery and cost 2-4 % of Dovecot's CPU per LMTP message. */
static bool vmbridge_fields_read(struct mail *mail, string_t *dest)
{
	struct message_size hdr_size;
	struct istream *input;
	const unsigned char *data;
	size_t size, pos, end, n;
	buffer_t *raw;
	bool keep = FALSE;

	if (mail_get_hdr_stream(mail, &hdr_size, &input) < 0 ||
	    hdr_size.physical_size > CLASSIFY_HEADER_MAX)
		return FALSE;
	raw = t_buffer_create(hdr_size.physical_size + 1);
	i_stream_seek(input, 0);
	while (raw->used < hdr_size.physical_size &&
	       i_stream_read_more(input, &data, &size) > 0) {
		size = I_MIN(size, hdr_size.physical_size - raw->used);
		buffer_append(raw, data, size);
		i_stream_skip(input, size);
	}
	if (raw->used < hdr_size.physical_size)
		return FALSE;
	data = raw->data;
	for (pos = 0; pos < raw->used; pos = end) {
		const unsigned char *nl = memchr(data + pos, '\n', raw->used - pos);
		const unsigned char *colon;

		end = nl == NULL ? raw->used : (size_t)(nl - data) + 1;
		if (data[pos] != ' ' && data[pos] != '\t') {
			colon = memchr(data + pos, ':', end - pos);
			n = colon == NULL ? 0 : (size_t)(colon - (data + pos));
			while (n > 0 && (data[pos + n - 1] == ' ' || data[pos + n - 1] == '\t'))
				n--;
			keep = FALSE;
			for (unsigned int i = 0; n > 0 && !keep && classify_fields[i] != NULL; i++) {
				keep = strlen(classify_fields[i]) == n &&
				       strncasecmp(classify_fields[i], (const char *)data + pos, n) == 0;
			}
		}
		if (keep)
			str_append_data(dest, data + pos, end - pos);
	}
	return str_len(dest) <= CLASSIFY_FIELDS_MAX;
}

static void vmbridge_fields_msg(struct push_notification_txn *ptxn,
			       struct push_notification_event_config *ec,
			       struct push_notification_txn_msg *msg, struct mail *mail)
{
	struct vmbridge_fields_budget *budget = ec->config;
	struct vmbridge_fields_data *data;
	string_t *block;
	bool ok;

	if (push_notification_txn_msg_get_eventdata(msg, FIELDS_EVENT) != NULL ||
	    budget->used >= CLASSIFY_FIELDS_TXN_MAX)
		return;
	block = str_new(ptxn->pool, 512);
	T_BEGIN {
		ok = vmbridge_fields_read(mail, block);
	} T_END;
	if (!ok || budget->used + str_len(block) > CLASSIFY_FIELDS_TXN_MAX)
		return;	/* unreadable or too large: the bridge fetches them itself */
	budget->used += str_len(block);
	data = p_new(ptxn->pool, struct vmbridge_fields_data, 1);
	data->block = block;
	push_notification_txn_msg_set_eventdata(ptxn, msg, ec, data);
}

static const struct push_notification_event vmbridge_fields_event = {
	.name = FIELDS_EVENT,
	.msg_triggers = {
		.save = vmbridge_fields_msg,
		.append = vmbridge_fields_msg,
	},
};

/* Each user's own proc (".<n>") and seq, and the fields asked of Dovecot. */
static void vmbridge_init_user(pool_t pool, void **context)
{
	struct vmbridge_user *vu;

	vu = p_new(pool, struct vmbridge_user, 1);
	vu->proc = p_strdup_printf(pool, "%s.%u", vmb->proc, ++vmb->users);
	vu->mn.flags = MESSAGE_FIELDS;
	vu->ma.flags = MESSAGE_FIELDS;
	*context = vu;
}

#ifndef VMBRIDGE_DOVECOT24
/* The first user's settings configure the process's connection (as the OX driver does). */
static int vmbridge_init_global(struct push_notification_driver_config *config,
				struct mail_user *user, pool_t pool, const char **error_r)
{
	const char *url = hash_table_lookup(config->config, (const char *)"url");
	const char *key = mail_user_plugin_getenv(user, "vmbridge_key");

	if (url == NULL)
		url = mail_user_plugin_getenv(user, "vmbridge_url");
	if (url == NULL) {
		*error_r = "vmbridge: url missing (push_notification_driver = vmbridge:url=unix:/path)";
		return -1;
	}
	if (key == NULL || key[0] == '\0') {
		*error_r = "vmbridge: vmbridge_key is not set (the key file of `vmbridge dovecot-config`)";
		return -1;
	}
	return vmbridge_start(url, key,
			      vmbridge_setting_uint(user, "vmbridge_timeout_msecs", DEFAULT_TIMEOUT_MSECS),
			      vmbridge_setting_uint(user, "vmbridge_retry_msecs", DEFAULT_RETRY_MSECS),
			      pool, error_r);
}

static int vmbridge_init(struct push_notification_driver_config *config,
			 struct mail_user *user, pool_t pool, void **context,
			 const char **error_r)
{
	if (vmb == NULL && vmbridge_init_global(config, user, pool, error_r) < 0)
		return -1;
	vmbridge_init_user(pool, context);
	return 0;
}
#else
/* 2.4: the settings of `push_notification <name> { }` (name: the driver's, "vmbridge"), read
   the way the OX driver reads its own; the first user's configure the process's connection. */
static int vmbridge_init_global(struct mail_user *user, const char *name, pool_t pool,
				const char **error_r)
{
	const struct push_notification_vmbridge_settings *set;
	int ret;

	if (settings_get_filter(user->event, PUSH_NOTIFICATION_SETTINGS_FILTER_NAME, name,
				&push_notification_vmbridge_setting_parser_info, 0,
				&set, error_r) < 0)
		return -1;
	if (set->url[0] == '\0') {
		*error_r = "vmbridge: push_notification_vmbridge_url is not set";
		ret = -1;
	} else if (set->key[0] == '\0') {
		*error_r = "vmbridge: push_notification_vmbridge_key is not set (the key file of `vmbridge dovecot-config`)";
		ret = -1;
	} else {
		ret = vmbridge_start(set->url, set->key, set->timeout_msecs,
				     set->retry_msecs, pool, error_r);
	}
	settings_free(set);
	return ret;
}

static int vmbridge_init(struct mail_user *user, pool_t pool, const char *name,
			 void **context, const char **error_r)
{
	if (vmb == NULL && vmbridge_init_global(user, name, pool, error_r) < 0)
		return -1;
	vmbridge_init_user(pool, context);
	return 0;
}
#endif

static bool vmbridge_begin_txn(struct push_notification_driver_txn *dtxn)
{
	struct vmbridge_user *vu = dtxn->duser->context;
	const struct push_notification_event *event;
	struct vmbridge_txn *txn;

	array_foreach_elem(push_notification_get_events(), event) {
		const char *name = event->name;
		void *config = NULL;

		if (!str_array_find(handled_events, name) &&
		    strcmp(name, FIELDS_EVENT) != 0)
			continue;
		if (strcmp(name, "MessageNew") == 0)
			config = &vu->mn;
		else if (strcmp(name, "MessageAppend") == 0)
			config = &vu->ma;
		else if (strcmp(name, "FlagsSet") == 0)
			config = &vu->fs;
		else if (strcmp(name, "FlagsClear") == 0)
			config = &vu->fc;
		else if (strcmp(name, FIELDS_EVENT) == 0)
			config = p_new(dtxn->ptxn->pool, struct vmbridge_fields_budget, 1);
		else if (event->init.default_config != NULL)
			config = event->init.default_config();
#ifdef VMBRIDGE_DOVECOT24
		/* 2.4: the event handlers log (debug) to this event */
		push_notification_event_init(dtxn, name, config, dtxn->ptxn->event);
#else
		push_notification_event_init(dtxn, name, config);
#endif
	}
	txn = p_new(dtxn->ptxn->pool, struct vmbridge_txn, 1);
	txn->events = str_new(dtxn->ptxn->pool, 256);
	dtxn->context = txn;
	return TRUE;
}

static void json_string_member(string_t *dest, const char *name, const char *value)
{
	str_printfa(dest, ",\"%s\":\"", name);
	json_append_escaped(dest, value);
	str_append_c(dest, '"');
}

static void json_flags(string_t *dest, enum mail_flags flags)
{
	static const struct { enum mail_flags flag; const char *name; } names[] = {
		{ MAIL_ANSWERED, "\\\\Answered" }, { MAIL_FLAGGED, "\\\\Flagged" },
		{ MAIL_DELETED, "\\\\Deleted" }, { MAIL_SEEN, "\\\\Seen" },
		{ MAIL_DRAFT, "\\\\Draft" }, { MAIL_RECENT, "\\\\Recent" },
	};
	bool first = TRUE;

	str_append(dest, ",\"flags\":[");
	for (unsigned int i = 0; i < N_ELEMENTS(names); i++) {
		if ((flags & names[i].flag) == 0)
			continue;
		str_printfa(dest, "%s\"%s\"", first ? "" : ",", names[i].name);
		first = FALSE;
	}
	str_append_c(dest, ']');
}

static void json_keywords(string_t *dest, const char *const *kw, unsigned int count)
{
	str_append(dest, ",\"keywords\":[");
	for (unsigned int i = 0; i < count; i++) {
		str_append(dest, i == 0 ? "\"" : ",\"");
		json_append_escaped(dest, kw[i]);
		str_append_c(dest, '"');
	}
	str_append_c(dest, ']');
}

static void json_keyword_array(string_t *dest, const ARRAY_TYPE(keywords) *kw)
{
	unsigned int count = 0;
	const char *const *list = array_is_created(kw) ? array_get(kw, &count) : NULL;

	json_keywords(dest, list, count);
}

/* What OpenChange's plugin sends as folder and separator (src/publish/folders.ts). */
static void json_storage(string_t *dest, struct mailbox *box)
{
	char sep = mailbox_list_get_hierarchy_sep(mailbox_get_namespace(box)->list);

	json_string_member(dest, "storage_name", mailbox_get_name(box));
	if (sep != '\0')
		json_string_member(dest, "storage_sep", t_strdup_printf("%c", sep));
}

static void json_message(string_t *dest, struct mailbox *box, const char *message_id,
			 enum mail_flags flags, const char *const *keywords,
			 const struct vmbridge_fields_data *fields)
{
	json_storage(dest, box);
	if (message_id != NULL)
		json_string_member(dest, "message_id", message_id);
	if (fields != NULL) {
		str_append(dest, ",\"headers_base64\":\"");
		base64_encode(str_data(fields->block), str_len(fields->block), dest);
		str_append_c(dest, '"');
	}
	json_flags(dest, flags);
	json_keywords(dest, keywords, keywords == NULL ? 0 : str_array_length(keywords));
}

static void vmbridge_event(string_t *dest, struct push_notification_driver_txn *dtxn,
			   struct push_notification_txn_msg *msg,
			   const struct push_notification_txn_event *event,
			   const struct vmbridge_fields_data *fields)
{
	const char *name = event->event->event->name;

	if (strcmp(name, FIELDS_EVENT) == 0)
		return;	/* carried by the message's MessageNew or MessageAppend */

	if (str_len(dest) > 0)
		str_append_c(dest, ',');
	str_printfa(dest, "{\"name\":\"%s\"", name);
	json_string_member(dest, "mailbox", msg->mailbox);
	str_printfa(dest, ",\"uid\":%u,\"uid_validity\":%u", msg->uid, msg->uid_validity);
	if (strcmp(name, "MessageNew") == 0) {
		const struct push_notification_event_messagenew_data *d = event->data;
		json_message(dest, dtxn->ptxn->mbox, d->message_id, d->flags, d->keywords, fields);
	} else if (strcmp(name, "MessageAppend") == 0) {
		const struct push_notification_event_messageappend_data *d = event->data;
		json_message(dest, dtxn->ptxn->mbox, d->message_id, d->flags, d->keywords, fields);
	} else if (strcmp(name, "FlagsSet") == 0) {
		const struct push_notification_event_flagsset_data *d = event->data;
		json_flags(dest, d->flags_set);
		json_keyword_array(dest, &d->keywords_set);
	} else if (strcmp(name, "FlagsClear") == 0) {
		const struct push_notification_event_flagsclear_data *d = event->data;
		json_flags(dest, d->flags_clear);
		json_keyword_array(dest, &d->keywords_clear);
	}
	str_append_c(dest, '}');
}

static void vmbridge_process_msg(struct push_notification_driver_txn *dtxn,
				 struct push_notification_txn_msg *msg)
{
	struct vmbridge_txn *txn = dtxn->context;
	struct push_notification_txn_event *event;
	const struct vmbridge_fields_data *fields;

	if (!array_is_created(&msg->eventdata))
		return;
	fields = push_notification_txn_msg_get_eventdata(msg, FIELDS_EVENT);
	array_foreach_elem(&msg->eventdata, event)
		vmbridge_event(txn->events, dtxn, msg, event, fields);
}

static void vmbridge_end_txn(struct push_notification_driver_txn *dtxn, bool success)
{
	struct vmbridge_user *vu = dtxn->duser->context;
	struct vmbridge_txn *txn = dtxn->context;
	struct mail_user *user = dtxn->ptxn->muser;
	string_t *body;

	if (!success || str_len(txn->events) == 0 || vmb == NULL)
		return;
	T_BEGIN {
		body = t_str_new(str_len(txn->events) + 256);
		str_printfa(body, "{\"proc\":\"%s\",\"seq\":%u,", vu->proc, ++vu->seq);
		vmbridge_append_ts(body);
		json_string_member(body, "user", user->username);
		json_string_member(body, "session", user->session_id == NULL ? "" : user->session_id);
		str_append(body, ",\"events\":[");
		str_append_str(body, txn->events);
		str_append(body, "]}");
		vmbridge_send(body);
	} T_END;
}

/* Process end: last bounded flush, then close (and no io of ours outlives the module). */
static void vmbridge_free(void)
{
	if (vmb == NULL)
		return;
	/* Send first, poll only when refused: poll() reports a unix socket writable only once its
	   queue is down to a quarter of the send buffer, while send() takes up to all of it. */
	while (vmb->fd >= 0 && vmbridge_write_pending() == VMBRIDGE_REFUSED && vmbridge_wait(POLLOUT))
		;
	vmbridge_close();	/* and its timeout and io: this loop polls, it does not run the ioloop */
	str_free(&vmb->pending);
	if (vmb->key != NULL)
		safe_memset(vmb->key, 0, strlen(vmb->key));
	i_free(vmb->key);
	i_free(vmb->unix_path);
	i_free_and_null(vmb);
}

/* push_notification calls this after EVERY user's deinit (not only at process end), so the OX
   driver's "free when no user is left" would close the connection after each LMTP transaction:
   the connection stays for the process's life instead, closed by the plugin's deinit. */
static void vmbridge_cleanup(void)
{
}

static const struct push_notification_driver push_notification_driver_vmbridge = {
	.name = "vmbridge",
	.v = {
		.init = vmbridge_init,
		.begin_txn = vmbridge_begin_txn,
		.process_msg = vmbridge_process_msg,
		.end_txn = vmbridge_end_txn,
		.cleanup = vmbridge_cleanup,
	},
};

void push_notification_vmbridge_plugin_init(struct module *module);
void push_notification_vmbridge_plugin_deinit(void);

void push_notification_vmbridge_plugin_init(struct module *module ATTR_UNUSED)
{
	push_notification_driver_register(&push_notification_driver_vmbridge);
	push_notification_event_register(&vmbridge_fields_event);
}

void push_notification_vmbridge_plugin_deinit(void)
{
	vmbridge_free();
	push_notification_event_unregister(&vmbridge_fields_event);
	push_notification_driver_unregister(&push_notification_driver_vmbridge);
}

const char *push_notification_vmbridge_plugin_version = DOVECOT_ABI_VERSION;
const char *push_notification_vmbridge_plugin_dependencies[] = { "push_notification", NULL };
