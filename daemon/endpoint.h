/*
 * endpoint.h: "HOST:PORT" strings as kvd's options spell them.
 *
 * Accepted forms: "HOST:PORT", "[IPv6]:PORT", "HOST" (the default port),
 * "[IPv6]" (the default port).  A bare IPv6 address without brackets is
 * refused, because its last group could be read as a port.
 */
#ifndef KVD_ENDPOINT_H
#define KVD_ENDPOINT_H

#include <stddef.h>
#include <stdint.h>

/* The port kvd listens on when none is given (see kv-protocol(7)). */
#define ENDPOINT_DEFAULT_PORT	7878

struct endpoint {
	char		host[256];	/* name or address, without brackets */
	uint16_t	port;
};

/*
 * endpoint_parse(s, defport, out, err, errlen):
 * Split s into host and port; defport stands in when s names no port.
 * Returns 0, or -1 with one line in err saying what is wrong with s (empty
 * host, bad or out-of-range port, unbalanced brackets, name too long).
 * Nothing is resolved here.
 */
int endpoint_parse(const char *s, uint16_t defport, struct endpoint *out,
    char *err, size_t errlen);

/*
 * endpoint_format(ep, buf, len):
 * Write ep back as text ("host:port", "[v6]:port") into buf; returns buf.
 */
char *endpoint_format(const struct endpoint *ep, char *buf, size_t len);

#endif /* !KVD_ENDPOINT_H */
