/* serve.h -- the `oigd serve` face: the HTTP daemon's entry point. */
#ifndef OIGD_SERVE_H
#define OIGD_SERVE_H
int serve_main(int argc, char **argv);
#endif
