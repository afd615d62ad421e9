/* vmbridge's native driver on Dovecot 2.4: its settings, declared to 2.4's settings framework.
   Dovecot 2.4 has no free-form plugin { } block: every key must be known to the config process,
   which learns a third-party plugin's keys only from a module in MODULEDIR/settings/ (config
   loads nothing else). So this file is built twice: into the driver, which reads the settings,
   and alone into libvmbridge_settings.so for the config process (Makefile, `make install`). */
#ifndef PUSH_NOTIFICATION_VMBRIDGE_SETTINGS_H
#define PUSH_NOTIFICATION_VMBRIDGE_SETTINGS_H

#include "settings-parser.h"

/* Inside `push_notification vmbridge { }` (the filter the driver's name selects). */
struct push_notification_vmbridge_settings {
	pool_t pool;

	const char *url;		/* push_notification_vmbridge_url */
	const char *key;		/* push_notification_vmbridge_key: doveconf hides *_key */
	unsigned int timeout_msecs;	/* push_notification_vmbridge_timeout */
	unsigned int retry_msecs;	/* push_notification_vmbridge_retry_interval */
};

extern const struct setting_parser_info push_notification_vmbridge_setting_parser_info;

#endif
