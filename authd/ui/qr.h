/*
 * QR codes for the pages (prefix ui_qr_): the TOTP enrolment on the account page, the
 * QR-code login and the kiosk's device page draw one as inline SVG, without script.
 */
#ifndef YH_AUTHD_UI_QR_H
#define YH_AUTHD_UI_QR_H

#include "common/buf.h"
#include "common/err.h"

#define UI_QR_TEXT_MAX 1024     /* bytes of the text a QR code may carry */

/*
 * Appends text (1..UI_QR_TEXT_MAX bytes) as a QR code (libqrencode, error
 * correction level M, 8-bit data) to b as one inline <svg> element: a white square with
 * a four-module quiet zone and one black <path> made of horizontal runs of modules, one
 * unit per module, drawn px pixels wide. No script, no external resource. The text is
 * often a secret (an otpauth:// URI): give a secret buffer (yh_buf_init_secret).
 * Returns 0, YH_ERR_INVALID (empty text, px outside 64..1024), YH_ERR_TOO_LONG (text,
 * or b's cap), YH_ERR_ALLOC.
 */
int ui_qr_svg(const char *text, unsigned px, struct yh_buf *b) YH_WUR;

#endif
