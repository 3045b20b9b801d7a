/* A minimal JSON writer for summaries and checkpoint records: strings are
 * escaped, NaN and infinities become null (JSON has no spelling for them). */
#ifndef RG_CLI_JSON_H
#define RG_CLI_JSON_H

#include <stdio.h>

typedef struct rg_json {
    FILE *f;
    int depth;
    int first[32];
    int after_key;
    int compact;      /* one line (JSON Lines), no indentation */
} rg_json;

void rg_json_init(rg_json *j, FILE *f);
void rg_json_begin_object(rg_json *j);
void rg_json_end_object(rg_json *j);
void rg_json_begin_array(rg_json *j);
void rg_json_end_array(rg_json *j);
void rg_json_key(rg_json *j, const char *key);
void rg_json_string(rg_json *j, const char *s);
void rg_json_number(rg_json *j, double v);
void rg_json_int(rg_json *j, long long v);
void rg_json_bool(rg_json *j, int v);

#endif
