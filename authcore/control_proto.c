/* The control socket's path: see control_proto.h. */
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "authcore/control_proto.h"

int
control_socket_path(const char *state_dir, char *out, size_t outsz)
{
	int n;

	if (outsz == 0)
		return YH_ERR_TOO_LONG;
	out[0] = '\0';
	if (state_dir == NULL || state_dir[0] == '\0')
		return YH_ERR_INVALID;
	n = snprintf(out, outsz, "%s/%s", state_dir, CONTROL_SOCKET_NAME);
	if (n < 0 || (size_t)n >= outsz ||
	    (size_t)n >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		out[0] = '\0';
		return YH_ERR_TOO_LONG;
	}
	return 0;
}
