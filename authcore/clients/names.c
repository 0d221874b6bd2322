/*
 * The names of scopes, grants and client authentication kinds, and the scope syntax.
 */
#include <string.h>

#include "authcore/clients/clients_int.h"
#include "common/buf.h"

const char *const clients_scope_names[] = {
	"openid", "profile", "phone", "email", "yh_id_number", "offline_access", "org",
	"staff", "qr_login", NULL,
};
const char *const clients_grant_names[] = {
	"authorization_code", "refresh_token", "client_credentials", "device_code", NULL,
};
static const char *const auth_names[] = { "none", "client_secret", "private_key_jwt" };
static const char *const cas_user_names[] = { "subject", "legacy" };

#define NAMES_N(a) (sizeof(a) / sizeof((a)[0]))

/* names[v] of the n names, or "?" when v is past them. */
static const char *
name_at(const char *const *names, size_t n, unsigned v)
{
	return v < n ? names[v] : "?";
}

/* The index of s among the n names into *out. 0 or YH_ERR_INVALID. */
static int
name_index(const char *const *names, size_t n, const char *s, unsigned *out)
{
	for (unsigned i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = i;
			return 0;
		}
	return YH_ERR_INVALID;
}

const char *
clients_sector(const struct clients_client *c)
{
	return (c->sector != NULL && c->sector[0] != '\0') ? c->sector : c->id;
}

const char *
clients_scope_name(unsigned bit)
{
	for (unsigned i = 0; clients_scope_names[i] != NULL; i++)
		if (bit == 1u << i)
			return clients_scope_names[i];
	return NULL;
}

static unsigned
scope_bit(const char *s, size_t len)
{
	for (unsigned i = 0; clients_scope_names[i] != NULL; i++)
		if (strlen(clients_scope_names[i]) == len && memcmp(clients_scope_names[i], s,
		    len) == 0)
			return 1u << i;
	return 0;
}

/* scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), RFC 6749 3.3 */
static bool
scope_char_ok(unsigned char c)
{
	return c >= 0x21 && c <= 0x7e && c != '"' && c != '\\';
}

int
clients_scope_parse(const char *s, unsigned *bits, unsigned *unknown)
{
	size_t len, i = 0;

	*bits = 0;
	if (unknown != NULL)
		*unknown = 0;
	if (s == NULL)
		return YH_ERR_INVALID;
	if ((len = strnlen(s, SCOPE_TEXT_MAX + 1)) > SCOPE_TEXT_MAX)
		return YH_ERR_TOO_LONG;
	while (i < len) {
		size_t start;
		unsigned b;

		if (s[i] == ' ') {
			i++;
			continue;
		}
		for (start = i; i < len && s[i] != ' '; i++)
			if (!scope_char_ok((unsigned char)s[i])) {
				*bits = 0;
				return YH_ERR_INVALID;
			}
		if ((b = scope_bit(s + start, i - start)) != 0) {
			*bits |= b;
		} else if (unknown != NULL) {
			(*unknown)++;
		} else {
			*bits = 0;
			return YH_ERR_INVALID;
		}
	}
	return 0;
}

int
clients_scope_format(unsigned bits, char *out, size_t outsz)
{
	struct yh_buf b;
	int rc = 0;

	yh_buf_init(&b, 1024);
	for (unsigned i = 0; rc == 0 && clients_scope_names[i] != NULL; i++)
		if (bits & (1u << i))
			rc = yh_buf_printf(&b, "%s%s", b.len > 0 ? " " : "",
			    clients_scope_names[i]);
	if (rc == 0)
		rc = yh_strlcpy(out, yh_buf_cstr(&b), outsz);
	else if (outsz > 0)
		out[0] = '\0';
	yh_buf_free(&b);
	return rc;
}

int
clients_grant_parse(const char *name, unsigned *bit)
{
	*bit = 0;
	for (unsigned i = 0; name != NULL && clients_grant_names[i] != NULL; i++)
		if (strcmp(name, clients_grant_names[i]) == 0) {
			*bit = 1u << i;
			return 0;
		}
	return YH_ERR_INVALID;
}

const char *
clients_grant_name(unsigned bit)
{
	for (unsigned i = 0; clients_grant_names[i] != NULL; i++)
		if (bit == 1u << i)
			return clients_grant_names[i];
	return NULL;
}

const char *
clients_auth_name(enum clients_auth a)
{
	return name_at(auth_names, NAMES_N(auth_names), (unsigned)a);
}

int
clients_auth_from_name(const char *s, enum clients_auth *out)
{
	unsigned i;

	if (name_index(auth_names, NAMES_N(auth_names), s, &i) != 0)
		return YH_ERR_INVALID;
	*out = (enum clients_auth)i;
	return 0;
}

const char *
clients_cas_user_name(enum clients_cas_user u)
{
	return name_at(cas_user_names, NAMES_N(cas_user_names), (unsigned)u);
}

int
clients_cas_user_parse(const char *s, enum clients_cas_user *out)
{
	unsigned i;

	if (name_index(cas_user_names, NAMES_N(cas_user_names), s, &i) != 0)
		return YH_ERR_INVALID;
	*out = (enum clients_cas_user)i;
	return 0;
}
