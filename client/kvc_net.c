/*
 * kvc_net.c: endpoints and sockets for libkvclient.  See kvc.h.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvc.h"

static int
kvc_net_port_ok(const char *p)
{
	unsigned long v = 0;
	size_t i;

	if (p[0] == '\0' || strlen(p) > 5)
		return (0);
	for (i = 0; p[i] != '\0'; i++) {
		if (p[i] < '0' || p[i] > '9')
			return (0);
		v = v * 10 + (unsigned long)(p[i] - '0');
	}
	return (v >= 1 && v <= 65535);
}

int
kvc_net_parse(struct kvc_endpoint *ep, const char *s, char *err)
{
	const char *host, *port, *colon, *close;
	size_t hostlen;

	if (s == NULL)
		s = KVC_DEFAULT_HOST ":" KVC_DEFAULT_PORT;
	if (s[0] == '[') {
		/* "[v6]:port" or "[v6]": brackets keep the address's colons apart. */
		if ((close = strchr(s, ']')) == NULL) {
			kvc_errf(err, "endpoint \"%s\": no ']' after the IPv6 address", s);
			return (KV_ERR_ARG);
		}
		host = s + 1;
		hostlen = (size_t)(close - host);
		if (close[1] == '\0')
			port = KVC_DEFAULT_PORT;
		else if (close[1] == ':')
			port = close + 2;
		else {
			kvc_errf(err, "endpoint \"%s\": expected ':PORT' after ']'", s);
			return (KV_ERR_ARG);
		}
	} else if ((colon = strchr(s, ':')) != NULL &&
	    strchr(colon + 1, ':') != NULL) {
		/* Two colons and no brackets: a bare IPv6 address. */
		host = s;
		hostlen = strlen(s);
		port = KVC_DEFAULT_PORT;
	} else if (colon != NULL) {
		host = s;
		hostlen = (size_t)(colon - s);
		port = colon + 1;
	} else {
		host = s;
		hostlen = strlen(s);
		port = KVC_DEFAULT_PORT;
	}
	if (hostlen == 0) {
		kvc_errf(err, "endpoint \"%s\": no host", s);
		return (KV_ERR_ARG);
	}
	if (hostlen >= sizeof(ep->host)) {
		kvc_errf(err, "endpoint: host name of %zu bytes is too long", hostlen);
		return (KV_ERR_ARG);
	}
	if (!kvc_net_port_ok(port)) {
		kvc_errf(err, "endpoint \"%s\": port \"%s\" is not a number from 1 to 65535",
		    s, port);
		return (KV_ERR_ARG);
	}
	memcpy(ep->host, host, hostlen);
	ep->host[hostlen] = '\0';
	(void)snprintf(ep->port, sizeof(ep->port), "%s", port);
	if (memchr(ep->host, ':', hostlen) != NULL)
		(void)snprintf(ep->display, sizeof(ep->display), "[%s]:%s",
		    ep->host, ep->port);
	else
		(void)snprintf(ep->display, sizeof(ep->display), "%s:%s",
		    ep->host, ep->port);
	return (KV_OK);
}

int
kvc_net_resolve(const struct kvc_endpoint *ep, struct addrinfo **resp,
    char *err)
{
	struct addrinfo hints;
	int r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = AI_NUMERICSERV;
	r = getaddrinfo(ep->host, ep->port, &hints, resp);
	if (r == 0)
		return (KV_OK);
	*resp = NULL;
	if (r == EAI_MEMORY) {
		kvc_errf(err, "resolve %s: out of memory", ep->host);
		return (KV_ERR_NOMEM);
	}
	kvc_errf(err, "resolve %s: %s", ep->host,
	    r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
	return (KV_ERR_RESOLVE);
}

int
kvc_net_connect_start(const struct addrinfo *ai, int *donep)
{
	int fd, saved;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    ai->ai_protocol);
	if (fd == -1)
		return (-1);
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
		*donep = 1;
		return (fd);
	}
	if (errno == EINPROGRESS) {
		*donep = 0;
		return (fd);
	}
	saved = errno;
	(void)close(fd);
	errno = saved;
	return (-1);
}

int
kvc_net_connect_finish(int fd)
{
	int soerr = 0;
	socklen_t len = sizeof(soerr);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1)
		return (-1);
	if (soerr != 0) {
		errno = soerr;
		return (-1);
	}
	return (0);
}

void
kvc_net_nodelay(int fd)
{
	int one = 1;

	/* Not fatal: only latency suffers without it. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}
