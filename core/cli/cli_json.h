/* What the commands need on top of jansson to print JSON: strings from any
 * bytes and the pretty layout every --json report uses. */
#ifndef RG_CLI_CLI_JSON_H
#define RG_CLI_CLI_JSON_H

#include <jansson.h>
#include <stdio.h>

/* A JSON string of `s` (NULL gives ""). Paths, plugin descriptors and log
 * lines may hold bytes that are not UTF-8, which json_string() refuses:
 * those bytes become U+FFFD. NULL only when out of memory. */
json_t *rg_cli_jstring(const char *s);

/* `v` with 2-space indentation and a final newline, keys in insertion
 * order; 0, or -1 on a write error. Does not take the reference. */
int rg_cli_json_print(FILE *f, const json_t *v);

#endif
