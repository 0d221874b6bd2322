/* QR codes drawn as inline SVG (libqrencode), for the pages that show one. */
#include <errno.h>
#include <string.h>
#include <qrencode.h>

#include "authd/ui/qr.h"
#include "common/secmem.h"

#define QR_QUIET 4   /* modules of white border (ISO/IEC 18004) */

/* Appends the path data of one row's black runs: "M{x} {y}h{n}v1h-{n}z" each. */
static int
qr_row(struct yh_buf *b, const QRcode *q, int y)
{
	const unsigned char *row = q->data + (size_t)y * (size_t)q->width;
	int x = 0, start, r = 0;

	while (r == 0 && x < q->width) {
		if ((row[x] & 1) == 0) {
			x++;
			continue;
		}
		for (start = x; x < q->width && (row[x] & 1) != 0; x++)
			;
		r = yh_buf_printf(b, "M%d %dh%dv1h-%dz", start + QR_QUIET, y + QR_QUIET,
		    x - start, x - start);
	}
	return r;
}

int
ui_qr_svg(const char *text, unsigned px, struct yh_buf *b)
{
	QRcode *q = NULL;
	size_t len;
	int n, r;

	if (text == NULL || (len = strnlen(text, UI_QR_TEXT_MAX + 1)) == 0 ||
	    px < 64 || px > 1024)
		return YH_ERR_INVALID;
	if (len > UI_QR_TEXT_MAX)
		return YH_ERR_TOO_LONG;
	errno = 0;
	if ((q = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M)) == NULL)
		return errno == ERANGE ? YH_ERR_TOO_LONG : YH_ERR_ALLOC;
	n = q->width + 2 * QR_QUIET;
	r = yh_buf_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"qr\" "
	    "width=\"%u\" height=\"%u\" viewBox=\"0 0 %d %d\" shape-rendering=\"crispEdges\" "
	    "role=\"img\" aria-label=\"QR\"><rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>"
	    "<path fill=\"#000\" d=\"", px, px, n, n, n, n);
	for (int y = 0; r == 0 && y < q->width; y++)
		r = qr_row(b, q, y);
	if (r == 0)
		r = yh_buf_puts(b, "\"/></svg>");
	yh_wipe(q->data, (size_t)q->width * (size_t)q->width);
	QRcode_free(q);
	return r;
}
