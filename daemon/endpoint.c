/*
 * endpoint.c: parse "HOST:PORT" strings.  See endpoint.h.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "endpoint.h"

static int
endpoint_port(const char *s, uint16_t *port, char *err, size_t errlen)
{
	unsigned long v;
	char *end;

	if (*s == '\0' || *s < '0' || *s > '9') {
		snprintf(err, errlen, "port '%s' is not a number", s);
		return (-1);
	}
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > 65535) {
		snprintf(err, errlen, "port '%s' is not a number from 0 to 65535", s);
		return (-1);
	}
	*port = (uint16_t)v;
	return (0);
}

int
endpoint_parse(const char *s, uint16_t defport, struct endpoint *out,
    char *err, size_t errlen)
{
	const char *host, *colon, *close;
	size_t hlen;

	out->port = defport;
	if (s[0] == '[') {
		if ((close = strchr(s, ']')) == NULL) {
			snprintf(err, errlen, "'%s' has '[' without ']'", s);
			return (-1);
		}
		host = s + 1;
		hlen = (size_t)(close - host);
		if (close[1] == ':') {
			if (endpoint_port(close + 2, &out->port, err, errlen) != 0)
				return (-1);
		} else if (close[1] != '\0') {
			snprintf(err, errlen, "'%s' has text after ']' that is not ':PORT'", s);
			return (-1);
		}
	} else {
		host = s;
		colon = strchr(s, ':');
		if (colon != NULL && strchr(colon + 1, ':') != NULL) {
			snprintf(err, errlen,
			    "'%s' looks like an IPv6 address: write it as [ADDRESS]:PORT", s);
			return (-1);
		}
		if (colon != NULL) {
			hlen = (size_t)(colon - s);
			if (endpoint_port(colon + 1, &out->port, err, errlen) != 0)
				return (-1);
		} else
			hlen = strlen(s);
	}
	if (hlen == 0) {
		snprintf(err, errlen, "'%s' names no host", s);
		return (-1);
	}
	if (hlen >= sizeof(out->host)) {
		snprintf(err, errlen, "host in '%.40s...' is longer than %zu bytes",
		    s, sizeof(out->host) - 1);
		return (-1);
	}
	memcpy(out->host, host, hlen);
	out->host[hlen] = '\0';
	return (0);
}

char *
endpoint_format(const struct endpoint *ep, char *buf, size_t len)
{
	if (strchr(ep->host, ':') != NULL)
		snprintf(buf, len, "[%s]:%u", ep->host, (unsigned)ep->port);
	else
		snprintf(buf, len, "%s:%u", ep->host, (unsigned)ep->port);
	return (buf);
}
