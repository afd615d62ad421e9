/* vmbridge's native driver on Dovecot 2.4: the settings (see the header for why a file of its
   own). The defaults match the 2.3 driver's: a 20 ms bound on a connect, 1 s between retries. */
#include "lib.h"
#include "settings-parser.h"

#include "push-notification-vmbridge-settings.h"

#undef DEF
#define DEF(type, name, field) \
	SETTING_DEFINE_STRUCT_##type("push_notification_vmbridge_"name, field, \
				     struct push_notification_vmbridge_settings)

/* NOVARS: the key and the url are taken literally (a '%' in them is no variable). */
static const struct setting_define push_notification_vmbridge_setting_defines[] = {
	DEF(STR_NOVARS, "url", url),
	DEF(STR_NOVARS, "key", key),
	DEF(TIME_MSECS, "timeout", timeout_msecs),
	DEF(TIME_MSECS, "retry_interval", retry_msecs),

	SETTING_DEFINE_LIST_END,
};

static const struct push_notification_vmbridge_settings push_notification_vmbridge_default_settings = {
	.url = "",
	.key = "",
	.timeout_msecs = 20,
	.retry_msecs = 1000,
};

const struct setting_parser_info push_notification_vmbridge_setting_parser_info = {
	.name = "push_notification_vmbridge",
	.defines = push_notification_vmbridge_setting_defines,
	.defaults = &push_notification_vmbridge_default_settings,

	.struct_size = sizeof(struct push_notification_vmbridge_settings),
	.pool_offset1 = 1 + offsetof(struct push_notification_vmbridge_settings, pool),
};

/* What the config process looks up in libvmbridge_settings.so (module name "vmbridge_settings"). */
#ifdef VMBRIDGE_SETTINGS_MODULE
extern const char *vmbridge_settings_version;
extern const struct setting_parser_info *const vmbridge_settings_set_infos[];

const char *vmbridge_settings_version = DOVECOT_ABI_VERSION;
const struct setting_parser_info *const vmbridge_settings_set_infos[] = {
	&push_notification_vmbridge_setting_parser_info,
	NULL
};
#endif
