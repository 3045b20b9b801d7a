#include "cli_json.h"

#include <stdlib.h>
#include <string.h>

/* Length of the well-formed UTF-8 sequence at s, 0 if there is none: the
 * rules jansson checks (no overlong forms, surrogates or code points above
 * U+10FFFF), so what passes here json_string() accepts. */
static size_t utf8_length(const unsigned char *s)
{
    unsigned c = s[0], cp;
    size_t n;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, cp = c & 0x07;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) /* also stops at the terminating NUL */
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

static json_t *replaced_string(const char *s)
{
    static const char mark[] = "\xef\xbf\xbd"; /* U+FFFD */
    size_t len = strlen(s);
    char *out = malloc(3 * len + 1); /* each bad byte grows to 3 */
    if (!out)
        return NULL;
    size_t w = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t n = utf8_length(p);
        if (n) {
            memcpy(out + w, p, n);
            w += n;
            p += n;
        } else {
            memcpy(out + w, mark, 3);
            w += 3;
            p++;
        }
    }
    out[w] = '\0';
    json_t *v = json_string(out);
    free(out);
    return v;
}

json_t *rg_cli_jstring(const char *s)
{
    if (!s)
        s = "";
    json_t *v = json_string(s);
    return v ? v : replaced_string(s);
}

int rg_cli_json_print(FILE *f, const json_t *v)
{
    if (json_dumpf(v, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0)
        return -1;
    return fputc('\n', f) == EOF ? -1 : 0;
}
