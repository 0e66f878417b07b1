/* serve.c -- placeholder for the daemon's entry point. */
#include "serve.h"
#include <stdio.h>
int serve_main(int argc, char **argv) { (void)argc; (void)argv; fputs("oigd serve: not built yet\n", stderr); return 1; }
